package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// deadline is how long a test waits for a call it expects; generous,
	// since a loaded machine can be slow, and only spent on failure.
	deadline = 5 * time.Second
	// debounce is short so that "no call" can be checked in a few windows.
	debounce = 50 * time.Millisecond
	// quietWait is how long "no call" waits: a few debounce windows.
	quietWait = 300 * time.Millisecond
)

// session is one running Watch with its calls counted on a channel.
type session struct {
	t      *testing.T
	calls  chan struct{}
	cancel context.CancelFunc
	done   chan error
	// hold, while locked, keeps the callback from returning, so that a
	// test can change things while Watch is busy.
	hold sync.Mutex
}

// start runs Watch on paths and waits for its initial call.
func start(t *testing.T, paths []string, opts Options) *session {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = debounce
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{t: t, calls: make(chan struct{}, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- Watch(ctx, paths, opts, func() {
			s.calls <- struct{}{}
			// hold is a gate: a test that holds it keeps this call running.
			s.hold.Lock()
			s.hold.Unlock() //lint:ignore SA2001 the empty section is the gate
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(deadline):
			t.Error("Watch did not return after cancel")
		}
	})
	s.wait("the initial call")
	return s
}

// wait fails unless a call arrives within the deadline.
func (s *session) wait(what string) {
	s.t.Helper()
	select {
	case <-s.calls:
	case err := <-s.done:
		s.t.Fatalf("waiting for %s: Watch returned %v", what, err)
	case <-time.After(deadline):
		s.t.Fatalf("no call for %s within %v", what, deadline)
	}
}

// none fails if a call arrives within quietWait.
func (s *session) none(what string) {
	s.t.Helper()
	select {
	case <-s.calls:
		s.t.Fatalf("unexpected call after %s", what)
	case <-time.After(quietWait):
	}
}

// settle drains calls until none has come for quietWait, so that the next
// expected call is not a late one from an earlier step.
func (s *session) settle() {
	s.t.Helper()
	end := time.Now().Add(deadline)
	for {
		select {
		case <-s.calls:
			if time.Now().After(end) {
				s.t.Fatal("calls keep coming")
			}
		case <-time.After(quietWait):
			return
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func TestInitialCall(t *testing.T) {
	root := t.TempDir()
	// Neither exists; the initial call still comes once watches are set.
	start(t, []string{filepath.Join(root, "kopf.json"), filepath.Join(root, "no/such/dir")}, Options{})
}

func TestFileBurstIsOneCall(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "kopf.json")
	// A longer debounce than elsewhere, so that a descheduled test
	// goroutine does not split the burst in two.
	s := start(t, []string{path}, Options{Debounce: 200 * time.Millisecond})

	write(t, path, "1")
	for _, v := range []string{"2", "3", "4"} {
		write(t, path, v)
	}
	// An editor's atomic save.
	tmp := filepath.Join(root, ".kopf.json.swp")
	write(t, tmp, "5")
	rename(t, tmp, path)

	s.wait("a burst of writes")
	select {
	case <-s.calls:
		t.Fatal("a second call for one burst")
	case <-time.After(3 * 200 * time.Millisecond):
	}

	// A later save is a new burst.
	write(t, tmp, "6")
	rename(t, tmp, path)
	s.wait("an atomic save")
}

func TestUnrelatedNamesAreIgnored(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "kopf.json")
	dir := filepath.Join(root, "services")
	write(t, file, "{}")
	mkdir(t, dir)
	s := start(t, []string{file, dir}, Options{})

	other := filepath.Join(root, "other.json")
	write(t, other, "x")
	write(t, other, "y")
	rename(t, other, filepath.Join(root, "other2.json"))
	mkdir(t, filepath.Join(root, "servicesX"))
	write(t, filepath.Join(root, "kopf.json.bak"), "x")
	s.none("activity on other names next to the watched paths")

	// Both paths still count, sharing the one directory watch.
	write(t, file, `{"a":1}`)
	s.wait("a write to the file")
	s.settle()
	write(t, filepath.Join(dir, "web.json"), "{}")
	s.wait("a new file in the directory")
}

func TestMissingDirectoryAppears(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc/kopf/services")
	s := start(t, []string{dir}, Options{})

	mkdir(t, dir)
	write(t, filepath.Join(dir, "a.json"), "{}")
	s.wait("the directory created with a file")
	s.settle()

	// The watches moved down into the new directory.
	write(t, filepath.Join(dir, "b.json"), "{}")
	s.wait("a second file in the new directory")
	s.settle()

	// A sibling of an ancestor is not interesting.
	mkdir(t, filepath.Join(root, "etc/other"))
	s.none("a directory created next to an ancestor")
}

func TestDirectoryRenamedIntoPlace(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "conf/kopf.json")
	s := start(t, []string{path}, Options{})

	mkdir(t, filepath.Join(root, "conf.new"))
	write(t, filepath.Join(root, "conf.new/kopf.json"), "1")
	rename(t, filepath.Join(root, "conf.new"), filepath.Join(root, "conf"))
	s.wait("the directory renamed into place")
	s.settle()

	write(t, path, "2")
	s.wait("the file written in the new directory")
}

func TestDirectoryRemovedAndRecreated(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "services")
	mkdir(t, dir)
	write(t, filepath.Join(dir, "a.json"), "{}")
	s := start(t, []string{dir}, Options{})

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.wait("the directory removed")
	s.settle()

	mkdir(t, dir)
	s.wait("the directory created again")
	s.settle()

	write(t, filepath.Join(dir, "b.json"), "{}")
	s.wait("a file in the new directory")
	s.settle()

	// Quickly, so that no re-sync may see the gap: the new directory must
	// be watched even if the kernel hands out the old inode number again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	mkdir(t, dir)
	s.wait("the directory replaced")
	s.settle()
	write(t, filepath.Join(dir, "c.json"), "{}")
	s.wait("a file in the replacing directory")
}

