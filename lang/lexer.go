package lang

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The token table for both dialects, indexed by the scanner's kinds. Rules
// are tried in order and the first match wins, so the order carries meaning:
//
//   - Macro before Punct: "@hourly" is one token, "@ 5m" is "@" then a duration.
//   - Clock before Duration before Number: "10:00" must not lex as "10" ":" …,
//     and "10m" must not lex as the number 10 followed by the word m.
//   - Duration ends at a word boundary, so "5mon" is not the duration 5m
//     followed by "on"; it falls through to Number and Word and is reported.
//   - Zone before Word: "Europe/Berlin" is one token. A zone needs a slash and
//     a letter after it, so the cron field "mon-fri/2" stays three tokens;
//     or letters followed at once by a digit or "+" (the POSIX-style names
//     EST5EDT, CST6CDT, GMT+0), which no crontab field or every-word is.
var lexRules = [numKinds]lexer.SimpleRule{
	kComment:  {Name: "Comment", Pattern: `#[^\n]*`},
	kSpace:    {Name: "Space", Pattern: `[ \t\r\n]+`},
	kMacro:    {Name: "Macro", Pattern: `@[A-Za-z]+`},
	kClock:    {Name: "Clock", Pattern: `[0-9]+:[0-9]+(:[0-9]+)?`},
	kDuration: {Name: "Duration", Pattern: `([0-9]+[smhdw])+\b`},
	kNumber:   {Name: "Number", Pattern: `[0-9]+`},
	kZone:     {Name: "Zone", Pattern: `[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z][A-Za-z0-9_+\-]*)+|[A-Za-z]+[0-9+][A-Za-z0-9_+\-]*`},
	kWord:     {Name: "Word", Pattern: `[A-Za-z_]+`},
	kPunct:    {Name: "Punct", Pattern: `[@*/,=\-()]`},
}

// regexpLexer is participle's lexer for the table. The parser uses scanner,
// which matches the same rules by hand; tests compare the two.
var regexpLexer = sync.OnceValue(func() *lexer.StatefulDefinition { return lexer.MustSimple(lexRules[:]) })

// Token is one lexical token of a schedule.
type Token struct {
	Kind string // a rule name from the token table: "Word", "Duration", …
	Text string
	Pos  Pos
}

// Lex splits src into tokens, dropping spaces and comments. It exists so the
// token boundaries can be tested on their own; Parse does not need it.
func Lex(src string) ([]Token, error) {
	return lexWith(scanner, src)
}

// lexWith lexes src with def; tests compare the parser's lexer with the
// regular-expression definition this way.
func lexWith(def interface {
	lexer.Definition
	lexer.StringDefinition
}, src string) ([]Token, error) {
	lx, err := def.LexString("", src)
	if err != nil {
		return nil, err
	}
	names := lexer.SymbolsByRune(def)
	var out []Token
	for {
		t, err := lx.Next()
		if err != nil {
			return out, convertLexError(err)
		}
		if t.EOF() {
			return out, nil
		}
		kind := names[t.Type]
		if kind == "Space" || kind == "Comment" {
			continue
		}
		out = append(out, Token{Kind: kind, Text: t.Value, Pos: posOf(t.Pos)})
	}
}

func posOf(p lexer.Position) Pos {
	return Pos{Filename: p.Filename, Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// convertLexError turns a lexer error into an *Error that names the
// character that no token starts with. The parser's scanner says so in a
// typed error; participle's regular-expression lexer, which only the
// tests use, says it in words.
func convertLexError(err error) error {
	var bad *badChar
	if errors.As(err, &bad) {
		return Errorf(posOf(bad.pos), "%s", bad.Message())
	}
	var pe participle.Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Message()
	if quoted, ok := strings.CutPrefix(strings.TrimPrefix(msg, "lexer: "), "invalid input text "); ok {
		if text, err := strconv.Unquote(quoted); err == nil && text != "" {
			return Errorf(posOf(pe.Position()), "unexpected character %q", []rune(text)[0])
		}
	}
	return Errorf(posOf(pe.Position()), "%s", msg)
}
