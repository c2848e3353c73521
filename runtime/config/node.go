package config

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kopf/kopf/lang"
)

// kind is the type of a value in a config file, the same for JSON and YAML.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// article names a kind for "found …" in messages.
func (k kind) article() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an object", "an array"}[k]
}

// node is one value of a config file: JSON and YAML both parse into this
// tree, so that every rule after the syntax exists once.
type node struct {
	kind kind
	pos  lang.Pos // where the value starts
	// text is a string's decoded value, or a number or boolean as written.
	text string
	num  float64 // a number's value
	// layout maps a string's decoded bytes to the file; positions inside
	// a string whose layout is not known (a YAML block scalar) fall back
	// to pos.
	layout  layout
	members []member // an object's, in file order, without duplicates
	elems   []*node  // an array's
	// entry is set on the settings of a job's or proc's entry (JSON
	// only).
	entry *entryNode
}

// entryNode is what an entry's settings node has beside the settings: the
// entry's digest, and the unit of the file's previous version that
// Reparse takes instead, if it does (the node then has no members).
type entryNode struct {
	digest entryDigest
	reused any
}

// reused returns the unit Reparse takes for n, or nil.
func (n *node) reused() any {
	if n.entry == nil {
		return nil
	}
	return n.entry.reused
}

// digest returns the digest of n's entry; zero when n is not an entry's.
func (n *node) digest() entryDigest {
	if n.entry == nil {
		return entryDigest{}
	}
	return n.entry.digest
}

type member struct {
	key, val *node
}

// found describes n for "…, found X" in messages.
func (n *node) found() string {
	switch n.kind {
	case kindString:
		return "the string " + quote(n.text)
	case kindNumber, kindBool:
		return n.kind.article() + " (" + n.text + ")"
	}
	return n.kind.article()
}

// quote is %q, shortened for messages when the text is long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:37]) + "..."
	}
	return strconv.Quote(s)
}

// layout is where a string's decoded bytes are in the file: byte i of
// the text at offset(i), and offset(len(text)) just after its last
// character.
type layout struct {
	// plain: the text is the file's bytes from base on, as most strings
	// are (no escapes), and no table is needed.
	plain bool
	base  int32 // files are at most MaxFileSize
	offs  []int // otherwise, the offset of each byte; nil when not known
}

// plainAt is the layout of text written as it is, from offset base.
func plainAt(base int) layout { return layout{plain: true, base: int32(base)} }

// offset returns the file offset of byte i of a text of n bytes laid out
// by l, and false when that is not known.
func (l layout) offset(i, n int) (int, bool) {
	switch {
	case i < 0 || i > n:
		return 0, false
	case l.plain:
		return int(l.base) + i, true
	case i < len(l.offs):
		return l.offs[i], true
	}
	return 0, false
}

// known reports whether the layout is known.
func (l layout) known() bool { return l.plain || l.offs != nil }

// at returns the file position of a position inside n's decoded string
// (line and rune column as the schedule compiler reports them), or the
// string's start when p is no position or the string's layout in the file
// is not known.
func (n *node) at(src *source, p lang.Pos) lang.Pos {
	if !n.layout.known() || !p.IsValid() {
		return n.start(src)
	}
	// Find the byte offset of p in the decoded text from its line and
	// column, which is what the compiler promises.
	off := 0
	for line := 1; line < p.Line; line++ {
		i := strings.IndexByte(n.text[off:], '\n')
		if i < 0 {
			off = len(n.text)
			break
		}
		off += i + 1
	}
	for col := 1; col < p.Col && off < len(n.text) && n.text[off] != '\n'; col++ {
		_, size := utf8.DecodeRuneInString(n.text[off:])
		off += size
	}
	return n.atByte(src, off)
}

// start is the position of the first character of n's text: inside the
// quotes of a quoted string.
func (n *node) start(src *source) lang.Pos {
	if at, ok := n.layout.offset(0, len(n.text)); ok {
		return src.pos(at)
	}
	return n.pos
}

// atByte is at for a byte offset into n's decoded string.
func (n *node) atByte(src *source, off int) lang.Pos {
	if at, ok := n.layout.offset(off, len(n.text)); ok {
		return src.pos(at)
	}
	return n.start(src)
}
