package lang

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// scanDef is the lexer the parser uses: the token table lexRules, matched by
// hand. participle's own lexer runs the table's regular expressions one
// after another at every position, which was a quarter of the time spent
// parsing a crontab line. lexRules stays the definition: a fuzz test checks
// that both lexers cut every input into the same tokens.
type scanDef struct {
	symbols map[string]lexer.TokenType
	types   [numKinds]lexer.TokenType
}

type kind int

const (
	kComment kind = iota
	kSpace
	kMacro
	kClock
	kDuration
	kNumber
	kZone
	kWord
	kPunct
	numKinds
)

func newScanDef() *scanDef {
	d := &scanDef{symbols: map[string]lexer.TokenType{"EOF": lexer.EOF}}
	for i, r := range lexRules {
		d.types[i] = lexer.EOF - 1 - lexer.TokenType(i)
		d.symbols[r.Name] = d.types[i]
	}
	return d
}

var scanner = newScanDef()

func (d *scanDef) Symbols() map[string]lexer.TokenType { return d.symbols }

func (d *scanDef) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return d.LexString(filename, string(b))
}

func (d *scanDef) LexString(filename, src string) (lexer.Lexer, error) {
	return &scan{def: d, src: src, pos: lexer.Position{Filename: filename, Line: 1, Column: 1}}, nil
}

type scan struct {
	def *scanDef
	src string
	pos lexer.Position
}

// Next returns the next token, skipping spaces and comments here rather
// than handing them to the parser to elide.
func (s *scan) Next() (lexer.Token, error) {
	rest := s.src[s.pos.Offset:]
	k, n := match(rest)
	for n > 0 && (k == kSpace || k == kComment) {
		s.pos.Advance(rest[:n])
		rest = rest[n:]
		k, n = match(rest)
	}
	if rest == "" {
		return lexer.EOFToken(s.pos), nil
	}
	if n == 0 {
		r, _ := utf8.DecodeRuneInString(rest)
		return lexer.Token{}, &badChar{char: r, pos: s.pos}
	}
	t := lexer.Token{Type: s.def.types[k], Value: rest[:n], Pos: s.pos}
	s.pos.Advance(rest[:n])
	return t, nil
}

// badChar is the scanner's error: no token starts with char, at pos. It
// is a participle.Error, which participle hands back as it is.
type badChar struct {
	char rune
	pos  lexer.Position
}

func (e *badChar) Message() string          { return fmt.Sprintf("unexpected character %q", e.char) }
func (e *badChar) Position() lexer.Position { return e.pos }
func (e *badChar) Error() string            { return participle.FormatError(e) }

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' // a regexp \w character
}
func isZoneByte(c byte) bool { return isWordByte(c) || c == '+' || c == '-' }

// match returns the kind and length of the token at the start of s, trying
// the rules in lexRules' order; length 0 means no rule matches.
func match(s string) (kind, int) {
	if s == "" {
		return 0, 0
	}
	c := s[0]
	switch {
	case c == '#':
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			return kComment, i
		}
		return kComment, len(s)
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		return kSpace, span(s, 0, func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' })
	case c == '@':
		if n := span(s, 1, isLetter); n > 1 {
			return kMacro, n
		}
		return kPunct, 1
	case isDigit(c):
		if n := clockLen(s); n > 0 {
			return kClock, n
		}
		if n := durationLen(s); n > 0 {
			return kDuration, n
		}
		return kNumber, span(s, 0, isDigit)
	case isLetter(c):
		if n := zoneLen(s); n > 0 {
			return kZone, n
		}
		return kWord, span(s, 0, func(c byte) bool { return isLetter(c) || c == '_' })
	case c == '_':
		return kWord, span(s, 0, func(c byte) bool { return isLetter(c) || c == '_' })
	case strings.IndexByte("@*/,=-()", c) >= 0:
		return kPunct, 1
	}
	return 0, 0
}

// span returns the end of the run of bytes from i on that ok accepts.
func span(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

// clockLen matches [0-9]+:[0-9]+(:[0-9]+)?.
func clockLen(s string) int {
	i := span(s, 0, isDigit)
	if i == len(s) || s[i] != ':' {
		return 0
	}
	j := span(s, i+1, isDigit)
	if j == i+1 {
		return 0
	}
	if j < len(s) && s[j] == ':' {
		if k := span(s, j+1, isDigit); k > j+1 {
			return k
		}
	}
	return j
}

// durationLen matches ([0-9]+[smhdw])+\b: the longest run of number-unit
// pairs that ends at a word boundary, backing off pair by pair as the
// regular expression would.
func durationLen(s string) int {
	var ends []int
	i := 0
	for {
		j := span(s, i, isDigit)
		if j == i || j == len(s) || strings.IndexByte("smhdw", s[j]) < 0 {
			break
		}
		i = j + 1
		ends = append(ends, i)
	}
	for k := len(ends) - 1; k >= 0; k-- {
		// A unit letter is a word character: a boundary follows it only
		// at the end or before a non-word character.
		if e := ends[k]; e == len(s) || !isWordByte(s[e]) {
			return e
		}
	}
	return 0
}

// zoneLen matches [A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z][A-Za-z0-9_+-]*)+, or
// else [A-Za-z]+[0-9+][A-Za-z0-9_+-]*, as the regular expression's
// alternation does: the first alternative wins where it matches.
func zoneLen(s string) int {
	i := span(s, 1, isZoneByte)
	segments := 0
	for i+1 < len(s) && s[i] == '/' && isLetter(s[i+1]) {
		i = span(s, i+2, isZoneByte)
		segments++
	}
	if segments > 0 {
		return i
	}
	if j := span(s, 0, isLetter); j < len(s) && (isDigit(s[j]) || s[j] == '+') {
		return span(s, j+1, isZoneByte)
	}
	return 0
}
