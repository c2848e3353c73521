package config

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tailscale/hujson"

	"github.com/kopf/kopf/lang"
)

// parseJSON parses JSON with comments and trailing commas (JWCC) into the
// config tree. Duplicate keys are errors: JSON leaves them undefined, and
// silently keeping either one hides a mistake.
//
// Each entry of the top-level "jobs" and "procs" gets its digest; one that
// r has as it was is not converted, and its node holds r's unit instead.
func parseJSON(src *source, r *reuse) (*node, lang.ErrorList) {
	v, err := hujson.Parse(src.text)
	if err != nil {
		return nil, lang.ErrorList{jsonSyntaxError(src, err)}
	}
	c := &jsonConv{src: src, reuse: r}
	if root, ok := v.Value.(*hujson.Object); ok {
		var protos []byte
		for i := range root.Members {
			m := &root.Members[i]
			switch t, _ := m.Value.Value.(*hujson.Object); m.Name.Value.(hujson.Literal).String() {
			case "jobs":
				c.jobs = t
			case "procs":
				c.procs = t
			case "protos":
				protos = src.text[m.Value.StartOffset:m.Value.EndOffset]
			}
		}
		c.protos = digestProtos(protos)
	}
	n := c.value(&v)
	return n, c.errs
}

type jsonConv struct {
	src  *source
	errs lang.ErrorList
	// The top-level "jobs" and "procs" objects, whose members are
	// entries; the digest of "protos"; the previous version.
	jobs, procs *hujson.Object
	protos      entryDigest
	reuse       *reuse
}

// entry converts the value of an entry of kind ("job" or "proc") named by
// key, or takes the previous version's unit when the entry is as it was.
func (c *jsonConv) entry(kind string, key *node, m *hujson.ObjectMember) *node {
	d := digestEntry(kind, c.src.text[m.Name.StartOffset:m.Value.EndOffset], c.protos)
	if u := c.reuse.unit(kind, key.text, d, key.pos); u != nil {
		return &node{kind: kindObject, pos: c.src.pos(m.Value.StartOffset), entry: d, reused: u}
	}
	n := c.value(&m.Value)
	n.entry = d
	return n
}

func (c *jsonConv) value(v *hujson.Value) *node {
	n := &node{pos: c.src.pos(v.StartOffset)}
	switch t := v.Value.(type) {
	case hujson.Literal:
		switch t.Kind() {
		case 'n':
			n.kind = kindNull
		case 't', 'f':
			n.kind, n.text = kindBool, string(t)
		case '0':
			n.kind, n.text = kindNumber, string(t)
			n.num, _ = strconv.ParseFloat(n.text, 64) // out of range is ±Inf, refused where a number is used
		case '"':
			n.kind = kindString
			n.text, n.layout = decodeJSONString(t, v.StartOffset)
		}
	case *hujson.Object:
		n.kind = kindObject
		n.members = make([]member, 0, len(t.Members))
		// A job's settings are a few keys, looked through; "jobs" may
		// hold 100k, looked up.
		var seen map[string]*node
		if len(t.Members) > 16 {
			seen = make(map[string]*node, len(t.Members))
		}
		kind := ""
		switch {
		case t == c.jobs:
			kind = "job"
		case t == c.procs:
			kind = "proc"
		}
		for i := range t.Members {
			m := &t.Members[i]
			key := c.value(&m.Name)
			var val *node
			if kind != "" {
				val = c.entry(kind, key, m)
			} else {
				val = c.value(&m.Value)
			}
			if first := n.member(key.text, seen); first != nil {
				c.errs.Add(key.pos, "duplicate key %s; the first is at %d:%d", quote(key.text), first.pos.Line, first.pos.Col)
				continue
			}
			if seen != nil {
				seen[key.text] = key
			}
			n.members = append(n.members, member{key, val})
		}
	case *hujson.Array:
		n.kind = kindArray
		for i := range t.Elements {
			n.elems = append(n.elems, c.value(&t.Elements[i]))
		}
	}
	return n
}

