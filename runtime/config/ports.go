package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// validPortName says what a name in `ports` looks like: it becomes part of an
// environment variable's name, KOPF_PORT_NAME.
func validPortName(s string) bool {
	for i, c := range []byte(s) {
		lower := c >= 'a' && c <= 'z'
		if !lower && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return false
		}
	}
	return s != ""
}

// portRef opens a reference to a port, {{ports[NAME]}}, Aurora's
// {{thermos.ports[NAME]}} without the namespace.
const portRef = "{{ports["

// ports reads `ports`: a port name or an array of them, each once.
func (l *loader) ports(n *node) []string {
	var out []string
	seen := map[string]*node{}
	for _, e := range l.stringList("ports", n, "a port name or an array of them") {
		if first, dup := seen[e.text]; dup {
			l.errorf(e.pos, "port %s is listed twice; the first is at %d:%d", quote(e.text), first.pos.Line, first.pos.Col)
			continue
		}
		seen[e.text] = e
		// A bad name is still a name, so that a reference to it is not
		// a second error.
		out = append(out, e.text)
		switch {
		case e.text == "":
			l.errorf(e.pos, "a port needs a name; \"\" is none")
		case !validPortName(e.text):
			l.errorf(e.pos, "invalid port name %s: expected a lowercase letter, then lowercase letters, digits, '-' or '_'", quote(e.text))
		}
	}
	return out
}

// portRefs checks every {{ports[NAME]}} in n — a string, or the strings
// of an array or of an object's values — and reports whether all of them
// name a port of ports. Each problem is placed at its reference.
func (l *loader) portRefs(n *node, ports []string) bool {
	ok := true
	switch n.kind {
	case kindString:
		ok = l.portRefsIn(n, ports)
	case kindArray:
		for _, e := range n.elems {
			ok = l.portRefs(e, ports) && ok
		}
	case kindObject:
		for _, m := range n.members {
			if m.val.kind == kindString {
				ok = l.portRefsIn(m.val, ports) && ok
			}
		}
	}
	return ok
}

func (l *loader) portRefsIn(n *node, ports []string) bool {
	ok := true
	for i := 0; ; {
		k := strings.Index(n.text[i:], portRef)
		if k < 0 {
			return ok
		}
		at := i + k
		i = at + len(portRef)
		end := strings.Index(n.text[i:], "]}}")
		var name string
		if end >= 0 {
			name = n.text[i : i+end]
		}
		switch {
		case end < 0 || strings.ContainsAny(name, "{}[]\n"):
			l.errorf(n.atByte(l.src, at), "malformed port reference; expected {{ports[NAME]}}")
			ok = false
			continue
		case name == "":
			l.errorf(n.atByte(l.src, at), "{{ports[]}} names no port; expected {{ports[NAME]}}")
			ok = false
		case !slices.Contains(ports, name):
			hint := "; list it in \"ports\" to get a free port at each start"
			if s := closestKey(name, ports); s != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
			}
			l.errorf(n.atByte(l.src, at), "no port named %s in \"ports\"%s", quote(name), hint)
			ok = false
		}
		i += end + len("]}}")
	}
}

// portRefPattern matches a well-formed reference, for checks of the text
// around references.
var portRefPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{ports\[[^\]{}\[\n]+\]\}\}`) })
