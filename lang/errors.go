package lang

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a source text. Line and Col are 1-based; Col counts
// runes, not bytes, so a caret lines up under the character a user sees.
// Offset is the 0-based byte offset. The zero Pos is "no position".
type Pos struct {
	Filename string
	Offset   int
	Line     int
	Col      int
}

// IsValid reports whether p names a place in a source.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String renders p as "file:line:col", or "line:col" without a file name.
func (p Pos) String() string {
	if !p.IsValid() {
		return p.Filename // a whole file, like a script, or nothing
	}
	s := fmt.Sprintf("%d:%d", p.Line, p.Col)
	if p.Filename != "" {
		s = p.Filename + ":" + s
	}
	return s
}

// Shift returns p advanced by the text s, which is assumed to start at p.
func (p Pos) Shift(s string) Pos {
	p.Offset += len(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		p.Line += strings.Count(s, "\n")
		p.Col = 1 + utf8.RuneCountInString(s[i+1:])
		return p
	}
	p.Col += utf8.RuneCountInString(s)
	return p
}

// Error is one problem in a source text, at the position of the token that
// caused it. Msg says what is wrong and, where it can, what was expected.
type Error struct {
	Pos Pos
	Msg string
	Err error // an optional sentinel this error is an instance of, for errors.Is
}

// Unwrap returns the sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Pos.String() == "" {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errorf returns an *Error at pos.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList is a list of errors, kept in source order by Sort.
type ErrorList []*Error

// Add appends an error at pos.
func (l *ErrorList) Add(pos Pos, format string, args ...any) {
	*l = append(*l, Errorf(pos, format, args...))
}

// Sort orders the list by position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
}

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0], len(l)-1)
}

// Err returns nil for an empty list and the list itself otherwise, so that
// a function can end with "return errs.Err()".
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Snippet returns the source line that pos points into and a second line
// with a caret under pos's column, both indented by two spaces; it returns
// "" when pos is not inside src. Tabs in the prefix are kept so the caret
// lines up in a terminal. Control characters and bytes that are not UTF-8
// are shown as U+FFFD, one column each as the caret counts them: a file's
// bytes never reach the terminal as escape sequences.
func Snippet(src string, pos Pos) string {
	if !pos.IsValid() || pos.Offset > len(src) {
		return ""
	}
	start := strings.LastIndexByte(src[:pos.Offset], '\n') + 1
	end := strings.IndexByte(src[pos.Offset:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += pos.Offset
	}
	line := strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f || 0x80 <= r && r < 0xa0 {
			return utf8.RuneError
		}
		return r
	}, src[start:end]) // an invalid byte comes to the mapping as U+FFFD, one each
	var pad strings.Builder
	for _, r := range src[start:pos.Offset] {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return "  " + line + "\n  " + pad.String() + "^"
}
