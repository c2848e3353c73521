// Package hostiletest runs a real kopf run daemon against hostile input at
// scale: another user flooding its HTTP server with connections held
// open, and the like (issue 28). The tests take real seconds and real
// resources (tens of thousands of sockets), so they live in a package of
// their own, beside the quicker end-to-end tests of internal/cli.
package hostiletest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/internal/cli"
	"github.com/kopf/kopf/runtime/journal"
)

// TestMain: this test binary is kopf when run under that name, and the
// attacking client when run as "flood" (flood_test.go).
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "kopf":
		os.Exit(cli.Main())
	case "flood":
		os.Exit(flood(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// program copies this test binary to a directory every user can read, as
// name: a program another uid can run.
func program(t *testing.T, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// t.TempDir's directories are private to root; open the way down.
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// machineLock takes an exclusive lock named name in the machine's temp
// directory, waiting for another test process that holds it, and returns
// its release.
func machineLock(t *testing.T, name string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// daemon is a running kopf run.
type daemon struct {
	t       *testing.T
	kopf    string
	dir     string
	journal string
	socket  string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{}
}

// startKopf starts kopf run with a journal and socket of its own, JSON
// logs, --cgroup none (these tests are about kopf's own resources) and
// args.
func startKopf(t *testing.T, args ...string) *daemon {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kopf := filepath.Join(dir, "kopf")
	if err := os.Symlink(self, kopf); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, kopf: kopf, dir: dir, journal: filepath.Join(dir, "journal.jsonl"), socket: filepath.Join(dir, "kopf.sock"),
		stderr: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(kopf, append([]string{"run", "--log-format", "json", "--cgroup", "none",
		"--journal", d.journal, "--socket", d.socket}, args...)...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
	})
	return d
}

// client runs a kopf client command against the daemon.
func (d *daemon) client(args ...string) (string, error) {
	cmd := exec.Command(d.kopf, append([]string{args[0], "--socket", d.socket}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// logged waits up to 15 s for a log message that starts with prefix and
// returns the rest of it.
func (d *daemon) logged(prefix string) string {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(d.stderr.String()))
		for sc.Scan() {
			var rec struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				if rest, ok := strings.CutPrefix(rec.Msg, prefix); ok {
					return rest
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("kopf never logged %q; its log:\n%s", prefix, d.stderr)
	return ""
}

// events reads the daemon's journal.
func (d *daemon) events() []journal.Event {
	d.t.Helper()
	var out []journal.Event
	err := journal.Read(d.journal, 0, func(ev journal.Event, _ []byte) error {
		out = append(out, ev)
		return nil
	}, func(err error) { d.t.Errorf("journal: %v", err) })
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
