package lang

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tokens renders a lexed input as "Kind:text" pairs, which keeps the table
// below readable.
func tokens(t *testing.T, src string) string {
	t.Helper()
	toks, err := Lex(src)
	if err != nil {
		t.Fatalf("Lex(%q): %v", src, err)
	}
	parts := make([]string, len(toks))
	for i, tok := range toks {
		parts[i] = tok.Kind + ":" + tok.Text
	}
	return strings.Join(parts, " ")
}

func TestLexBoundaries(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"duration is not number+word", "10m", "Duration:10m"},
		{"clock is not number+punct", "10:00", "Clock:10:00"},
		{"clock with seconds", "23:59:30", "Clock:23:59:30"},
		{"window of clocks", "10:00-01:00", "Clock:10:00 Punct:- Clock:01:00"},
		{"compound duration", "2d8h30m", "Duration:2d8h30m"},
		{"at then duration", "@ 5m", "Punct:@ Duration:5m"},
		{"at glued to duration", "@5m", "Punct:@ Duration:5m"},
		{"macro is one token", "@hourly", "Macro:@hourly"},
		{"keyword prefix stays a word", "everyday", "Word:everyday"},
		{"duration needs a word boundary", "5mon", "Number:5 Word:mon"},
		{"cron names with step stay apart", "mon-fri/2", "Word:mon Punct:- Word:fri Punct:/ Number:2"},
		{"cron step", "*/15", "Punct:* Punct:/ Number:15"},
		{"cron range step", "1-59/10", "Number:1 Punct:- Number:59 Punct:/ Number:10"},
		{"zone with slashes", "in America/Argentina/Buenos_Aires", "Word:in Zone:America/Argentina/Buenos_Aires"},
		{"zone with sign", "Etc/GMT+5", "Zone:Etc/GMT+5"},
		{"POSIX-style zone", "CRON_TZ=EST5EDT 0 9", "Word:CRON_TZ Punct:= Zone:EST5EDT Number:0 Number:9"},
		{"zone with a plus and no slash", "in GMT+0", "Word:in Zone:GMT+0"},
		{"a name range with a number stays apart", "jan-3", "Word:jan Punct:- Number:3"},
		{"hashed range", "H(0-29)/10", "Word:H Punct:( Number:0 Punct:- Number:29 Punct:) Punct:/ Number:10"},
		{"zone prefix", "CRON_TZ=Europe/Berlin 5 4", "Word:CRON_TZ Punct:= Zone:Europe/Berlin Number:5 Number:4"},
		{"comment dropped", "every 1m # implicitly: @ 0m", "Word:every Duration:1m"},
		{"list", "@ 0m, 10m", "Punct:@ Duration:0m Punct:, Duration:10m"},
		{"tabs and newlines are spaces", "5\t4\n*", "Number:5 Number:4 Punct:*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tokens(t, tt.in)); diff != "" {
				t.Errorf("Lex(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestLexPositionsCountRunes(t *testing.T) {
	// "é" is two bytes but one column.
	toks, err := Lex("# é\n  every 5m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Pos{{Offset: 7, Line: 2, Col: 3}, {Offset: 13, Line: 2, Col: 9}}
	var got []Pos
	for _, tok := range toks {
		got = append(got, tok.Pos)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
	toks, err = Lex("@ é")
	if err == nil {
		t.Fatalf("Lex accepted %v", toks)
	}
	if diff := cmp.Diff("1:3: unexpected character 'é'", err.Error()); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
}

// The parser's hand-written lexer and the token table's regular expressions
// cut every input into the same tokens, at the same positions, and fail on
// the same character.
func FuzzLexersAgree(f *testing.F) {
	for _, s := range []string{
		"every 10m every 1d @ 10:00-01:00", "5mon", "1d2x", "10m,20m", "2d8h30m", "@hourly", "@ 5m", "@",
		"CRON_TZ=Europe/Berlin 0 9 * * mon-fri/2", "Etc/GMT+5", "a/b/", "a/1", "10:", "10:5:", "1:2:3:4",
		"# comment\n\t5 4 * * *", "_x", "every\r\n1h", "é", "0-59/10 0,10-23 * * *", "in America/Port-au-Prince",
		"12s3", "3w_", "7d-", "@ 04:15", "x@y", "::", "9999999999999999999999m",
		"CST6CDT", "GMT+0", "a+", "ab1/c", "Ab/1", "x9-y", "mon-5", "H(0-29)/10 H * * *", "H(", ")(",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		want, wantErr := lexWith(regexpLexer(), src)
		got, gotErr := lexWith(scanner, src)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("tokens of %q differ (-regexp +scanner):\n%s", src, diff)
		}
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("errors for %q differ: regexp %v, scanner %v", src, wantErr, gotErr)
		}
	})
}