func TestDirectoryReplacedDuringCall(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "services")
	mkdir(t, dir)
	s := start(t, []string{dir}, Options{})

	// While the callback runs, events wait in the kernel, so by the time
	// Watch re-syncs, the new directory is in place; on file systems that
	// reuse inode numbers it has the old one's, and only fsnotify having
	// dropped the old watch tells them apart.
	s.hold.Lock()
	write(t, filepath.Join(dir, "a.json"), "{}")
	s.wait("a file written")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	mkdir(t, dir)
	s.hold.Unlock()
	s.wait("the directory replaced during the call")
	s.settle()

	write(t, filepath.Join(dir, "b.json"), "{}")
	s.wait("a file in the replacing directory")
}

func TestDirectorySymlinkSwap(t *testing.T) {
	root := t.TempDir()
	v1, v2 := filepath.Join(root, "v1"), filepath.Join(root, "v2")
	dir := filepath.Join(root, "services")
	mkdir(t, v1)
	write(t, filepath.Join(v1, "a.json"), "{}")
	symlink(t, "v1", dir)
	s := start(t, []string{dir}, Options{})

	// Preparing the new version is not a change yet.
	mkdir(t, v2)
	write(t, filepath.Join(v2, "b.json"), "{}")
	s.none("preparing v2")

	tmp := filepath.Join(root, "services.tmp")
	symlink(t, "v2", tmp)
	rename(t, tmp, dir)
	s.wait("the symlink swapped")
	s.settle()

	write(t, filepath.Join(v2, "c.json"), "{}")
	s.wait("a write inside the new target")
	s.settle()

	write(t, filepath.Join(v1, "d.json"), "{}")
	s.none("a write inside the old target")
}

