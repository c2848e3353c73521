package config

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kopf/kopf/lang"
)

// parseJSON parses JSON with comments and trailing commas (JWCC: // and
// /* */ comments, a comma after the last member or element) into the
// config tree. Duplicate keys are errors: JSON leaves them undefined, and
// silently keeping either one hides a mistake. A syntax error stops the
// parse, and is said where the mistake is: a missing comma at the end of
// the value before it, not at the next value, which may be lines later.
//
// Each entry of the top-level "jobs" and "procs" gets its digest; one that
// r has as it was is not converted, and its node holds r's unit instead.
//
// The parser is kopf's own, not a general JSON library's, for three
// reasons: a daemon reads a 100k-job file at every save, which must cost
// little, and tailscale/hujson (used before) built a tree of its own at
// 30 MB/s with ten allocations a job; hujson gave positions only in its
// error messages, which had to be read back; and an entry that did not
// change has to be skipped over without being converted at all.
func parseJSON(src *source, r *reuse) (*node, lang.ErrorList) {
	// A first pass checks the syntax and finds "protos", whose text is
	// part of every entry's digest; the second builds the tree.
	p := &jsonParser{src: src, b: src.text, counts: map[string]int{}}
	if _, protos := p.document(); p.err == nil {
		p = &jsonParser{src: src, b: src.text, build: true, reuse: r, protos: digestProtos(protos), counts: p.counts}
		root, _ := p.document()
		return root, p.errs
	}
	return nil, lang.ErrorList{p.err}
}

// maxDepth bounds how deeply values nest: a file of 32 MiB of '[' must be
// an error, not 32M frames of recursion. Configs nest about six deep.
const maxDepth = 512

// jsonParser is one pass over a JWCC text. Without build, it checks the
// syntax only; with build, it builds the tree (the text is then known to
// be valid).
type jsonParser struct {
	src   *source
	b     []byte
	i     int
	build bool
	depth int
	open  []int       // offsets of the '{' and '[' not closed yet
	end   int         // offset after the last value
	err   *lang.Error // the syntax error that ended the pass
	errs  lang.ErrorList

	reuse  *reuse
	protos entryDigest
	// counts is how many members each object at the top level's members
	// has, by key, counted by the first pass for the second, which makes
	// room for 100k entries at once; countInto is the key of the object
	// being counted.
	counts    map[string]int
	countInto string
	strings   map[string]string // the keys seen, for intern
}

func (p *jsonParser) fail(off int, format string, args ...any) {
	if p.err == nil {
		p.err = lang.Errorf(p.src.pos(off), format, args...)
	}
}

// document parses the whole text: one value, blanks around it. It
// returns the root and, for the first pass, the text of the top-level
// "protos" (nil without one).
func (p *jsonParser) document() (*node, []byte) {
	p.blank()
	if p.err != nil {
		return nil, nil
	}
	if p.i == len(p.b) {
		p.fail(p.i, "the file is empty; expected an object with \"jobs\" and/or \"procs\"")
		return nil, nil
	}
	var protos []byte
	n := p.value(func(key string, start, end int) {
		if key == "protos" {
			protos = p.b[start:end]
		}
	})
	p.blank()
	if p.err == nil && p.i < len(p.b) {
		p.fail(p.i, "unexpected %s after the end of the top-level object", p.found(p.i))
	}
	if p.err != nil {
		return nil, nil
	}
	return n, protos
}

// commentText checks that the comment b[from:to] is UTF-8 text, as every
// other part of a config must be (hujson, which kopf's reader follows,
// refuses it too), and says where it is not.
func (p *jsonParser) commentText(from, to int) {
	if c := p.b[from:to]; !utf8.Valid(c) {
		at := from
		for at < to {
			r, size := utf8.DecodeRune(p.b[at:to])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		p.fail(at, "invalid UTF-8 (byte 0x%02x) in a comment: kopf reads a config as UTF-8 (is this file in another encoding, like Latin-1?)", p.b[at])
	}
}

// blank skips white space and comments.
func (p *jsonParser) blank() {
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		case '/':
			if p.i+1 >= len(p.b) {
				return
			}
			switch p.b[p.i+1] {
			case '/':
				// A line comment ends at the end of the line, or of the
				// file (which hujson refused).
				start := p.i
				for p.i < len(p.b) && p.b[p.i] != '\n' {
					p.i++
				}
				p.commentText(start, p.i)
			case '*':
				start := p.i
				p.i += 2
				for {
					if p.i+1 >= len(p.b) {
						p.fail(start, "comment not terminated: the file ends inside it")
						p.i = len(p.b)
						return
					}
					if p.b[p.i] == '*' && p.b[p.i+1] == '/' {
						p.i += 2
						break
					}
					p.i++
				}
				p.commentText(start, p.i)
			default:
				return
			}
		default:
			return
		}
	}
}

