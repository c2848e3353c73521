package proc_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kopf/kopf/runtime/proc"
	"golang.org/x/sys/unix"
)

// patience is how long a test waits for something that must happen. A
// passing test never waits this long; it only bounds a failing one. Tests
// must not run in parallel: a Host is one per process, and its wait loop
// would steal the statuses exec.Cmd waits for.
const patience = 20 * time.Second

var self = func() string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe
}()

// helperSpec runs the test binary as a helper doing steps (see helper);
// out, when not nil, collects its output.
func helperSpec(out *lines, steps ...string) proc.Spec {
	s := proc.Spec{
		Argv: append([]string{self}, steps...),
		Env:  append(os.Environ(), helperEnv+"=1"),
	}
	if out != nil {
		s.Output = out.add
	}
	return s
}

// newHost makes a Host that is closed, and whose orphans are killed, when
// the test ends.
func newHost(t *testing.T) *proc.Host {
	t.Helper()
	h, err := proc.NewHost(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.KillOrphans(time.Second) // whatever a failed test left behind
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		removeCgroups(h)
	})
	return h
}

// removeCgroups removes what is left of a Host's cgroup once its
// processes are gone: a test that closes a Host with processes running
// leaves their cgroups behind, as a crashed kopf would.
func removeCgroups(h *proc.Host) {
	dir := h.Tracking().Dir
	if dir == "" {
		return
	}
	var dirs []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		for try := 0; try < 100 && os.Remove(dirs[i]) != nil; try++ {
			if _, err := os.Stat(dirs[i]); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond) // its last process is being reaped
		}
	}
}

// start starts s and makes sure, when the test ends, that it has ended.
func start(t *testing.T, h *proc.Host, s proc.Spec) *proc.Process {
	t.Helper()
	p, err := h.Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(0)
		select {
		case <-p.Done():
		case <-time.After(patience):
			t.Errorf("process %d never ended", p.Pid())
		}
	})
	return p
}

// ignoreUsage leaves out of a comparison of Exits what varies from run to
// run: when the process was reaped and what it used (TestExitUsage).
var ignoreUsage = cmpopts.IgnoreFields(proc.Exit{}, "Reaped", "Usage")

func wait(t *testing.T, p *proc.Process) proc.Exit {
	t.Helper()
	select {
	case e := <-p.Done():
		return e
	case <-time.After(patience):
		t.Fatalf("process %d: no Exit after %v", p.Pid(), patience)
		return proc.Exit{}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", patience, what)
		}
	}
}

// lines collects a process's output.
type lines struct {
	mu       sync.Mutex
	got      map[string][]string
	changed  chan struct{}
	inCall   atomic.Int32
	overlaps atomic.Int32 // calls that began while another was running
}

func newLines() *lines {
	return &lines{got: make(map[string][]string), changed: make(chan struct{}, 1)}
}

func (l *lines) add(stream, line string) {
	if l.inCall.Add(1) != 1 {
		l.overlaps.Add(1)
	}
	defer l.inCall.Add(-1)
	l.mu.Lock()
	l.got[stream] = append(l.got[stream], line)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *lines) stream(name string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got[name])
}

// waitFor returns the first stdout line that starts with prefix, without
// the prefix, once there is one.
func (l *lines) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(patience)
	for {
		for _, line := range l.stream("stdout") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("no stdout line %q after %v; got %q", prefix, patience, l.stream("stdout"))
		}
	}
}

