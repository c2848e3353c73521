package cli

import (
	"strconv"
	"strings"

	"github.com/kopf/kopf/lang"
)

// checkMessage is one message of kopf check --json (docs/config.md,
// "kopf check --json").
type checkMessage struct {
	File     string `json:"file,omitempty"`     // "" for a -e schedule
	Schedule int    `json:"schedule,omitempty"` // which -e schedule, from 1; 0 for a file
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Severity string `json:"severity"` // error, warning or note
	Text     string `json:"text"`
	Hint     string `json:"hint,omitempty"`
}

// checkReport is the document kopf check --json prints.
type checkReport struct {
	OK       bool           `json:"ok"`
	Messages []checkMessage `json:"messages"`
}

// newCheckMessage takes apart a message as kopf check prints it.
func newCheckMessage(prefix string, pos lang.Pos, msg string) checkMessage {
	m := checkMessage{File: pos.Filename, Line: pos.Line, Column: pos.Col, Severity: "error"}
	if n, ok := strings.CutPrefix(prefix, "schedule "); ok {
		m.Schedule, _ = strconv.Atoi(strings.TrimSuffix(n, ": "))
	}
	for _, p := range []string{pos.String() + ": ", pos.Filename + ": "} {
		if p != ": " {
			msg = strings.TrimPrefix(msg, p)
		}
	}
	for _, sev := range []string{"warning", "note"} {
		if rest, ok := strings.CutPrefix(msg, sev+": "); ok {
			m.Severity, msg = sev, rest
		}
	}
	m.Text, m.Hint = msg, hintOf(msg)
	return m
}

// hintOf is what a message says to do: its "did you mean" suggestion, or
// the clause after its first "; " when that clause says what to write,
// give, add, set, use or leave out; "" when it says nothing of the kind.
func hintOf(msg string) string {
	if i := strings.Index(msg, "(did you mean "); i >= 0 {
		return strings.TrimSuffix(msg[i+1:], ")")
	}
	_, rest, ok := strings.Cut(msg, "; ")
	if !ok {
		return ""
	}
	for _, verb := range []string{"write ", "give ", "add ", "set ", "use ", "leave ", "expected ", "run ", "list ", "say "} {
		if strings.HasPrefix(rest, verb) {
			return rest
		}
	}
	return ""
}