// value parses the value at p.i. top, when not nil, is called for each
// member of an object at the top level, with the member's key and the
// offsets of its value.
func (p *jsonParser) value(top func(key string, start, end int)) *node {
	if p.i == len(p.b) {
		p.unclosed()
		return nil
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(top)
	case c == '[':
		return p.array()
	case c == '"':
		return p.str(false)
	case wordByte(c):
		return p.literal()
	default:
		p.fail(p.i, "expected a value, found %s", p.found(p.i))
		return nil
	}
}

// unclosed says that the file ends inside the innermost open object or
// array.
func (p *jsonParser) unclosed() {
	if len(p.open) == 0 {
		p.fail(p.i, "unexpected end of file")
		return
	}
	at := p.open[len(p.open)-1]
	q := p.src.pos(at)
	p.fail(p.i, "unexpected end of file: the '%c' at %d:%d is not closed", p.b[at], q.Line, q.Col)
}

// enter and leave keep the nesting depth and the open brackets.
func (p *jsonParser) enter() bool {
	if p.depth++; p.depth > maxDepth {
		p.fail(p.i, "values nest more than %d deep", maxDepth)
		return false
	}
	p.open = append(p.open, p.i)
	p.i++
	return true
}

func (p *jsonParser) leave() {
	p.depth--
	p.open = p.open[:len(p.open)-1]
	p.i++
	p.end = p.i
}

// object: '{' (member (',' member)* ','?)? '}', where member is
// string ':' value.
func (p *jsonParser) object(top func(key string, start, end int)) *node {
	start := p.i
	if !p.enter() {
		return nil
	}
	var n *node
	if p.build {
		n = &node{kind: kindObject, pos: p.src.pos(start)}
	}
	counting, members := p.countInto, 0
	p.countInto = ""
	var seen map[string]*node
	for ; ; members++ {
		if closed, ok := p.close('}'); !ok {
			return nil
		} else if closed {
			if counting != "" && !p.build {
				p.counts[counting] = members
			}
			return n
		}
		key, keyStart := p.key(true)
		if p.err != nil {
			return nil
		}
		keyEnd := p.i
		p.blank()
		switch {
		case p.err != nil:
			return nil
		case p.i == len(p.b):
			p.unclosed()
			return nil
		case p.b[p.i] != ':':
			if startsValue(p.b[p.i]) {
				q := p.src.pos(p.i)
				p.fail(keyEnd, "missing ':' after this key; its value starts at %d:%d", q.Line, q.Col)
			} else {
				p.fail(p.i, "unexpected %s after a key; expected ':'", p.found(p.i))
			}
			return nil
		}
		p.i++
		p.blank()
		if p.err != nil {
			return nil
		}
		valStart := p.i
		var val *node
		// The members of the top-level "jobs" and "procs" are entries.
		if kind := p.entryKind(top, key); kind != "" && p.i < len(p.b) && p.b[p.i] == '{' {
			val = p.entries(kind, p.counts[key.text])
		} else {
			if top != nil && !p.build {
				p.countInto = keyText(key, p.b[keyStart:keyEnd])
			}
			val = p.value(nil)
			p.countInto = ""
		}
		if p.err != nil {
			return nil
		}
		if top != nil {
			top(keyText(key, p.b[keyStart:keyEnd]), valStart, p.end)
		}
		if p.build {
			if m := p.member(n, key, val, &seen); m.key != nil {
				n.members = append(n.members, m)
			}
		}
		if !p.next('}') {
			return nil
		}
	}
}

// close skips blanks and reports whether the object or array being read
// ends here, with closer, which it then takes; ok is false at an error or
// the end of the file, which it reports.
func (p *jsonParser) close(closer byte) (closed, ok bool) {
	p.blank()
	switch {
	case p.err != nil:
		return false, false
	case p.i == len(p.b):
		p.unclosed()
		return false, false
	case p.b[p.i] == closer:
		p.leave()
		return true, true
	}
	return false, true
}

// entryKind says whether the value of key, a member of the top-level
// object (top is set only there), is "jobs" or "procs", whose members
// are entries; only while building.
func (p *jsonParser) entryKind(top func(string, int, int), key *node) string {
	if top == nil || !p.build {
		return ""
	}
	switch key.text {
	case "jobs":
		return "job"
	case "procs":
		return "proc"
	}
	return ""
}