func (l *lines) waitForPid(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(l.waitFor(t, name+" "))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// gone reports whether pid has no /proc entry: it ended and was reaped.
func gone(pid int) bool { return state(pid) == 0 }

// alive reports whether pid runs and has no SIGKILL pending.
func alive(pid int) bool {
	if s := state(pid); s == 0 || s == 'Z' || s == 'X' {
		return false
	}
	b, err := os.ReadFile(fmt.Sprint("/proc/", pid, "/status"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if k == "SigPnd" || k == "ShdPnd" {
			mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if mask&(1<<(syscall.SIGKILL-1)) != 0 {
				return false
			}
		}
	}
	return true
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprint("/proc/", pid, "/stat"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, _ := strconv.Atoi(f[1])
	return n
}

// ourZombies lists this process's children that are zombies.
func ourZombies() []int {
	var out []int
	for _, z := range zombies() {
		pid, _ := strconv.Atoi(z)
		if ppid(pid) == os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

func TestExitCodes(t *testing.T) {
	h := newHost(t)
	for _, code := range []int{0, 3} {
		p := start(t, h, helperSpec(nil, "exit", strconv.Itoa(code)))
		want := proc.Exit{Pid: p.Pid(), Code: code}
		if diff := cmp.Diff(want, wait(t, p), ignoreUsage); diff != "" {
			t.Errorf("exit %d: Exit mismatch (-want +got):\n%s", code, diff)
		}
		if e, ok := <-p.Done(); ok {
			t.Errorf("exit %d: Done delivered a second Exit %+v; want it closed", code, e)
		}
	}
}

func TestSignalKill(t *testing.T) {
	h := newHost(t)
	p := start(t, h, helperSpec(nil, "sleep", "60s"))
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	want := proc.Exit{Pid: p.Pid(), Code: 137, Signal: syscall.SIGKILL}
	if diff := cmp.Diff(want, wait(t, p), ignoreUsage); diff != "" {
		t.Errorf("Exit mismatch (-want +got):\n%s", diff)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after the exit = %v; want os.ErrProcessDone", err)
	}
	p.Stop(0) // harmless after the exit
}

func TestStartErrors(t *testing.T) {
	h := newHost(t)
	path := "PATH=" + os.Getenv("PATH")
	torDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(torDir, "tor.bin"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec proc.Spec
		is   error  // the error wraps this
		says string // and says this
	}{
		{"not in PATH", proc.Spec{Argv: []string{"kopf-no-such-command"}, Env: []string{path}}, exec.ErrNotFound, `"kopf-no-such-command"`},
		{"in dir, not in PATH", proc.Spec{Argv: []string{"tor.bin", "-f", "tor.rc"}, Dir: torDir, Env: []string{path}}, exec.ErrNotFound,
			`tor.bin is in ` + torDir + `: write ./tor.bin to run it from there`},
		{"no such file", proc.Spec{Argv: []string{"/kopf/no/such/file"}}, fs.ErrNotExist, "/kopf/no/such/file"},
		{"no such dir", proc.Spec{Argv: []string{self}, Dir: "/kopf/no/such/dir"}, fs.ErrNotExist, "/kopf/no/such/dir"},
		{"empty argv", proc.Spec{}, nil, "empty Argv"},
	} {
		p, err := h.Start(tc.spec)
		if err == nil {
			p.Signal(syscall.SIGKILL)
			t.Errorf("%s: Start succeeded; want an error", tc.name)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: Start error %q does not wrap %q", tc.name, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: Start error %q does not say %q", tc.name, err, tc.says)
		}
	}
}

// The command is looked up in the child's PATH, the last PATH of Env.
func TestStartLooksUpTheChildsPATH(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "kopf-helper")); err != nil {
		t.Fatal(err)
	}
	h := newHost(t)
	p := start(t, h, proc.Spec{
		Argv: []string{"kopf-helper", "exit", "4"},
		Env:  []string{helperEnv + "=1", "PATH=/kopf/no/such/dir", "PATH=" + dir},
	})
	if got := wait(t, p); got.Code != 4 {
		t.Errorf("Exit = %+v; want code 4", got)
	}
}

func TestOutput(t *testing.T) {
	h := newHost(t)
	out := newLines()
	p := start(t, h, helperSpec(out,
		"say", "a", "err", "x", "long", "65541", "say", "b", "err", "y",
		"long", "65536", "raw", "c", "rawerr", "z"))
	if got := wait(t, p); got.Code != 0 {
		t.Fatalf("Exit = %+v; want code 0", got)
	}
	// Exit comes after the pipes are drained: every line is in by now.
	x := strings.Repeat("x", 64<<10)
	want := map[string][]string{
		"stdout": {"a", x, "xxxxx", "b", x, "c"},
		"stderr": {"x", "y", "z"},
	}
	got := map[string][]string{"stdout": out.stream("stdout"), "stderr": out.stream("stderr")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Output mismatch (-want +got):\n%s", diff)
	}
	if n := out.overlaps.Load(); n != 0 {
		t.Errorf("%d Output calls overlapped another", n)
	}
}

// Spec.Stdin reaches the child, which then reads EOF; without it the child
// reads /dev/null.
func TestStdin(t *testing.T) {
	h := newHost(t)
	out := newLines()
	s := helperSpec(out, "cat", "say", "end")
	s.Stdin = []byte("one\ntwo\n")
	if got := wait(t, start(t, h, s)); got.Code != 0 {
		t.Fatalf("Exit = %+v", got)
	}
	if diff := cmp.Diff([]string{"one", "two", "end"}, out.stream("stdout")); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	out = newLines()
	if got := wait(t, start(t, h, helperSpec(out, "cat", "say", "end"))); got.Code != 0 {
		t.Fatalf("Exit = %+v", got)
	}
	if diff := cmp.Diff([]string{"end"}, out.stream("stdout")); diff != "" {
		t.Errorf("stdout without Stdin (-want +got):\n%s", diff)
	}
}

func TestStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore bool // child and grandchild ignore SIGTERM
		want   syscall.Signal
	}{
		{"exits on SIGTERM", false, syscall.SIGTERM},
		{"ignores SIGTERM", true, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			out := newLines()
			var steps []string
			if tc.ignore {
				steps = []string{"ignoreterm", "spawn", "group", "5", "ignoreterm", "pid", "grandchild", "sleep", "60s"}
			} else {
				steps = []string{"spawn", "group", "4", "pid", "grandchild", "sleep", "60s"}
			}
			p := start(t, h, helperSpec(out, append(steps, "say", "ready", "sleep", "60s")...))
			out.waitFor(t, "ready")
			grandchild := out.waitForPid(t, "grandchild")
			if tc.ignore {
				p.Stop(time.Hour)
				p.Stop(100 * time.Millisecond) // brings the SIGKILL forward
			} else {
				p.Stop(time.Hour)
			}
			// The grandchild may outlive its parent by a moment, a leftover
			// then; either way the Exit waits for it.
			want := proc.Exit{Pid: p.Pid(), Code: 128 + int(tc.want), Signal: tc.want}
			if diff := cmp.Diff(want, wait(t, p), cmpopts.IgnoreFields(proc.Exit{}, "Leftovers", "Reaped", "Usage")); diff != "" {
				t.Errorf("Exit mismatch (-want +got):\n%s", diff)
			}
			// The grandchild, in the same run, got the same signals, and the
			// Exit came once it had ended.
			if s := state(grandchild); s != 0 && s != 'Z' {
				t.Errorf("the grandchild is still running (state %c) after the Exit", s)
			}
			waitUntil(t, "the grandchild to be reaped", func() bool { return gone(grandchild) })
			p.Stop(0) // harmless after the exit
		})
	}
}

