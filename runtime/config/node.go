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
	// offs maps a string's decoded bytes to the file: offs[i] is the byte
	// offset of text[i], offs[len(text)] the offset after its last
	// character. It is nil when the mapping is not known (a YAML block
	// scalar), and positions inside the string fall back to pos.
	offs    []int
	members []member // an object's, in file order, without duplicates
	elems   []*node  // an array's
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

// at returns the file position of a position inside n's decoded string
// (line and rune column as the schedule compiler reports them), or the
// string's start when p is no position or the string's layout in the file
// is not known.
func (n *node) at(src *source, p lang.Pos) lang.Pos {
	if n.offs == nil || !p.IsValid() {
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
	return src.pos(n.offs[off])
}

// start is the position of the first character of n's text: inside the
// quotes of a quoted string.
func (n *node) start(src *source) lang.Pos {
	if n.offs == nil {
		return n.pos
	}
	return src.pos(n.offs[0])
}

// atByte is at for a byte offset into n's decoded string.
func (n *node) atByte(src *source, off int) lang.Pos {
	if n.offs == nil || off < 0 || off >= len(n.offs) {
		return n.start(src)
	}
	return src.pos(n.offs[off])
}