func TestAncestorSymlinkSwap(t *testing.T) {
	// A release layout: the path goes through a "current" symlink higher
	// up than its own directory.
	root := t.TempDir()
	for _, r := range []string{"r1", "r2"} {
		mkdir(t, filepath.Join(root, "releases", r, "conf"))
		write(t, filepath.Join(root, "releases", r, "conf/kopf.json"), r)
	}
	symlink(t, "releases/r1", filepath.Join(root, "current"))
	// The ancestor is not watched: the re-check finds the swap.
	s := start(t, []string{filepath.Join(root, "current/conf/kopf.json")}, Options{Recheck: 100 * time.Millisecond})

	tmp := filepath.Join(root, "current.tmp")
	symlink(t, "releases/r2", tmp)
	rename(t, tmp, filepath.Join(root, "current"))
	s.wait("current swapped")
	s.settle()

	write(t, filepath.Join(root, "releases/r2/conf/kopf.json"), "r2'")
	s.wait("the new release's file written")
	s.settle()

	write(t, filepath.Join(root, "releases/r1/conf/kopf.json"), "r1'")
	s.none("the old release's file written")
}

func TestConfigMapFile(t *testing.T) {
	// The layout of a Kubernetes ConfigMap volume.
	root := t.TempDir()
	mkdir(t, filepath.Join(root, "..v1"))
	write(t, filepath.Join(root, "..v1/kopf.json"), "1")
	symlink(t, "..v1", filepath.Join(root, "..data"))
	symlink(t, "..data/kopf.json", filepath.Join(root, "kopf.json"))
	s := start(t, []string{filepath.Join(root, "kopf.json")}, Options{})

	// An update, step by step as the kubelet does it.
	mkdir(t, filepath.Join(root, "..v2"))
	write(t, filepath.Join(root, "..v2/kopf.json"), "2")
	symlink(t, "..v2", filepath.Join(root, "..data_tmp"))
	rename(t, filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data"))
	if err := os.RemoveAll(filepath.Join(root, "..v1")); err != nil {
		t.Fatal(err)
	}
	s.wait("..data swapped")
	s.settle()

	write(t, filepath.Join(root, "other.txt"), "x")
	s.none("an unrelated name in the same directory")

	// The file behind the links is watched where it now is.
	write(t, filepath.Join(root, "..v2/kopf.json"), "3")
	s.wait("the target file written in place")
}

func TestMaxDelay(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "kopf.json")
	s := start(t, []string{path}, Options{Debounce: 200 * time.Millisecond, MaxDelay: 300 * time.Millisecond})

	stop := make(chan struct{})
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		end := time.After(2 * time.Second)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-end:
				return
			case <-tick.C:
				if err := os.WriteFile(path, []byte{byte(i)}, 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-streamDone }()

	select {
	case <-s.calls:
	case <-streamDone:
		t.Fatal("no call while events kept coming")
	}
}

func TestCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	root := t.TempDir()
	path := filepath.Join(root, "kopf.json")
	calls := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, []string{path}, Options{Debounce: debounce}, func() { calls <- struct{}{} })
	}()
	select {
	case <-calls:
	case <-time.After(deadline):
		t.Fatal("no initial call")
	}

	// A burst is pending when ctx is cancelled: its call must not come.
	write(t, path, "x")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch returned %v, want %v", err, context.Canceled)
		}
	case <-time.After(deadline):
		t.Fatal("Watch did not return after cancel")
	}
	// changed runs on Watch's goroutine, so nothing may call it now.
	n := len(calls)
	write(t, path, "y")
	time.Sleep(quietWait)
	if len(calls) != n {
		t.Fatal("a call after Watch returned")
	}

	// Watch's goroutines and fsnotify's are gone.
	for end := time.Now().Add(deadline); runtime.NumGoroutine() > before; {
		if time.Now().After(end) {
			t.Fatalf("%d goroutines, %d before Watch", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCanceledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Watch(ctx, []string{t.TempDir()}, Options{}, func() { t.Error("changed called") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v, want %v", err, context.Canceled)
	}
}

func TestPlan(t *testing.T) {
	root := t.TempDir()
	mkdir(t, filepath.Join(root, "..v1"))
	symlink(t, "..v1", filepath.Join(root, "..data"))
	symlink(t, "..data/kopf.json", filepath.Join(root, "kopf.json"))
	p := makePlan([]string{filepath.Join(root, "kopf.json"), filepath.Join(root, "a/b/services")})

	byPath := map[string]*interest{}
	for _, in := range p {
		byPath[in.path] = in
	}
	in := byPath[root]
	if in == nil {
		t.Fatalf("%s not in the plan", root)
	}
	for _, name := range []string{"kopf.json", "..data", "..v1", "a"} {
		if !in.structural(name) {
			t.Errorf("%q in %s is not relevant", name, root)
		}
	}
	for _, name := range []string{"..data_tmp", "..v1_x"} {
		if !in.structural(name) {
			t.Errorf("%q in %s does not match a link's prefix", name, root)
		}
	}
	if in.structural("other") || in.all || !in.required {
		t.Errorf("%s: %+v", root, in)
	}
	// The file's directory behind the links, waiting for the missing file.
	if in := byPath[filepath.Join(root, "..v1")]; in == nil || !in.names["kopf.json"] || !in.required {
		t.Errorf("..v1: %+v", in)
	}
	// Nothing below the nearest existing ancestor, and nothing above the
	// directories the walks end in: ancestors are left to the re-check.
	if in := byPath[filepath.Join(root, "a")]; in != nil {
		t.Errorf("missing directory in the plan: %+v", in)
	}
	if in := byPath[filepath.Dir(root)]; in != nil {
		t.Errorf("ancestor %s in the plan: %+v", filepath.Dir(root), in)
	}
	if len(p) != 2 {
		t.Errorf("the plan watches %d directories, want %s and its ..v1", len(p), root)
	}
}

// Files written and removed beside the config's directory, as in a busy
// /tmp, reach no watch at all: fsnotify delivers nothing, so kopf is not
// woken.
func TestBusyAncestorDeliversNothing(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "conf")
	mkdir(t, conf)
	write(t, filepath.Join(conf, "kopf.json"), "{}")
	var events atomic.Int64
	s := start(t, []string{filepath.Join(conf, "kopf.json")}, Options{events: &events})
	s.settle()
	before := events.Load()
	for i := range 200 {
		p := filepath.Join(root, fmt.Sprintf("busy-%d", i%10))
		write(t, p, "x")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	s.none("files churning beside the config's directory")
	if n := events.Load() - before; n != 0 {
		t.Errorf("fsnotify delivered %d events for files beside the config's directory, want 0", n)
	}
	// The config's own directory still counts.
	write(t, filepath.Join(conf, "kopf.json"), "{\"jobs\": {}}")
	s.wait("the config written")
}

// A directory renamed into place above the config's directory is found by
// the re-check, with no watch on the ancestor.
func TestAncestorRenamedIntoPlace(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"app/conf", "app.new/conf"} {
		mkdir(t, filepath.Join(root, d))
		write(t, filepath.Join(root, d, "kopf.json"), d)
	}
	s := start(t, []string{filepath.Join(root, "app/conf/kopf.json")}, Options{Recheck: 100 * time.Millisecond})
	rename(t, filepath.Join(root, "app"), filepath.Join(root, "app.old"))
	rename(t, filepath.Join(root, "app.new"), filepath.Join(root, "app"))
	s.wait("the ancestor replaced")
	s.settle()
	write(t, filepath.Join(root, "app/conf/kopf.json"), "new")
	s.wait("the new directory's file written")
	s.settle()
	write(t, filepath.Join(root, "app.old/conf/kopf.json"), "old")
	s.none("the old directory's file written")
}