// Many processes that end at once, started from many goroutines while
// orphans end and are reaped, each get their own exit.
func TestConcurrentStartsWhileReapingOrphans(t *testing.T) {
	h := newHost(t)
	const direct, parents = 200, 40
	type result struct {
		name string
		p    *proc.Process
		err  error
	}
	results := make(chan result)
	for i := range direct + parents {
		go func() {
			code := i // all distinct, below 256
			s := helperSpec(nil, "exit", strconv.Itoa(code))
			if i >= direct { // leaves two orphans that end soon
				s = helperSpec(nil,
					"spawn", "group", "2", "exit", "0",
					"spawn", "setsid", "4", "sleep", "20ms", "exit", "1",
					"exit", strconv.Itoa(code))
				s.KeepLeftovers = true // left to end by themselves, as orphans
			}
			if i%2 == 0 {
				s.Output = func(string, string) {}
			}
			name := fmt.Sprint("process ", i)
			p, err := h.Start(s)
			if err != nil {
				results <- result{name, nil, err}
				return
			}
			select {
			case e := <-p.Done():
				want := proc.Exit{Pid: p.Pid(), Code: code}
				if diff := cmp.Diff(want, e, cmpopts.IgnoreFields(proc.Exit{}, "Kept", "Reaped", "Usage")); diff != "" {
					err = fmt.Errorf("Exit mismatch (-want +got):\n%s", diff)
				}
			case <-time.After(patience):
				err = fmt.Errorf("no Exit after %v", patience)
			}
			results <- result{name, p, err}
		}()
	}
	for range direct + parents {
		if r := <-results; r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
		}
	}
	waitUntil(t, "the orphans to end", func() bool { return len(h.Orphans()) == 0 })
	waitUntil(t, "no zombie children", func() bool { return len(ourZombies()) == 0 })
}