// keyText is a key's text: the node's while building, else decoded from
// its literal, which only the first pass's top level needs.
func keyText(key *node, lit []byte) string {
	if key != nil {
		return key.text
	}
	text, _ := decodeJSONString(lit, 0)
	return text
}

// member records key: val in n, unless key is a duplicate, which is an
// error; it returns the member, with a nil key for a duplicate. A job's
// settings are a few keys, looked through; "jobs" may hold 100k, looked
// up in seen.
func (p *jsonParser) member(n *node, key, val *node, seen *map[string]*node) member {
	if *seen == nil && len(n.members) >= 16 {
		*seen = make(map[string]*node, 2*len(n.members))
		for _, m := range n.members {
			(*seen)[m.key.text] = m.key
		}
	}
	if first := n.member(key.text, *seen); first != nil {
		p.errs.Add(key.pos, "duplicate key %s; the first is at %d:%d", quote(key.text), first.pos.Line, first.pos.Col)
		return member{}
	}
	if *seen != nil {
		(*seen)[key.text] = key
	}
	return member{key, val}
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

// entries parses the object of the top-level "jobs" or "procs" (kind is
// "job" or "proc") of count members, whose members are entries: each is
// skipped over and digested first, and converted only when r does not
// have it as it was.
func (p *jsonParser) entries(kind string, count int) *node {
	start := p.i
	p.enter()
	n := &node{kind: kindObject, pos: p.src.pos(start), members: make([]member, 0, count)}
	var seen map[string]*node
	if count >= 16 {
		seen = make(map[string]*node, count)
	}
	for {
		p.blank()
		if p.b[p.i] == '}' {
			p.leave()
			return n
		}
		// The name and the settings are skipped over first: an entry
		// taken from the previous version needs neither converted.
		keyStart := p.i
		p.build = false
		p.str(false)
		lit := p.b[keyStart:p.end]
		p.blank()
		p.i++ // ':'
		p.blank()
		valStart := p.i
		p.value(nil)
		p.build = true
		d := digestEntry(kind, p.b[keyStart:p.end], p.protos)
		key := &node{kind: kindString, pos: p.src.pos(keyStart)}
		var val *node
		if u, name := p.reuse.unit(kind, lit, d, key.pos); u != nil {
			key.text, key.layout = name, plainAt(keyStart+1)
			val = &node{kind: kindObject, pos: p.src.pos(valStart), entry: &entryNode{d, u}}
		} else {
			key.text, key.layout = decodeJSONString(lit, keyStart)
			p.i = valStart
			val = p.value(nil)
			val.entry = &entryNode{digest: d}
		}
		if m := p.member(n, key, val, &seen); m.key != nil {
			n.members = append(n.members, m)
		}
		p.next('}')
	}
}

// key parses an object's key, a string, and returns its node (nil unless
// building) and its offset. Keys are interned, but an entry's name.
func (p *jsonParser) key(intern bool) (*node, int) {
	start := p.i
	if p.b[p.i] != '"' {
		w := p.word(p.i)
		switch {
		case w == "" || validLiteral(w):
			p.fail(p.i, "expected a key in double quotes, found %s", p.found(p.i))
		default:
			p.fail(p.i, "expected a key in double quotes, found %s", w)
		}
		return nil, start
	}
	return p.str(intern), start
}

// next parses what follows a member or an element: a ',' (and perhaps
// the closer right after it, which the loop then takes) or the closer.
func (p *jsonParser) next(closer byte) bool {
	last := p.end
	p.blank()
	switch {
	case p.err != nil:
		return false
	case p.i == len(p.b):
		p.unclosed()
		return false
	case p.b[p.i] == ',':
		p.i++
		return true
	case p.b[p.i] == closer:
		return true
	case startsValue(p.b[p.i]):
		q := p.src.pos(p.i)
		p.fail(last, "missing comma after this value; the next one starts at %d:%d", q.Line, q.Col)
	default:
		p.fail(p.i, "unexpected %s after a value; expected ',' or '%c'", p.found(p.i), closer)
	}
	return false
}

// array: '[' (value (',' value)* ','?)? ']'.
func (p *jsonParser) array() *node {
	start := p.i
	if !p.enter() {
		return nil
	}
	var n *node
	if p.build {
		n = &node{kind: kindArray, pos: p.src.pos(start)}
	}
	for {
		if closed, ok := p.close(']'); !ok {
			return nil
		} else if closed {
			return n
		}
		e := p.value(nil)
		if p.err != nil {
			return nil
		}
		if p.build {
			n.elems = append(n.elems, e)
		}
		if !p.next(']') {
			return nil
		}
	}
}

// str parses a string: '"' (char | escape)* '"', without control
// characters. Invalid UTF-8 is kept, and decoded as U+FFFD, as
// encoding/json does.
func (p *jsonParser) str(intern bool) *node {
	start := p.i
	i := start + 1
	for {
		if i >= len(p.b) {
			p.fail(start, "string not terminated: the file ends inside it")
			return nil
		}
		c := p.b[i]
		switch {
		case c == '"':
			i++
			p.i, p.end = i, i
			if !p.build {
				return nil
			}
			n := &node{kind: kindString, pos: p.src.pos(start)}
			if lit := p.b[start:i]; intern && plainJSON(lit) {
				// The keys of 100k jobs' settings are a few words: one
				// string each, not one per job.
				n.text, n.layout = p.intern(lit[1:len(lit)-1]), plainAt(start+1)
			} else {
				n.text, n.layout = decodeJSONString(lit, start)
			}
			return n
		case c == 0:
			p.fail(i, "invalid string: a NUL byte, which no command line or path can hold")
			return nil
		case c < 0x20:
			// At the character, not the string's start: a raw newline may
			// be far from the quote that opened the string.
			p.fail(i, "invalid string: a raw control character (U+%04X); write it as an escape, like \\n or \\u%04X", c, c)
			return nil
		case c == '\\':
			if i+1 >= len(p.b) {
				i++
				continue // not terminated
			}
			switch p.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(p.b) || !isHex(p.b[i+2:i+6]) {
					p.fail(start, "invalid string: a control character, a bad escape or invalid UTF-8")
					return nil
				}
				i += 6
			default:
				p.fail(start, "invalid string: a control character, a bad escape or invalid UTF-8")
				return nil
			}
		default:
			i++
		}
	}
}