// member returns the key of n's member named name, or nil; seen, when not
// nil, holds n's keys by name.
func (n *node) member(name string, seen map[string]*node) *node {
	if seen != nil {
		return seen[name]
	}
	for _, m := range n.members {
		if m.key.text == name {
			return m.key
		}
	}
	return nil
}

// decodeJSONString decodes a valid JSON string literal that starts at byte
// offset start of the file, and maps each decoded byte to the offset of the
// character or escape it came from.
func decodeJSONString(lit []byte, start int) (string, layout) {
	if plainJSON(lit) {
		return string(lit[1 : len(lit)-1]), plainAt(start + 1)
	}
	var b strings.Builder
	var offs []int
	emit := func(r rune, at int) {
		n := b.Len()
		b.WriteRune(r)
		for range b.Len() - n {
			offs = append(offs, at)
		}
	}
	for i := 1; i < len(lit)-1; {
		at := start + i
		if lit[i] != '\\' {
			r, size := utf8.DecodeRune(lit[i:])
			emit(r, at) // invalid UTF-8 becomes U+FFFD, as encoding/json does
			i += size
			continue
		}
		e := lit[i+1]
		i += 2
		switch e {
		case 'b':
			emit('\b', at)
		case 'f':
			emit('\f', at)
		case 'n':
			emit('\n', at)
		case 'r':
			emit('\r', at)
		case 't':
			emit('\t', at)
		case 'u':
			r := hex4(lit[i:])
			i += 4
			if utf16.IsSurrogate(r) && i+6 <= len(lit) && lit[i] == '\\' && lit[i+1] == 'u' {
				if pair := utf16.DecodeRune(r, hex4(lit[i+2:])); pair != utf8.RuneError {
					r = pair
					i += 6
				}
			}
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			emit(r, at)
		default: // '"', '\\', '/'
			emit(rune(e), at)
		}
	}
	return b.String(), layout{offs: append(offs, start+len(lit)-1)}
}

