package ports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

const (
	refOpen  = "{{ports["
	refClose = "]}}"
)

// Expand replaces each {{ports[NAME]}} in s with NAME's port. A NAME not in
// ports is an error naming it: the config loader has checked the names
// already, and this is a second line of defence against starting a proc
// with a template in its command. Other text, other {{...}} included, is
// left as it is; so is a {{ports[ whose name holds a brace or bracket,
// which is not a reference.
func Expand(s string, ports map[string]int) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, refOpen)
		if i < 0 {
			break
		}
		name, rest, ok := reference(s[i+len(refOpen):])
		if !ok {
			// Not a reference: keep its first byte and look again after it,
			// so "{{ports[{{ports[a]}}" still finds the second.
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		port, found := ports[name]
		if !found {
			return "", fmt.Errorf("{{ports[%s]}}: no port named %q", name, name)
		}
		b.WriteString(s[:i])
		b.WriteString(strconv.Itoa(port))
		s = rest
	}
	b.WriteString(s)
	return b.String(), nil
}

// reference splits s, the text after "{{ports[", into the name and the text
// after "]}}".
func reference(s string) (name, rest string, ok bool) {
	name, rest, ok = strings.Cut(s, refClose)
	if !ok || strings.ContainsAny(name, "{}[]") {
		return "", "", false
	}
	return name, rest, true
}

// Env returns KOPF_PORT_NAME=PORT for each port, NAME upper-cased with each
// '-' turned into '_', sorted.
func Env(ports map[string]int) []string {
	env := make([]string, 0, len(ports))
	for name, port := range ports {
		key := "KOPF_PORT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		env = append(env, key+"="+strconv.Itoa(port))
	}
	slices.Sort(env)
	return env
}