// A process's descendants that leave its session become orphans of kopf.
func TestOrphans(t *testing.T) {
	h := newHost(t)
	ours := start(t, h, helperSpec(nil, "sleep", "60s"))
	out := newLines()
	s := helperSpec(out,
		"spawn", "setsid", "8", "onusr1", "pid", "first", "waitusr1", "say", "late", "sleep", "60s",
		"spawn", "setsid", "5", "ignoreterm", "pid", "second", "sleep", "60s",
		"exit", "0")
	s.KeepLeftovers = true
	p := start(t, h, s)
	// The orphans hold the output pipes for a minute: Exit comes anyway.
	if got := wait(t, p); got.Code != 0 {
		t.Fatalf("Exit = %+v; want code 0", got)
	}
	first, second := out.waitForPid(t, "first"), out.waitForPid(t, "second")
	for _, pid := range []int{first, second} {
		if got := ppid(pid); got != os.Getpid() {
			t.Errorf("orphan %d has parent %d; want %d, the Host's process (a subreaper)", pid, got, os.Getpid())
		}
	}
	orphans := h.Orphans()
	if !slices.Contains(orphans, first) || !slices.Contains(orphans, second) || slices.Contains(orphans, ours.Pid()) {
		t.Errorf("Orphans() = %v; want %d and %d among them, and not %d, which the Host started", orphans, first, second, ours.Pid())
	}
	// Lines the orphans write after the Exit still reach Output.
	if err := unix.Kill(first, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "late")

	h.KillOrphans(100 * time.Millisecond)
	// second ignores SIGTERM: its end shows the SIGKILL after grace.
	waitUntil(t, "the orphans to be killed and reaped", func() bool { return gone(first) && gone(second) })
	if orphans := h.Orphans(); slices.Contains(orphans, first) || slices.Contains(orphans, second) {
		t.Errorf("Orphans() after KillOrphans = %v; want neither %d nor %d", orphans, first, second)
	}
	if !alive(ours.Pid()) {
		t.Errorf("KillOrphans killed %d, a process the Host started", ours.Pid())
	}
}

// When kopf is SIGKILLed, its children die too (Pdeathsig), however many
// goroutines called Start, and although those goroutines' threads ended.
func TestPdeathsig(t *testing.T) {
	h := newHost(t)
	out := newLines()
	d := start(t, h, helperSpec(out, "daemon", "6"))
	out.waitFor(t, "ready")
	children := fields(t, out.waitFor(t, "children "))
	tids := fields(t, out.waitFor(t, "tids "))
	control := out.waitForPid(t, "control")
	waitUntil(t, "the threads of the goroutines that called Start to end", func() bool {
		for _, tid := range tids {
			if _, err := os.Stat(fmt.Sprint("/proc/", d.Pid(), "/task/", tid)); err == nil {
				return false
			}
		}
		return true
	})
	// The control child shows that a child's Pdeathsig does fire when the
	// thread that forked it ends, so the check below can fail.
	waitUntil(t, "the control child to die with the thread that forked it", func() bool { return !alive(control) })
	for _, pid := range children {
		if !alive(pid) {
			t.Errorf("child %d died when the goroutine that called Start ended: it was not forked by the Host's own thread", pid)
		}
	}
	if err := d.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, d); got.Signal != syscall.SIGKILL {
		t.Fatalf("mini-daemon Exit = %+v; want killed by SIGKILL", got)
	}
	// Its children die of Pdeathsig and, reparented to us, are reaped.
	waitUntil(t, "the killed daemon's children to be gone", func() bool {
		return !slices.ContainsFunc(children, func(pid int) bool { return !gone(pid) })
	})
}

