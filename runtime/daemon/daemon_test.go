package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/control"
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

// run starts the daemon of cfg in the background and returns its Run's
// result channel.
func run(ctx context.Context, cfg Config) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	return done
}

// testConfig is a daemon of dir with the config text, and its log.
func testConfig(t *testing.T, dir, text string) (Config, *lockedBuffer) {
	t.Helper()
	file := filepath.Join(dir, "kopf.json")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	return Config{Sources: sources.Spec{File: file}, Journal: filepath.Join(dir, "journal.jsonl"), Socket: filepath.Join(dir, "kopf.sock"),
		Host: proc.Options{NoCgroups: true}, Log: slog.New(slog.NewJSONHandler(log, nil))}, log
}

// lockedBuffer is a log's buffer, safe for the daemon's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// askStatus asks the daemon at sock, waiting up to 10 s for it to answer.
func askStatus(t *testing.T, sock string) control.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := control.Call(ctx, sock, control.Request{Cmd: control.CmdStatus})
		cancel()
		if err == nil {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("kopf status: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunAndStop: the daemon runs its config's units, answers on its
// socket and on --http, and when ctx is done stops them, removes its
// socket, frees its port, and ends the journal with quit.
func TestRunAndStop(t *testing.T) {
	dir := t.TempDir()
	cfg, log := testConfig(t, dir, `{"jobs": {"once": {"command": "true", "run-on-start": true}}, "procs": {"sleeper": {"command": "sleep 60"}}}`)
	cfg.HTTP = &HTTP{Addr: "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	resp := askStatus(t, cfg.Socket)
	if !resp.OK || len(resp.Units) != 2 {
		t.Fatalf("status: %+v", resp)
	}
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no page in the log:\n%s", log.String())
		}
		if _, rest, ok := strings.Cut(log.String(), "kopf's page at http://"); ok {
			addr, _, _ = strings.Cut(rest, "/")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(cfg.Socket); err == nil {
		t.Error("the socket is left after Run returned")
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("--http's port %s is still taken: %v", addr, err)
	} else {
		l.Close()
	}
	types := journalTypes(t, cfg.Journal)
	if len(types) == 0 || types[0] != journal.Acquired || types[len(types)-1] != journal.Quit {
		t.Errorf("journal %v, want acquired first and quit last", types)
	}
	if n := strings.Count(fmt.Sprint(types), string(journal.Exited)); n != 2 {
		t.Errorf("journal %v: %d exited events, want the job's and the proc's", types, n)
	}
}

// TestPartialStartUnwinds: a part that cannot start — here the control
// socket, in a directory that is a file — stops the parts before it, in
// reverse: the ports are free again, the journal ends with quit, and Run
// says it refused.
func TestPartialStartUnwinds(t *testing.T) {
	dir := t.TempDir()
	cfg, log := testConfig(t, dir, `{"procs": {"sleeper": {"command": "sleep 60"}}}`)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	cfg.Socket = filepath.Join(notDir, "kopf.sock")
	httpAddr, healthAddr := freePort(t), freePort(t)
	cfg.HTTP, cfg.Health = &HTTP{Addr: httpAddr}, healthAddr
	err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Run = %v, want ErrRefused", err)
	}
	if !strings.Contains(log.String(), "refusing to start") {
		t.Errorf("the log does not say why:\n%s", log)
	}
	for _, addr := range []string{httpAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s still taken after the unwind: %v", addr, err)
			continue
		}
		l.Close()
	}
	types := journalTypes(t, cfg.Journal)
	if len(types) == 0 || types[len(types)-1] != journal.Quit {
		t.Errorf("journal %v, want quit last", types)
	}
	for _, typ := range types {
		if typ == journal.Spawned {
			t.Error("something was started")
		}
	}
}

// freePort is a loopback address with a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRefusals: what Run says for each way it will not start, and that
// the --http port is taken before the journal is touched.
func TestRefusals(t *testing.T) {
	t.Run("port in use", func(t *testing.T) {
		cfg, log := testConfig(t, t.TempDir(), `{}`)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cfg.HTTP = &HTTP{Addr: l.Addr().String()}
		if err := Run(context.Background(), cfg); !errors.Is(err, ErrRefused) {
			t.Errorf("Run = %v, want ErrRefused", err)
		}
		if _, err := os.Stat(cfg.Journal); err == nil {
			t.Error("the journal was made, though the port was taken")
		}
		if !strings.Contains(log.String(), "refusing to start: --http") {
			t.Errorf("the log does not say why:\n%s", log)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		cfg, log := testConfig(t, t.TempDir(), `{"jobs": {"a": {"schedule": "every 1x"}}}`)
		if err := Run(context.Background(), cfg); !errors.Is(err, ErrRefused) || errors.Is(err, ErrJournal) {
			t.Errorf("Run = %v, want ErrRefused", err)
		}
		if !strings.Contains(log.String(), "kopf.json:1:") {
			t.Errorf("the log does not name the error's place:\n%s", log)
		}
	})
	t.Run("journal unusable", func(t *testing.T) {
		dir := t.TempDir()
		cfg, _ := testConfig(t, dir, `{}`)
		os.WriteFile(filepath.Join(dir, "state"), nil, 0o644)
		cfg.Journal = filepath.Join(dir, "state", "journal.jsonl")
		if err := Run(context.Background(), cfg); !errors.Is(err, ErrJournal) {
			t.Errorf("Run = %v, want ErrJournal", err)
		}
	})
	t.Run("cluster flags without a cluster", func(t *testing.T) {
		cfg, _ := testConfig(t, t.TempDir(), `{}`)
		cfg.Cluster.Given = []string{"--member"}
		var usage *UsageError
		if err := Run(context.Background(), cfg); !errors.As(err, &usage) || !strings.Contains(usage.Msg, "--member needs a cluster") {
			t.Errorf("Run = %v, want a usage error about --member", err)
		}
	})
}
