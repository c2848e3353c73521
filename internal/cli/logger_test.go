package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// kopf run logs text on a terminal, JSON lines elsewhere, unless
// --log-format says which.
func TestLoggerFormat(t *testing.T) {
	tests := []struct {
		format   string
		terminal bool
		json     bool
	}{
		{"", true, false},
		{"", false, true},
		{"json", true, true},
		{"text", false, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		e := &env{stderr: &buf, terminal: tt.terminal}
		log, err := e.logger(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello")
		if got := strings.HasPrefix(buf.String(), `{"time":`); got != tt.json {
			t.Errorf("format %q, terminal %v: wrote %q, want JSON %v", tt.format, tt.terminal, buf.String(), tt.json)
		}
	}
	var ue *usageError
	if _, err := (&env{}).logger("xml"); !errors.As(err, &ue) {
		t.Errorf("--log-format xml: %v, want a usage error", err)
	}
}
