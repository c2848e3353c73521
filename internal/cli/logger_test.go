package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/journal"
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

// kopf's warnings and errors that are not about one unit reach the journal
// too; a unit's own go there as events of their own.
func TestJournalWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	jnl, _, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(journalWarnings{slog.NewTextHandler(&buf, nil), jnl.Record})
	log.Info("kopf running")
	log.Error("kopf.json:1:2: unknown key", "file", "kopf.json")
	log.Warn("cannot watch", "dir", "/etc/kopf")
	log.Error("start web failed", "unit", "web")
	if err := jnl.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	journal.Read(path, 0, func(ev journal.Event, _ []byte) error {
		if ev.Type == journal.Warning {
			got = append(got, ev.Component+": "+ev.Error)
		}
		return nil
	}, func(err error) { t.Error(err) })
	want := []string{"config: kopf.json:1:2: unknown key", "sources: cannot watch"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal warnings = %q, want %q", got, want)
	}
	if !strings.Contains(buf.String(), "start web failed") {
		t.Errorf("the log lost a record:\n%s", &buf)
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
