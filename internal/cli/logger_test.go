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
		log, err := e.logger(tt.format, "")
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello")
		if got := strings.HasPrefix(buf.String(), `{"time":`); got != tt.json {
			t.Errorf("format %q, terminal %v: wrote %q, want JSON %v", tt.format, tt.terminal, buf.String(), tt.json)
		}
	}
	var ue *usageError
	if _, err := (&env{}).logger("xml", ""); !errors.As(err, &ue) {
		t.Errorf("--log-format xml: %v, want a usage error", err)
	}
	if _, err := (&env{}).logger("json", "loud"); !errors.As(err, &ue) {
		t.Errorf("--log-level loud: %v, want a usage error", err)
	}
}

// --log-level drops the records below it; a nil list is [] in JSON.
func TestLoggerLevelAndEmptyLists(t *testing.T) {
	var buf bytes.Buffer
	log, err := (&env{stderr: &buf}).logger("json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	var none []string
	log.Info("quiet")
	log.Warn("loud", "kept", none, "started", []string{"a"})
	out := buf.String()
	if strings.Contains(out, "quiet") || !strings.Contains(out, `"kept":[],"started":["a"]`) {
		t.Errorf("log:\n%s", out)
	}
	buf.Reset()
	log, _ = (&env{stderr: &buf}).logger("text", "debug")
	log.Debug("details")
	if !strings.Contains(buf.String(), "details") {
		t.Errorf("--log-level debug lost a debug record: %q", buf.String())
	}
}

// In a text log, a raw output line is the line itself.
func TestRawOutputText(t *testing.T) {
	var buf bytes.Buffer
	e := &env{stderr: &buf, terminal: true}
	log, err := e.logger("", "")
	if err != nil {
		t.Fatal(err)
	}
	e.rawOutput(false, log)("job", "Job", "stdout", `level=info msg="its own"`)
	if got := buf.String(); got != "level=info msg=\"its own\"\n" {
		t.Errorf("raw line = %q", got)
	}
}
