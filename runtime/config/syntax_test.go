package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tailscale/hujson"
)

func TestJSONSyntax(t *testing.T) {
	runProblems(t, []problemTest{
		{"comments and trailing commas", "", "// kopf\n{\"jobs\": {/* none */},}\n", nil},
		{"missing comma between members", "", "{\"jobs\": {}\n\n\"procs\": {}}", []string{
			`k.json:1:12: missing comma after this value; the next one starts at 3:1`,
		}},
		{"missing comma after a comment", "", "{\"procs\": {\"p\": {\"command\": [\"a\" /* one */ \"b\"]}}}", []string{
			`k.json:1:33: missing comma after this value; the next one starts at 1:44`,
		}},
		{"missing colon", "", `{"jobs": {"a": {"command" "x"}}}`, []string{
			`k.json:1:26: missing ':' after this key; its value starts at 1:27`,
		}},
		{"stray character after a value", "", `{"jobs": {"a": {"command": "x";}}}`, []string{
			`k.json:1:31: unexpected ';' after a value; expected ',' or '}'`,
		}},
		{"stray character in an array", "", `{"jobs": {"a": {"command": ["x";]}}}`, []string{
			`k.json:1:32: unexpected ';' after a value; expected ',' or ']'`,
		}},
		{"stray character after a key", "", `{"jobs" = {}}`, []string{
			`k.json:1:9: unexpected '=' after a key; expected ':'`,
		}},
		{"unquoted key", "", `{"jobs": {a: 1}}`, []string{
			`k.json:1:11: expected a key in double quotes, found a`,
		}},
		{"key that is not a string", "", `{"jobs": {1: 1}}`, []string{
			`k.json:1:11: expected a key in double quotes, found '1'`,
		}},
		{"missing value", "", `{"jobs": }`, []string{
			`k.json:1:10: expected a value, found '}'`,
		}},
		{"bad literal", "", `{"jobs": {"a": {"command": "x", "log-start": True}}}`, []string{
			`k.json:1:46: invalid value "True"; expected a string, number, object, array, true, false or null`,
		}},
		{"bad escape", "", `{"jobs": {"a": {"command": "x\q"}}}`, []string{
			`k.json:1:28: invalid string: a control character, a bad escape or invalid UTF-8`,
		}},
		{"text after the end", "", `{} {}`, []string{
			`k.json:1:4: unexpected '{' after the end of the top-level object`,
		}},
		{"not closed", "", "{\"jobs\": {\"a\": {\"command\": \"x\"}}\n", []string{
			`k.json:2:1: unexpected end of file: the '{' at 1:1 is not closed`,
		}},
		{"inner one not closed", "", "{\"jobs\": {\"a\": [\n", []string{
			`k.json:2:1: unexpected end of file: the '[' at 1:16 is not closed`,
		}},
		{"string not terminated", "", "{\"jobs\": {\"a", []string{
			`k.json:1:11: string not terminated: the file ends inside it`,
		}},
		{"comment not terminated", "", "{\"jobs\": {} /* to do", []string{
			`k.json:1:13: comment not terminated: the file ends inside it`,
		}},
		{"empty file", "", "", []string{
			`k.json:1:1: the file is empty; expected an object with "jobs" and/or "procs"`,
		}},
		{"only comments", "", "// nothing yet\n", []string{
			`k.json:2:1: the file is empty; expected an object with "jobs" and/or "procs"`,
		}},
		{"columns count characters", "", "{\"jobs\": {\"ä\": {} \"b\": {}}}", []string{
			`k.json:1:18: missing comma after this value; the next one starts at 1:19`,
		}},
		{"raw newline in a string, at the newline", "", "{\"jobs\": {\"a\": {\"command\": \"echo a\nb\"}}}", []string{
			`k.json:1:35: invalid string: a raw control character (U+000A); write it as an escape, like \n or \u000A`,
		}},
	})
}

