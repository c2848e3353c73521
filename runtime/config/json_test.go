package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tailscale/hujson"
)

// The JWCC parser is checked against tailscale/hujson, which kopf used
// before: both accept the same texts and read the same values from them,
// but where kopf is knowingly different.
func checkAgainstHujson(t *testing.T, text string) {
	t.Helper()
	src := newSource("k.json", []byte(text))
	root, errs := parseJSON(src, nil)
	v, herr := hujson.Parse([]byte(text))
	switch {
	case herr != nil && strings.Contains(herr.Error(), "parsing comment: unexpected EOF") && root != nil:
		return // a line comment that ends the file: kopf takes it, hujson did not
	case herr == nil && len(errs) > 0 && strings.Contains(errs[0].Msg, "nest more than"):
		return // kopf bounds the nesting
	case (herr == nil) != (root != nil):
		t.Fatalf("%q: hujson says %v, kopf says %v", text, herr, errs)
	case herr != nil:
		return
	}
	v.Standardize()
	var want any
	d := json.NewDecoder(bytes.NewReader(v.Pack()))
	d.UseNumber()
	if err := d.Decode(&want); err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	// DeepEqual first: cmp.Diff takes time exponential in the nesting.
	if got := plain(root); !reflect.DeepEqual(want, got) {
		t.Fatalf("%q: values differ (-hujson +kopf):\n%s", text, cmp.Diff(want, got))
	}
}

// plain is a node as encoding/json reads the same value. A duplicate key
// is an error to kopf, which keeps the first; hujson and encoding/json
// keep the last, so a text with one is not compared.
func plain(n *node) any {
	switch n.kind {
	case kindNull:
		return nil
	case kindBool:
		return n.text == "true"
	case kindNumber:
		return json.Number(n.text)
	case kindString:
		return n.text
	case kindArray:
		out := []any{}
		for _, e := range n.elems {
			out = append(out, plain(e))
		}
		return out
	}
	out := map[string]any{}
	for _, m := range n.members {
		out[m.key.text] = plain(m.val)
	}
	return out
}

func TestJSONAgainstHujson(t *testing.T) {
	texts := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-1.5e-3`, `1E+5`, `true`, `null`,
		"{\"a\": [1, 2, ], // c\n \"b\": {\"c\": \"\\u00e9\\ud83d\\ude00\\/\\\"\"}, /* x */}",
		"\"\xff\"", "[\"\x7f\"]", "\ufeff{}", "{/}", "[1,]", "[,]", "{,}", "[01]", "[1.]", "[.5]", "[+1]",
		"{\"a\":1,,}", "[1,,]", `["\u00"]`, `["\ud800"]`, "[tru]", `["a""b"]`, "{}/*x*/", "{}/", "{}//x\n",
		"[\t\n\r ]", "[\v]", "[1\f]", "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "[1 2]", "{} {}", "{", "[", "\"", "/*", "{\"a\":1}\n//",
		"[\"a\nb\"]", "[\"\\x\"]", "[1e]", "[1e+]", "[-]", "[00]", "[0x1]", "[1.5.2]", "[Infinity]", "[NaN]", "{'a': 1}",
		strings.Repeat("[", 40) + strings.Repeat("]", 40),
	}
	for _, text := range texts {
		checkAgainstHujson(t, text)
	}
	// Mutations of a config: each byte dropped, doubled or replaced.
	base := reuseBase
	r := rand.New(rand.NewPCG(17, 17))
	alphabet := []byte("{}[]\",:/*\\ \n\tae01-.+")
	for range 3000 {
		b := []byte(base)
		for range 1 + r.IntN(3) {
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b = append(b[:i], b[i+1:]...)
			case 1:
				b = append(b[:i+1], b[i:]...)
			default:
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		if hasDuplicateKey(string(b)) {
			continue
		}
		checkAgainstHujson(t, string(b))
	}
}

// hasDuplicateKey reports whether hujson reads an object with a key twice.
func hasDuplicateKey(text string) bool {
	v, err := hujson.Parse([]byte(text))
	if err != nil {
		return false
	}
	dup := false
	var walk func(v *hujson.Value)
	walk = func(v *hujson.Value) {
		switch t := v.Value.(type) {
		case *hujson.Object:
			seen := map[string]bool{}
			for i := range t.Members {
				k := t.Members[i].Name.Value.(hujson.Literal).String()
				dup = dup || seen[k]
				seen[k] = true
				walk(&t.Members[i].Value)
			}
		case *hujson.Array:
			for i := range t.Elements {
				walk(&t.Elements[i])
			}
		}
	}
	walk(&v)
	return dup
}

// Nesting deeper than maxDepth is an error, not a crash: a file of 32 MiB
// of '[' was 32M frames of recursion in hujson.
func TestJSONDeepNesting(t *testing.T) {
	text := strings.Repeat("[", 1<<20)
	_, errs := parseJSON(newSource("k.json", []byte(text)), nil)
	want := fmt.Sprintf("k.json:1:%d: values nest more than %d deep", maxDepth+1, maxDepth)
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %v, want %q", errs, want)
	}
}

// FuzzJSONAgainstHujson runs the comparison with hujson on any text.
func FuzzJSONAgainstHujson(f *testing.F) {
	f.Add(reuseBase)
	f.Add("{\"a\": [1, 2, ], // c\n \"b\": {\"c\": \"\\u00e9\"}, /* x */}")
	f.Add(`["\ud83d\ude00", -0.5e+3, true, null]`)
	f.Fuzz(func(t *testing.T, text string) {
		if hasDuplicateKey(text) {
			return
		}
		checkAgainstHujson(t, text)
	})
}
