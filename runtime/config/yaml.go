package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/kopf/kopf/lang"
)

// parseYAML parses one YAML document into the config tree. Duplicate keys
// are errors, as in JSON; aliases stand for what they name.
func parseYAML(src *source) (*node, lang.ErrorList) {
	if off, msg := notYAMLText(src.text); off >= 0 {
		return nil, lang.ErrorList{lang.Errorf(src.pos(off), "%s", msg)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src.text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, lang.ErrorList{lang.Errorf(src.pos(0), "the file is empty; expected an object with \"jobs\" and/or \"procs\"")}
		}
		return nil, lang.ErrorList{yamlSyntaxError(src, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, lang.ErrorList{lang.Errorf(src.pos(src.offset(extra.Line, extra.Column)), "a second YAML document; a config file holds one")}
	case !errors.Is(err, io.EOF):
		return nil, lang.ErrorList{yamlSyntaxError(src, err)}
	}
	c := &yamlConv{src: src, budget: aliasBudget(len(src.text))}
	n := c.value(&doc)
	if c.over != nil {
		return nil, lang.ErrorList{c.over}
	}
	return n, c.errs
}

// notYAMLText finds the first character yaml.v3 refuses to read — a byte
// that is not part of valid UTF-8, or a control character YAML does not
// allow: all but tab, newline and carriage return, DEL, the C1 controls but
// NEL, U+FFFE and U+FFFF — and says what it is; -1 when there is none.
// yaml.v3 refuses them without a position (kopf said 1:1), and a NUL is
// refused at its byte in every kind of config file. A file that starts
// with a UTF-16 byte order mark, which yaml.v3 reads too, is left to it.
func notYAMLText(b []byte) (int, string) {
	if bytes.HasPrefix(b, []byte{0xfe, 0xff}) || bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
		return -1, ""
	}
	for i := 0; i < len(b); {
		if c := b[i]; c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a YAML file is UTF-8 text", b[i])
		case r == 0:
			return i, "a NUL byte: a YAML file is text, and no command line or path can hold one"
		case r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 && r != 0x85 || r == 0xfffe || r == 0xffff:
			return i, fmt.Sprintf("a control character (U+%04X), which YAML does not allow in a file; in a double-quoted string, write it as \\u%04X", r, r)
		}
		i += n
	}
	return -1, ""
}

// aliasBudget is how many values aliases may add to a file of size bytes:
// as many as the file has bytes, and 10,000 more. Without aliases a file
// has fewer values than bytes; a few aliases to repeat settings add far
// fewer than that, while nested aliases ("a billion laughs") add
// exponentially many, and would take the daemon's memory.
func aliasBudget(size int) int { return 10_000 + size }

type yamlConv struct {
	src    *source
	errs   lang.ErrorList
	budget int         // values aliases may still add
	alias  *yaml.Node  // the outermost alias being expanded
	over   *lang.Error // set once the budget is spent: the only error then
}

func (c *yamlConv) value(y *yaml.Node) *node {
	if c.over != nil {
		return &node{kind: kindNull}
	}
	outer := c.alias == nil
	for y.Kind == yaml.DocumentNode && len(y.Content) == 1 || y.Kind == yaml.AliasNode && y.Alias != nil {
		if y.Kind == yaml.DocumentNode {
			y = y.Content[0]
			continue
		}
		if c.alias == nil {
			c.alias = y
		}
		y = y.Alias
	}
	if c.alias != nil {
		if outer {
			defer func() { c.alias = nil }()
		}
		if c.budget--; c.budget < 0 {
			at := c.src.pos(c.src.offset(c.alias.Line, c.alias.Column))
			c.over = lang.Errorf(at, "the alias *%s expands the file past %d values that aliases may add to a file of %d bytes; "+
				"kopf stops reading it (nested aliases multiply: write repeated settings once, in a proto)",
				c.alias.Value, aliasBudget(len(c.src.text)), len(c.src.text))
			return &node{kind: kindNull}
		}
	}
	n := &node{pos: c.src.pos(c.src.offset(y.Line, y.Column))}
	switch y.Kind {
	case yaml.MappingNode:
		n.kind = kindObject
		seen := map[string]*node{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			ky := y.Content[i]
			key, val := c.value(ky), c.value(y.Content[i+1])
			switch {
			case ky.ShortTag() == "!!merge":
				c.errs.Add(key.pos, "YAML merge keys (<<) are not supported; write the settings out")
				continue
			case key.kind == kindObject || key.kind == kindArray:
				c.errs.Add(key.pos, "expected a key that is a string, found %s", key.found())
				continue
			}
			if first, dup := seen[key.text]; dup {
				c.errs.Add(key.pos, "duplicate key %s; the first is at %d:%d", quote(key.text), first.pos.Line, first.pos.Col)
				continue
			}
			seen[key.text] = key
			n.members = append(n.members, member{key, val})
		}
	case yaml.SequenceNode:
		n.kind = kindArray
		for _, e := range y.Content {
			n.elems = append(n.elems, c.value(e))
		}
	case yaml.ScalarNode:
		n.text = y.Value
		switch y.ShortTag() {
		case "!!null":
			n.kind = kindNull
		case "!!bool":
			n.kind = kindBool
		case "!!int", "!!float":
			n.kind = kindNumber
			if err := y.Decode(&n.num); err != nil {
				n.num = math.Inf(1) // too large for a float64, refused where used
			}
		default: // !!str, and timestamps or binary taken as the text written
			n.kind = kindString
			n.layout = c.layout(y)
		}
	}
	return n
}

