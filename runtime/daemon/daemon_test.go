package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
)

// journalTypes reads the types of a journal's events, in order.
func journalTypes(t *testing.T, path string) []journal.EventType {
	t.Helper()
	var types []journal.EventType
	journal.Read(path, 0, func(ev journal.Event, _ []byte) error {
		types = append(types, ev.Type)
		return nil
	}, func(err error) { t.Errorf("journal: %v", err) })
	return types
}

// A signal as the daemon starts — here before it reads its sources (a
// cron directory of 100k lines takes a second or more) — stops the start
// there: the daemon reads no further, starts nothing, leaves no control
// socket, and ends the journal with quit; Run returns nil, for kopf run
// to exit 0.
func TestStopWhileReading(t *testing.T) {
	dir := t.TempDir()
	cron := filepath.Join(dir, "cron.d")
	os.MkdirAll(cron, 0o755)
	if err := os.WriteFile(filepath.Join(cron, "app"), []byte("# name: app\n0 * * * * root true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jpath, sock := filepath.Join(dir, "journal.jsonl"), filepath.Join(dir, "kopf.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM came while kopf read its sources
	var log bytes.Buffer
	err := Run(ctx, Config{Sources: sources.Spec{CronDirs: []string{cron}}, Journal: jpath, Socket: sock,
		Host: proc.Options{NoCgroups: true}, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatalf("Run after a signal: %v; want nil", err)
	}
	// Whether the signal is seen before the reading or during it (the
	// sources' own tests stop a reading half way).
	if !strings.Contains(log.String(), "stopped by a signal while ") || !strings.Contains(log.String(), "nothing was started") {
		t.Errorf("the log does not say why it stopped:\n%s", &log)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("the control socket %s was left", sock)
	}
	types := journalTypes(t, jpath)
	for _, typ := range types {
		if typ == journal.Source {
			t.Errorf("the journal has a source event: the config was read")
		}
	}
	if len(types) == 0 || types[len(types)-1] != journal.Quit {
		t.Errorf("journal events %v, want them to end with quit", types)
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