// plainJSON reports whether a string literal is its text in quotes: ASCII
// without escapes.
func plainJSON(lit []byte) bool {
	for _, c := range lit[1 : len(lit)-1] {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	if len(b) < 4 {
		return utf8.RuneError
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	if err != nil {
		return utf8.RuneError
	}
	return rune(n)
}

// hujsonWhere reads the position out of hujson's message, which is the
// only place hujson gives it. Compiled on first use, so that programs that
// read no config do not pay for it at init.
var hujsonWhere = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^hujson: line (\d+), column (\d+): (.*)$`) })

// jsonSyntaxError rewrites hujson's error. hujson notices a missing comma
// only at the next value, which may be lines later, after comments; the
// mistake is at the end of the previous value, so that is where the error
// points.
func jsonSyntaxError(src *source, err error) *lang.Error {
	m := hujsonWhere().FindStringSubmatch(err.Error())
	if m == nil {
		return lang.Errorf(src.pos(0), "%s", strings.TrimPrefix(err.Error(), "hujson: "))
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return jsonEOFError(src)
	}
	off, msg := src.byteColumn(line, col), m[3]
	at := src.pos(off)
	what := "end of file"
	if off < len(src.text) {
		r, _ := utf8.DecodeRune(src.text[off:])
		what = strconv.QuoteRune(r)
	}
	before := scanJSON(src.text[:off])
	switch {
	case strings.HasSuffix(msg, "after object value (expecting ',' or '}')"),
		strings.HasSuffix(msg, "after array value (expecting ',' or ']')"):
		closer := msg[len(msg)-3 : len(msg)-2]
		if off < len(src.text) && startsValue(src.text[off]) && before.lastEnd >= 0 {
			return lang.Errorf(src.pos(before.lastEnd), "missing comma after this value; the next one starts at %d:%d", at.Line, at.Col)
		}
		return lang.Errorf(at, "unexpected %s after a value; expected ',' or '%s'", what, closer)
	case strings.HasSuffix(msg, "after object name"):
		if off < len(src.text) && startsValue(src.text[off]) && before.lastEnd >= 0 {
			return lang.Errorf(src.pos(before.lastEnd), "missing ':' after this key; its value starts at %d:%d", at.Line, at.Col)
		}
		return lang.Errorf(at, "unexpected %s after a key; expected ':'", what)
	case strings.HasSuffix(msg, "at start of object name"):
		return lang.Errorf(at, "expected a key in double quotes, found %s", what)
	case strings.HasPrefix(msg, "invalid literal: ") && before.wantsKey():
		return lang.Errorf(at, "expected a key in double quotes, found %s", strings.TrimPrefix(msg, "invalid literal: "))
	case strings.HasSuffix(msg, "at start of value"):
		return lang.Errorf(at, "expected a value, found %s", what)
	case strings.HasSuffix(msg, "after top-level value"):
		return lang.Errorf(at, "unexpected %s after the end of the top-level object", what)
	case strings.HasPrefix(msg, "invalid literal: \""):
		return lang.Errorf(at, "invalid string: a control character, a bad escape or invalid UTF-8")
	case strings.HasPrefix(msg, "invalid literal: "):
		return lang.Errorf(at, "invalid value %s; expected a string, number, object, array, true, false or null", quote(strings.TrimPrefix(msg, "invalid literal: ")))
	}
	return lang.Errorf(at, "%s", msg)
}

// jsonEOFError says what is left open at the end of a file that ends too
// early.
func jsonEOFError(src *source) *lang.Error {
	s := scanJSON(src.text)
	end := src.pos(len(src.text))
	switch {
	case s.str >= 0:
		return lang.Errorf(src.pos(s.str), "string not terminated: the file ends inside it")
	case s.comment >= 0:
		return lang.Errorf(src.pos(s.comment), "comment not terminated: the file ends inside it")
	case len(s.open) > 0:
		open := s.open[len(s.open)-1]
		p := src.pos(open.off)
		return lang.Errorf(end, "unexpected end of file: the '%c' at %d:%d is not closed", open.c, p.Line, p.Col)
	case s.lastEnd < 0:
		return lang.Errorf(end, "the file is empty; expected an object with \"jobs\" and/or \"procs\"")
	}
	return lang.Errorf(end, "unexpected end of file")
}

// startsValue reports whether c can start a JSON value (or, for a key, a
// string): a sign that a separator is missing before it.
func startsValue(c byte) bool {
	return c == '"' || c == '{' || c == '[' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// jsonScan is what a quick pass over JWCC text finds.
type jsonScan struct {
	lastEnd int       // offset after the last token that is not a comment; -1 if none
	open    []bracket // the '{' and '[' not closed yet
	str     int       // offset of a string that does not end; -1 if none
	comment int       // offset of a block comment that does not end; -1 if none
	last    byte      // the last token's first byte; 0 if none
}

// wantsKey reports whether an object key comes next.
func (s jsonScan) wantsKey() bool {
	return s.last == '{' || s.last == ',' && len(s.open) > 0 && s.open[len(s.open)-1].c == '{'
}

type bracket struct {
	off int
	c   byte
}

// scanJSON walks tokens only as far as telling strings and comments from
// the rest, which is all that placing a syntax error needs.
func scanJSON(b []byte) jsonScan {
	s := jsonScan{lastEnd: -1, str: -1, comment: -1}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return s
			}
			i += j
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			j := bytes.Index(b[i+2:], []byte("*/"))
			if j < 0 {
				s.comment = i
				return s
			}
			i += 2 + j + 1
		case c == '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				s.str = i
				return s
			}
			i, s.lastEnd, s.last = j, j+1, c
		case c == '{' || c == '[':
			s.open = append(s.open, bracket{i, c})
			s.lastEnd, s.last = i+1, c
		case c == '}' || c == ']':
			if len(s.open) > 0 {
				s.open = s.open[:len(s.open)-1]
			}
			s.lastEnd, s.last = i+1, c
		default:
			s.lastEnd, s.last = i+1, c
		}
	}
	return s
}