func fields(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// As PID 1 of a container, the Host reaps every orphan, and still delivers
// the exits of its own children.
func TestPID1(t *testing.T) {
	cmd := exec.Command(self, "init")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EINVAL, syscall.ENOSPC, syscall.EACCES, syscall.ENOSYS} {
			if errors.Is(err, errno) {
				t.Skipf("cannot make a PID namespace here: %v (%s)", err, unix.ErrnoName(errno))
			}
		}
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if cmd.ProcessState.ExitCode() == 77 {
			t.Skip(strings.TrimSpace(stdout.String()))
		}
		if err != nil {
			t.Fatalf("mini-init: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		}
	case <-time.After(2 * patience):
		cmd.Process.Kill()
		<-done
		t.Fatalf("mini-init still running after %v\nstdout:\n%s\nstderr:\n%s", 2*patience, &stdout, &stderr)
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var grandchild string
	if len(got) > 2 {
		grandchild = strings.Fields(got[2] + " ?")[1]
	}
	want := []string{
		"pid 1",
		"exit 5 0", // the direct child's status, not stolen by the orphan reaping
		"grandchild " + grandchild + " reaped",
		"zombies",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mini-init output mismatch (-want +got):\n%s\nstderr:\n%s", diff, &stderr)
	}
}

func TestHostLifecycle(t *testing.T) {
	h, err := proc.NewHost(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proc.NewHost(testOptions()); !errors.Is(err, proc.ErrHostOpen) {
		t.Errorf("second NewHost = %v; want ErrHostOpen", err)
	}
	p, err := h.Start(helperSpec(nil, "sleep", "60s"))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if _, err := h.Start(helperSpec(nil, "exit", "0")); !errors.Is(err, proc.ErrClosed) {
		t.Errorf("Start after Close = %v; want ErrClosed", err)
	}
	if err := p.Signal(syscall.SIGKILL); !errors.Is(err, proc.ErrClosed) {
		t.Errorf("Signal after Close = %v; want ErrClosed", err)
	}
	// Close leaves running processes alone: it does not end the thread they
	// were forked from, which would fire their Pdeathsig.
	time.Sleep(100 * time.Millisecond)
	if !alive(p.Pid()) {
		t.Errorf("process %d died when its Host was closed", p.Pid())
	}
	unix.Kill(p.Pid(), unix.SIGKILL)
	newHost(t) // a new Host may be made, and reaps the old one's process
	waitUntil(t, "the new Host to reap the old one's process", func() bool { return gone(p.Pid()) })
	removeCgroups(h)
}

func TestExitUsage(t *testing.T) {
	h := newHost(t)
	before := time.Now()
	p := start(t, h, helperSpec(nil, "hold", "64", "burn", "200ms", "exit", "0"))
	e := wait(t, p)
	after := time.Now()
	if e.Reaped.Before(before) || e.Reaped.After(after) {
		t.Errorf("reaped at %v, want between the start (%v) and the Exit's delivery (%v)", e.Reaped, before, after)
	}
	// It spun for 200 ms of wall time: on a loaded machine it may get less
	// CPU than that, but not nothing.
	if cpu := e.Usage.User + e.Usage.System; cpu < 20*time.Millisecond {
		t.Errorf("CPU time %v (user %v, system %v); want most of the 200ms it spun", cpu, e.Usage.User, e.Usage.System)
	}
	if e.Usage.MaxRSS < 64<<20 {
		t.Errorf("max RSS %d bytes; want at least the 64 MiB it touched", e.Usage.MaxRSS)
	}
}

// Processes begun one after another start in that order while their
// caller goes on, each with its own output and exit code, and each is
// returned by its own Wait.
func TestBeginMany(t *testing.T) {
	h := newHost(t)
	const n = 12
	outs := make([]*lines, n)
	var begun []*proc.Starting
	for i := range n {
		outs[i] = newLines()
		begun = append(begun, h.Begin(helperSpec(outs[i], "say", fmt.Sprintf("run %d", i), "exit", strconv.Itoa(i))))
	}
	var pids []int
	for i, st := range begun {
		p, err := st.Wait()
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if ex := wait(t, p); ex.Code != i {
			t.Errorf("run %d exited %d", i, ex.Code)
		}
		if got := outs[i].stream("stdout"); len(got) != 1 || got[0] != fmt.Sprintf("run %d", i) {
			t.Errorf("run %d wrote %q", i, got)
		}
		pids = append(pids, p.Pid())
	}
	if slices.Contains(pids, 0) || len(slices.Compact(slices.Sorted(slices.Values(pids)))) != n {
		t.Errorf("pids %v; want %d of their own", pids, n)
	}
}

// A start begun on a Host that is closing is answered: it fails with
// ErrClosed, or it has started; none waits for ever.
func TestBeginWhileClosing(t *testing.T) {
	h, err := proc.NewHost(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var begun []*proc.Starting
	for range 20 {
		begun = append(begun, h.Begin(helperSpec(nil, "exit", "0")))
	}
	closed := make(chan error)
	go func() { closed <- h.Close() }()
	var started []int
	for i, st := range begun {
		p, err := st.Wait()
		switch {
		case errors.Is(err, proc.ErrClosed):
		case err != nil:
			t.Errorf("start %d: %v; want it started or ErrClosed", i, err)
		default:
			started = append(started, p.Pid())
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := h.Begin(helperSpec(nil, "exit", "0")).Wait(); !errors.Is(err, proc.ErrClosed) {
		t.Errorf("Begin after Close = %v; want ErrClosed", err)
	}
	newHost(t) // reaps what the closed Host started
	for _, pid := range started {
		waitUntil(t, "a process started while closing to be reaped", func() bool { return gone(pid) })
	}
	removeCgroups(h)
}
