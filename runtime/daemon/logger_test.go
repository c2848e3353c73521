package daemon

import (
	"bytes"
	"strings"
	"testing"
)

// kopf's log is text on a terminal, JSON lines elsewhere, unless the
// format says which.
func TestLogFormat(t *testing.T) {
	tests := []struct {
		format   LogFormat
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
		log, _, err := NewLog(&buf, tt.format, "", tt.terminal)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello")
		if got := strings.HasPrefix(buf.String(), `{"time":`); got != tt.json {
			t.Errorf("format %q, terminal %v: wrote %q, want JSON %v", tt.format, tt.terminal, buf.String(), tt.json)
		}
	}
	if _, _, err := NewLog(&bytes.Buffer{}, "xml", "", false); err == nil || !strings.Contains(err.Error(), `"xml": expected text or json`) {
		t.Errorf("format xml: %v", err)
	}
	if _, _, err := NewLog(&bytes.Buffer{}, "json", "loud", false); err == nil || !strings.Contains(err.Error(), `"loud": expected debug, info, warn or error`) {
		t.Errorf("level loud: %v", err)
	}
}

// The level drops the records below it; a nil list is [] in JSON.
func TestLogLevelAndEmptyLists(t *testing.T) {
	var buf bytes.Buffer
	log, _, err := NewLog(&buf, "json", "warn", false)
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
	log, _, _ = NewLog(&buf, "text", "debug", false)
	log.Debug("details")
	if !strings.Contains(buf.String(), "details") {
		t.Errorf("debug level lost a debug record: %q", buf.String())
	}
}

// In a text log, a raw output line is the line itself; in a JSON log a
// record, with a line that is a JSON object kept an object.
func TestRawOutput(t *testing.T) {
	var buf bytes.Buffer
	_, raw, err := NewLog(&buf, "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	raw("job", "Job", "stdout", `level=info msg="its own"`)
	if got := buf.String(); got != "level=info msg=\"its own\"\n" {
		t.Errorf("raw line = %q", got)
	}
	buf.Reset()
	_, raw, _ = NewLog(&buf, "json", "", false)
	raw("job", "Job", "stdout", ` {"level":"info","n":1}`)
	raw("job", "Job", "stderr", "plain")
	out := buf.String()
	if !strings.Contains(out, `"output":{"level":"info","n":1}`) || !strings.Contains(out, `"msg":"plain","unit":"job","title":"Job","stream":"stderr"`) {
		t.Errorf("JSON raw lines:\n%s", out)
	}
}
