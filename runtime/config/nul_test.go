package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/kopf/kopf/lang"
)

// TestNULIsRefusedAtIt: one rule for every kind of file: a NUL in a
// command (or a variable, or anywhere in a crontab line) is an error at
// the NUL — the raw byte, or the escape that writes it — and the message
// says it is a NUL.
func TestNULIsRefusedAtIt(t *testing.T) {
	tests := []struct {
		file, src string
		at        string // the text the error is at: its first occurrence in src
	}{
		{"tab", "0 * * * * echo a\x00b\n", "\x00"},
		{"tab", "X=a\x00\n0 * * * * echo\n", "\x00"},
		{"k.json", `{"jobs": {"a": {"schedule": "every 1h", "command": "echo a\u0000b"}}}`, `\u0000`},
		{"k.json", "{\"jobs\": {\"a\": {\"schedule\": \"every 1h\", \"command\": \"echo a\x00b\"}}}", "\x00"},
		{"k.json", `{"jobs": {"a": {"schedule": "every 1h", "command": ["echo", "\u00e9\u0000"]}}}`, `\u0000`},
		{"k.json", `{"jobs": {"a": {"schedule": "every 1h", "command": "echo", "env": {"X": "\u0000"}}}}`, `\u0000`},
		{"k.yaml", "jobs:\n  a:\n    schedule: every 1h\n    command: \"echo a\\0b\"\n", `\0`},
		{"k.yaml", "jobs:\n  a:\n    schedule: every 1h\n    command: [echo, \"\u00e9\\x00\"]\n", `\x00`},
		{"k.yaml", "jobs:\n  a:\n    schedule: every 1h\n    command: echo \u00e9\x00b\n", "\x00"},
	}
	for _, tt := range tests {
		var err error
		if tt.file == "tab" {
			_, _, err = ParseCrontab(tt.file, []byte(tt.src), UserCrontab)
		} else {
			_, _, err = Parse(tt.file, []byte(tt.src))
		}
		var list lang.ErrorList
		if !errors.As(err, &list) || len(list) != 1 {
			t.Errorf("%s %q: error %v, want one", tt.file, tt.src, err)
			continue
		}
		want := newSource(tt.file, []byte(tt.src)).pos(strings.Index(tt.src, tt.at))
		if e := list[0]; e.Pos != want || !strings.Contains(e.Msg, "NUL") {
			t.Errorf("%s %q: %s; want a NUL's error at %s", tt.file, tt.src, e, want)
		}
	}
}