func TestYAML(t *testing.T) {
	runProblems(t, []problemTest{
		{"valid", "k.yaml", "jobs:\n  a:\n    command: echo hi\n    cron: '*/5 * * * *'\n", nil},
		{"yml", "k.yml", "procs: {p: {command: [tor]}}\n", nil},
		{"error inside a plain scalar", "k.yaml", "jobs:\n  a:\n    command: x\n    schedule: every 1d offset\n", []string{
			`k.yaml:4:30: expected a duration like 50m or a clock time like 04:15 after "offset", found end of input`,
		}},
		{"error inside a double-quoted scalar", "k.yaml", "jobs:\n  a:\n    command: x\n    schedule: \"every\\t1d \\x40 25:00\"\n", []string{
			`k.yaml:4:31: 25:00 is outside the day: hours run from 00 to 23 (24:00 may only end a window)`,
		}},
		{"error inside a single-quoted scalar", "k.yaml", "jobs:\n  a:\n    command: x\n    cron: ['0 ''17']\n", []string{
			`k.yaml:4:15: unexpected character '\''`,
		}},
		{"error inside a block scalar is at its start", "k.yaml", "jobs:\n  a:\n    command: x\n    cron: |\n      0 25\n", []string{
			`k.yaml:4:11: 25 is out of range for the hour field; expected 0 to 23`,
		}},
		{"unquoted asterisk", "k.yaml", "jobs:\n  a:\n    command: x\n    cron: */5 * * * *\n", []string{
			`k.yaml:4:5: did not find expected alphabetic or numeric character; a value that starts with * or @ must be quoted, like "*/5 * * * *"`,
		}},
		{"unquoted at", "k.yaml", "jobs:\n  a:\n    command: x\n    schedule: @ 04:15\n", []string{
			`k.yaml:4:5: found character that cannot start any token; a value that starts with * or @ must be quoted, like "*/5 * * * *"`,
		}},
		{"duplicate key", "k.yaml", "jobs:\n  a:\n    command: x\n    command: y\n", []string{
			`k.yaml:4:5: duplicate key "command"; the first is at 3:5`,
		}},
		{"second document", "k.yaml", "jobs: {}\n---\nprocs: {}\n", []string{
			`k.yaml:2:1: a second YAML document; a config file holds one`,
		}},
		{"empty file", "k.yaml", "# nothing yet\n", []string{
			`k.yaml:1:1: the file is empty; expected an object with "jobs" and/or "procs"`,
		}},
		{"merge key", "k.yaml", "jobs:\n  base: &b {command: x}\n  a:\n    <<: *b\n", []string{
			`k.yaml:4:5: YAML merge keys (<<) are not supported; write the settings out`,
			`k.yaml:3:3: warning: job "a" has neither "command" nor "trigger": it does nothing`,
		}},
		{"aliases", "k.yaml", "jobs:\n  a: &a {command: x, period: 60}\n  b: *a\n", nil},
		{"an unquoted number is no string", "k.yaml", "jobs:\n  a:\n    command: x\n    cron: 5\n", []string{
			`k.yaml:4:11: "cron" must be a crontab line, an array of them, or an object from crontab lines to extra arguments, found a number (5)`,
		}},
		{"yes is no boolean", "k.yaml", "jobs:\n  a:\n    command: x\n    log-start: yes\n", []string{
			`k.yaml:4:16: "log-start" must be true or false, found the string "yes"`,
		}},
		{"null section", "k.yaml", "jobs:\nprocs:\n", nil},
		{"key that is not a string", "k.yaml", "jobs:\n  [a, b]: {command: x}\n", []string{
			`k.yaml:2:3: expected a key that is a string, found an array`,
		}},
		// yaml.v3 says these without a position.
		{"invalid UTF-8, at its byte", "k.yaml", "jobs:\n  a:\n    command: echo \u00e9\xff\n", []string{
			`k.yaml:3:20: invalid UTF-8 (byte 0xff): a YAML file is UTF-8 text`,
		}},
		{"control character, at it", "k.yaml", "jobs:\n  a:\n    command: echo \x1b[0m\n", []string{
			`k.yaml:3:19: a control character (U+001B), which YAML does not allow in a file; in a double-quoted string, write it as \u001B`,
		}},
		{"NEL and tabs are text", "k.yaml", "jobs:\n  a:\n    command: \"echo\t\u0085\"\n", nil},
	})
}

