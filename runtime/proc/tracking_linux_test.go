package proc_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/runtime/proc"
)

// A run is everything its process forks, a double-forked grandchild in a
// session of its own included: Stop ends all of it.
func TestStopEndsTheWholeRun(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {
		out := newLines()
		p := start(t, h, helperSpec(out,
			"spawn", "group", "10", "spawn", "setsid", "5", "ignoreterm", "pid", "gc", "sleep", "60s", "exit", "0",
			"say", "ready", "sleep", "60s"))
		out.waitFor(t, "ready")
		gc := out.waitForPid(t, "gc")
		waitUntil(t, "the grandchild to be an orphan of the Host", func() bool { return ppid(gc) == os.Getpid() })
		p.Stop(200 * time.Millisecond)
		e := wait(t, p)
		if e.Signal != syscall.SIGTERM || e.Leftovers != 1 {
			t.Errorf("Exit = %+v; want SIGTERM, with the grandchild as one leftover", e)
		}
		if s := state(gc); s != 0 && s != 'Z' {
			t.Errorf("the grandchild, which ignores SIGTERM, still runs after the Exit: the run's SIGKILL missed it")
		}
	})
}

// When a run's process ends, what it left is stopped — SIGTERM, then
// SIGKILL after LeftoverGrace — and the Exit counts it and comes after.
func TestLeftoversOfAnEndedRun(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {
		out := newLines()
		// The run ends once its three children are up (SIGUSR1 from the
		// test): a fixed sleep let a loaded machine end it before the
		// stubborn one had ignored SIGTERM.
		s := helperSpec(out, "onusr1",
			"spawn", "group", "5", "ignoreterm", "pid", "stubborn", "sleep", "60s",
			"spawn", "setsid", "4", "pid", "gc", "sleep", "60s",
			"spawn", "group", "4", "pid", "bg", "sleep", "60s",
			"waitusr1", "exit", "3")
		s.LeftoverGrace = 200 * time.Millisecond
		p := start(t, h, s)
		pids := []int{out.waitForPid(t, "stubborn"), out.waitForPid(t, "gc"), out.waitForPid(t, "bg")}
		if err := p.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		e := wait(t, p)
		if diff := cmp.Diff(proc.Exit{Pid: p.Pid(), Code: 3, Leftovers: 3}, e, ignoreUsage); diff != "" {
			t.Errorf("Exit mismatch (-want +got):\n%s", diff)
		}
		for _, pid := range pids {
			if s := state(pid); s != 0 && s != 'Z' {
				t.Errorf("leftover %d still runs after the Exit", pid)
			}
		}
		if cg := p.Cgroup(); cg != "" {
			if _, err := os.Stat(cg); err == nil {
				t.Errorf("the run's cgroup %s is still there after its Exit", cg)
			}
		}
	})
}

// KeepLeftovers leaves them running; they are kopf's orphans then, which
// KillOrphans ends, and the run's cgroup goes once they are gone.
func TestKeepLeftovers(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {
		out := newLines()
		s := helperSpec(out, "spawn", "setsid", "4", "pid", "daemon", "sleep", "60s", "sleep", "200ms", "exit", "0")
		s.KeepLeftovers = true
		p := start(t, h, s)
		daemon := out.waitForPid(t, "daemon")
		if diff := cmp.Diff(proc.Exit{Pid: p.Pid(), Kept: 1}, wait(t, p), ignoreUsage); diff != "" {
			t.Errorf("Exit mismatch (-want +got):\n%s", diff)
		}
		if !alive(daemon) {
			t.Fatalf("the kept leftover %d was stopped", daemon)
		}
		cg := p.Cgroup()
		if cg != "" {
			if _, err := os.Stat(cg); err != nil {
				t.Errorf("the cgroup of a run whose leftover runs is gone: %v", err)
			}
		}
		h.KillOrphans(time.Second)
		waitUntil(t, "the kept leftover to be stopped", func() bool { return gone(daemon) })
		if cg != "" {
			waitUntil(t, "the kept run's cgroup to be removed", func() bool { _, err := os.Stat(cg); return err != nil })
		}
	})
}

// A kept run stays listed by Kept, with its processes, under its Spec's
// Label, until StopKept ends it: SIGTERM, then SIGKILL after the grace
// for what ignores it. Then it is no longer listed.
func TestKeptRunsAreListedAndStopped(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {
		out := newLines()
		s := helperSpec(out,
			"spawn", "setsid", "4", "pid", "daemon", "sleep", "60s",
			"spawn", "group", "5", "ignoreterm", "pid", "stubborn", "sleep", "60s",
			"sleep", "200ms", "exit", "0")
		s.KeepLeftovers, s.Label = true, "job-nohup"
		p := start(t, h, s)
		daemon, stubborn := out.waitForPid(t, "daemon"), out.waitForPid(t, "stubborn")
		if e := wait(t, p); e.Kept != 2 {
			t.Fatalf("Exit = %+v, want 2 kept", e)
		}
		kept := h.Kept()
		if len(kept) != 1 || kept[0].Label != "job-nohup" || kept[0].Run != p.Run() {
			t.Fatalf("Kept() = %+v, want the run of job-nohup", kept)
		}
		var pids []int
		for _, f := range kept[0].Processes {
			pids = append(pids, f.PID)
			if f.Command == "" {
				t.Errorf("kept process %d has no command", f.PID)
			}
		}
		if !slices.Contains(pids, daemon) || !slices.Contains(pids, stubborn) {
			t.Errorf("Kept() lists pids %v, want %d and %d", pids, daemon, stubborn)
		}
		if n := h.StopKept("job-other", 100*time.Millisecond); n != 0 {
			t.Errorf("StopKept of another label signalled %d processes", n)
		}
		if n := h.StopKept("job-nohup", 300*time.Millisecond); n < 2 {
			t.Errorf("StopKept signalled %d processes, want both", n)
		}
		waitUntil(t, "the kept processes to end", func() bool { return gone(daemon) && gone(stubborn) })
		waitUntil(t, "the kept run to be forgotten", func() bool { return len(h.Kept()) == 0 })
	})
}