// intern returns b as a string, the same string for the same bytes.
func (p *jsonParser) intern(b []byte) string {
	if s, ok := p.strings[string(b)]; ok {
		return s
	}
	if p.strings == nil {
		p.strings = map[string]string{}
	}
	s := string(b)
	p.strings[s] = s
	return s
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// literal parses a number, true, false or null.
func (p *jsonParser) literal() *node {
	start := p.i
	w := p.word(start)
	if !validLiteral(w) {
		p.fail(start, "invalid value %s; expected a string, number, object, array, true, false or null", quote(w))
		return nil
	}
	p.i += len(w)
	p.end = p.i
	if !p.build {
		return nil
	}
	n := &node{pos: p.src.pos(start)}
	switch w[0] {
	case 'n':
		n.kind = kindNull
	case 't', 'f':
		n.kind, n.text = kindBool, w
	default:
		n.kind, n.text = kindNumber, w
		n.num, _ = strconv.ParseFloat(w, 64) // out of range is ±Inf, refused where a number is used
	}
	return n
}

// word returns the run of literal characters at i: what a number, true,
// false or null, or a mistyped one (True, 1.5.2, tru), is made of.
func (p *jsonParser) word(i int) string {
	j := i
	for j < len(p.b) && wordByte(p.b[j]) {
		j++
	}
	return string(p.b[i:j])
}

func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == '_'
}

// validLiteral reports whether w is true, false, null or a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func validLiteral(w string) bool {
	switch w {
	case "true", "false", "null":
		return true
	}
	i := 0
	digits := func() bool {
		j := i
		for i < len(w) && '0' <= w[i] && w[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(w) && w[i] == '-' {
		i++
	}
	switch {
	case i < len(w) && w[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(w) && w[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(w) && (w[i] == 'e' || w[i] == 'E') {
		i++
		if i < len(w) && (w[i] == '+' || w[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(w)
}

// found describes the character at i for "found X": quoted, as Go quotes
// a rune.
func (p *jsonParser) found(i int) string {
	r, _ := utf8.DecodeRune(p.b[i:])
	return strconv.QuoteRune(r)
}

// startsValue reports whether c can start a JSON value (or, for a key, a
// string): a sign that a separator is missing before it.
func startsValue(c byte) bool {
	return c == '"' || c == '{' || c == '[' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// decodeJSONString decodes a valid JSON string literal that starts at byte
// offset start of the file, and maps each decoded byte to the offset of the
// character or escape it came from.
func decodeJSONString(lit []byte, start int) (string, layout) {
	if plainJSON(lit) {
		return string(lit[1 : len(lit)-1]), plainAt(start + 1)
	}
	b := make([]byte, 0, len(lit))
	var offs []int
	emit := func(r rune, at int) {
		n := len(b)
		b = utf8.AppendRune(b, r)
		for range len(b) - n {
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
	return string(b), layout{offs: append(offs, start+len(lit)-1)}
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
