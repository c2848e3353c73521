package config

import (
	"sort"
	"unicode/utf8"

	"github.com/kopf/kopf/lang"
)

// source is a config file's text with an index of its lines, to turn byte
// offsets into lang positions and back.
type source struct {
	file  string
	text  []byte
	lines []int // byte offset of the start of each line
	// last is the position pos returned last: the decoder asks for
	// positions mostly in file order, so a column is counted from there
	// rather than from the start of its line, which for a config written
	// on one line (a generated one) would make reading it quadratic.
	last lang.Pos
}

func newSource(file string, text []byte) *source {
	s := &source{file: file, text: text, lines: []int{0}}
	for i, c := range text {
		if c == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// pos returns the position of byte offset off; the column counts runes.
func (s *source) pos(off int) lang.Pos {
	off = max(0, min(off, len(s.text)))
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	p := lang.Pos{Filename: s.file, Offset: off, Line: i + 1}
	if l := s.last; l.Line == p.Line && l.Offset <= off && l.Filename == s.file && (l.Offset == len(s.text) || utf8.RuneStart(s.text[l.Offset])) {
		p.Col = l.Col + utf8.RuneCount(s.text[l.Offset:off])
	} else {
		p.Col = 1 + utf8.RuneCount(s.text[s.lines[i]:off])
	}
	s.last = p
	return p
}

// offset returns the byte offset of line and rune column col (both 1-based),
// clamped to the line's end.
func (s *source) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(s.lines) {
		return len(s.text)
	}
	off := s.lines[line-1]
	for ; col > 1 && off < len(s.text) && s.text[off] != '\n'; col-- {
		_, n := utf8.DecodeRune(s.text[off:])
		off += n
	}
	return off
}