// Signal is for the run's process only: a SIGHUP to reload must not reach
// the children of a shell wrapper.
func TestSignalReachesTheProcessOnly(t *testing.T) {
	h := newHost(t)
	out := newLines()
	p := start(t, h, helperSpec(out,
		"spawn", "group", "6", "onusr1", "pid", "child", "waitusr1", "say", "child-got-usr1",
		"onusr1", "say", "ready", "waitusr1", "say", "parent-got-usr1", "sleep", "60s"))
	out.waitFor(t, "ready")
	out.waitForPid(t, "child")
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "parent-got-usr1")
	time.Sleep(50 * time.Millisecond) // a signal to the group would have reached the child by now
	for _, l := range out.stream("stdout") {
		if l == "child-got-usr1" {
			t.Errorf("Signal reached a child of the process")
		}
	}
}

// Every process gets KOPF_RUN, HOST/RUN; a KOPF_RUN of kopf's own (kopf
// run by kopf) is replaced.
func TestRunMarker(t *testing.T) {
	opts := testOptions()
	h := newHostIn(t, proc.Options{Name: opts.Name, NoCgroups: true})
	out := newLines()
	s := helperSpec(out, "env", proc.EnvRun)
	s.Env = append(s.Env, proc.EnvRun+"=outer/job-x@1")
	s.Label = "job-a b/ç"
	p := start(t, h, s)
	wait(t, p)
	want := opts.Name + "/" + p.Run()
	if diff := cmp.Diff([]string{want}, out.stream("stdout")); diff != "" {
		t.Errorf("KOPF_RUN mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(p.Run(), "job-a%20b%2F%C3%A7@") {
		t.Errorf("Run() = %q; want the label escaped, then @ and a number", p.Run())
	}
}

// Without a writable cgroup v2, or when told so, a Host tracks runs by
// session and says why.
func TestTrackingFallback(t *testing.T) {
	h, err := proc.NewHost(proc.Options{Name: testOptions().Name, Cgroup: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tr := h.Tracking()
	if tr.Cgroups || !strings.Contains(tr.Why, "is not a directory of a cgroup v2 file system") {
		t.Errorf("Tracking() with --cgroup on a tmp directory = %+v; want the fallback, saying why", tr)
	}
	p := start(t, h, helperSpec(nil, "exit", "0"))
	wait(t, p)
	if p.Cgroup() != "" {
		t.Errorf("Cgroup() = %q in the fallback", p.Cgroup())
	}
	h.Close()
	h = newHostIn(t, proc.Options{Name: testOptions().Name, NoCgroups: true})
	if tr := h.Tracking(); tr.Cgroups || !strings.Contains(tr.Why, "turned off") {
		t.Errorf("Tracking() with NoCgroups = %+v", tr)
	}
}

// With cgroups, each run has its own below the Host's, made before the
// start and removed after the end; --cgroup names where the Host's goes.
func TestCgroupPerRun(t *testing.T) {
	probe := newHostIn(t, testOptions())
	parent := filepath.Join(filepath.Dir(probe.Tracking().Dir), "kopf-test-parent-"+testOptions().Name)
	probe.Close()
	t.Cleanup(func() { os.Remove(parent) }) // after the Host's cleanup
	opts := testOptions()
	opts.Cgroup = parent
	h := newHostIn(t, opts)
	if dir := h.Tracking().Dir; dir != filepath.Join(parent, opts.Name) {
		t.Fatalf("Tracking().Dir = %q; want %q", dir, filepath.Join(parent, opts.Name))
	}
	out := newLines()
	s := helperSpec(out, "say", "ready", "sleep", "60s")
	s.Label = "proc-web"
	p := start(t, h, s)
	out.waitFor(t, "ready")
	cg := p.Cgroup()
	if filepath.Dir(cg) != h.Tracking().Dir || !strings.HasPrefix(filepath.Base(cg), "proc-web@") {
		t.Errorf("Cgroup() = %q; want proc-web@N below %s", cg, h.Tracking().Dir)
	}
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if diff := cmp.Diff([]string{strconv.Itoa(p.Pid())}, strings.Fields(string(b))); err != nil || diff != "" {
		t.Errorf("cgroup.procs of the run: %v (-want +got):\n%s", err, diff)
	}
	p.Stop(time.Second)
	wait(t, p)
	if _, err := os.Stat(cg); err == nil {
		t.Errorf("the run's cgroup %s is still there after its end", cg)
	}
}
