package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
)

// A signal during the reading of the sources (a cron directory of 100k
// lines takes a second or more) stops the start there: startDaemon reads
// no further, starts nothing, opens no control socket, and ends the
// journal with quit, for kopf run to exit 0.
func TestStartDaemonStopsWhileReading(t *testing.T) {
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
	d, err := startDaemon(ctx, slog.New(slog.NewTextHandler(&log, nil)), sources.Spec{CronDirs: []string{cron}},
		jpath, sock, proc.Options{NoCgroups: true}, nil)
	if !errors.Is(err, errStopped) || d != nil {
		t.Fatalf("startDaemon after a signal: %v, %v; want errStopped", d, err)
	}
	if !strings.Contains(log.String(), "stopped by a signal while reading the sources") {
		t.Errorf("the log does not say why it stopped:\n%s", &log)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("the control socket %s was opened", sock)
	}
	var types []journal.EventType
	journal.Read(jpath, 0, func(ev journal.Event, _ []byte) error {
		types = append(types, ev.Type)
		if ev.Type == journal.Source {
			t.Errorf("the journal has a source event for %s: the config was read", ev.Unit)
		}
		return nil
	}, func(err error) { t.Errorf("journal: %v", err) })
	if len(types) == 0 || types[len(types)-1] != journal.Quit {
		t.Errorf("journal events %v, want them to end with quit", types)
	}
}