// layout maps the decoded text of a scalar written on one line to the
// file; other layouts are not known, and errors inside them point at the
// scalar's start.
func (c *yamlConv) layout(y *yaml.Node) layout {
	text := c.src.text
	start := c.src.offset(y.Line, y.Column)
	if start >= len(text) {
		return layout{} // a line break kopf does not count as one, like a lone \r
	}
	switch y.Style {
	case 0:
		if !bytes.HasPrefix(text[start:], []byte(y.Value)) || strings.Contains(y.Value, "\n") {
			return layout{}
		}
		return plainAt(start)
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		return layout{offs: quotedOffsets(text, start, y.Value)}
	}
	return layout{}
}

// quotedOffsets maps the decoded text of a quoted scalar written on one
// line, from start, to the file; nil when it does not fit.
func quotedOffsets(text []byte, start int, value string) []int {
	var offs []int
	var b strings.Builder
	emit := func(r rune, at int) {
		n := b.Len()
		b.WriteRune(r)
		for range b.Len() - n {
			offs = append(offs, at)
		}
	}
	q := text[start]
	if q != '\'' && q != '"' {
		return nil
	}
	i := start + 1
	for ; i < len(text) && text[i] != '\n'; i++ {
		at := i
		switch {
		case q == '\'' && text[i] == '\'':
			if i+1 >= len(text) || text[i+1] != '\'' {
				goto end
			}
			i++
			emit('\'', at)
		case q == '"' && text[i] == '"':
			goto end
		case q == '"' && text[i] == '\\' && i+1 < len(text):
			i++
			if r, size, ok := yamlEscape(text[i:]); ok {
				emit(r, at)
				i += size - 1
			} else {
				return nil
			}
		default:
			r, size := utf8.DecodeRune(text[i:])
			emit(r, at)
			i += size - 1
		}
	}
	return nil // the scalar goes on past the line
end:
	if b.String() != value {
		return nil
	}
	return append(offs, i)
}

// yamlEscape decodes the escape after a backslash in a double-quoted YAML
// scalar and says how many bytes it took.
func yamlEscape(b []byte) (rune, int, bool) {
	simple := map[byte]rune{
		'0': 0, 'a': '\a', 'b': '\b', 't': '\t', '\t': '\t', 'n': '\n', 'v': '\v', 'f': '\f',
		'r': '\r', 'e': 0x1b, ' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xa0,
		'L': 0x2028, 'P': 0x2029,
	}
	if r, ok := simple[b[0]]; ok {
		return r, 1, true
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[b[0]]
	if digits == 0 || len(b) < 1+digits {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(string(b[1:1+digits]), 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return rune(n), 1 + digits, true
}

// yamlWhere reads the line out of yaml.v3's message: its syntax errors
// carry no structured position.
var yamlWhere = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// yamlSyntaxError places yaml.v3's error, which names a line but no
// column, at the first non-blank character of that line. A value that
// starts with * (an alias to YAML) or @ (reserved) is the usual cause in a
// config with crontab lines, so the message says to quote it.
func yamlSyntaxError(src *source, err error) *lang.Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	at := src.pos(0)
	if m := yamlWhere().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg = m[2]
		off := src.offset(line, 1)
		for off < len(src.text) && (src.text[off] == ' ' || src.text[off] == '\t') {
			off++
		}
		at = src.pos(off)
	}
	if strings.Contains(msg, "did not find expected alphabetic or numeric character") ||
		strings.Contains(msg, "found character that cannot start any token") {
		msg += `; a value that starts with * or @ must be quoted, like "*/5 * * * *"`
	}
	return lang.Errorf(at, "%s", msg)
}
