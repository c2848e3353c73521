package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExpectBody: the body an HTTP check wants is checked where written.
func TestExpectBody(t *testing.T) {
	proc := func(health string) string {
		return `{"procs": {"p": {"command": "x", "ports": "health", "health": ` + health + `}}}`
	}
	tests := []struct {
		name, src string
		want      []string
	}{
		{"on http", proc(`{"http": "/h", "expect-body": "ready"}`), nil},
		{"empty", proc(`{"http": "/h", "expect-body": " "}`), []string{
			`k.json:1:93: "expect-body" is empty, and no check could pass it; leave it out to take any 2xx answer`}},
		{"on a command", proc(`{"command": "true", "expect-body": "ok"}`), []string{
			`k.json:1:83: warning: "expect-body" has no effect on a "command" check: it is the body an "http" check wants`}},
		{"not a string", proc(`{"http": "/h", "expect-body": 1}`), []string{
			`k.json:1:93: "expect-body" must be a string, found a number (1)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problems(t, "k.json", tt.src)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