func TestUnknownExtension(t *testing.T) {
	_, _, err := Parse("kopf.conf", []byte("{}"))
	want := "kopf.conf: unknown config file type; expected a name ending in .json, .yaml or .yml"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(kopf.conf) error = %v, want %q", err, want)
	}
}

// TestDecodeJSONString checks the offset map against hujson's own decoding.
func TestDecodeJSONString(t *testing.T) {
	tests := []struct {
		lit  string
		offs []int // of each decoded byte, then the closing quote, from 10
	}{
		{`""`, []int{11}},
		{`"ab"`, []int{11, 12, 13}},
		{`"a\tb"`, []int{11, 12, 14, 15}},
		{`"\u0040x"`, []int{11, 17, 18}},
		{`"ü!"`, []int{11, 11, 13, 14}},
		{`"\u00fc"`, []int{11, 11, 17}},
		{`"\ud83d\ude00."`, []int{11, 11, 11, 11, 23, 24}},
		{`"\"\\\/"`, []int{11, 13, 15, 17}},
	}
	for _, tt := range tests {
		text, l := decodeJSONString([]byte(tt.lit), 10)
		var offs []int
		for i := range len(text) + 1 {
			off, ok := l.offset(i, len(text))
			if !ok {
				t.Fatalf("decodeJSONString(%s): no offset for byte %d", tt.lit, i)
			}
			offs = append(offs, off)
		}
		if want := hujson.Literal(tt.lit).String(); text != want {
			t.Errorf("decodeJSONString(%s) = %q, want %q", tt.lit, text, want)
		}
		if diff := cmp.Diff(tt.offs, offs); diff != "" {
			t.Errorf("decodeJSONString(%s) offsets mismatch (-want +got):\n%s", tt.lit, diff)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    string // time.Duration's String
		problem string
	}{
		{"0", "0s", ""},
		{"90s", "1m30s", ""},
		{"1h30m", "1h30m0s", ""},
		{"2d", "48h0m0s", ""},
		{"1w2d", "216h0m0s", ""},
		{"1.5h", "1h30m0s", ""},
		{"250ms", "250ms", ""},
		{"3µs", "3µs", ""},
		{"+5m", "5m0s", ""},
		{"-0s", "0s", ""},
		{"-5m", "0s", "negative"},
		{"", "0s", "it is empty"},
		{"90", "0s", `a number without a unit; write 90 (no quotes) for seconds, or "90s"`},
		{"5 m", "0s", `expected a unit (s, m, h, d or w) after "5"`},
		{"m", "0s", `expected a number at "m"`},
		{"1.2.3s", "0s", `bad number "1.2.3"`},
		{"100000000w", "0s", "too long"},
	}
	for _, tt := range tests {
		d, problem := parseDuration(tt.in)
		if got := d.String(); got != tt.want || problem != tt.problem {
			t.Errorf("parseDuration(%q) = %s, %q; want %s, %q", tt.in, got, problem, tt.want, tt.problem)
		}
	}
	if strings.Contains(wantDuration, "1h30m") == false {
		t.Error("the duration help names no compound example")
	}
}

func TestExportedParseDuration(t *testing.T) {
	if d, err := ParseDuration("1d2h"); err != nil || d != 26*time.Hour {
		t.Errorf(`ParseDuration("1d2h") = %v, %v; want 26h`, d, err)
	}
	if _, err := ParseDuration("-5m"); err == nil || err.Error() != `invalid duration "-5m": negative` {
		t.Errorf(`ParseDuration("-5m") error = %v`, err)
	}
}
