package proc_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/runtime/proc"
	"golang.org/x/sys/unix"
)

// inBothModes runs test twice, with a Host that tracks runs by cgroup and
// with one that tracks them by session, each made with opts; the cgroup
// one is skipped where the machine has no writable cgroup v2.
func inBothModes(t *testing.T, test func(t *testing.T, opts proc.Options, h *proc.Host)) {
	for _, mode := range []struct {
		name      string
		noCgroups bool
	}{{"cgroups", false}, {"sessions", true}} {
		t.Run(mode.name, func(t *testing.T) {
			opts := testOptions()
			opts.NoCgroups = mode.noCgroups
			test(t, opts, newHostIn(t, opts))
		})
	}
}

// newHostIn makes a Host with opts, closed and rid of its orphans when the
// test ends; with cgroups asked for and none to be had, the test is
// skipped.
func newHostIn(t *testing.T, opts proc.Options) *proc.Host {
	t.Helper()
	h, err := proc.NewHost(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.KillOrphans(time.Second)
		h.Close()
		removeCgroups(h)
	})
	if tr := h.Tracking(); !opts.NoCgroups && !tr.Cgroups {
		t.Skipf("no cgroups here: %s", tr.Why)
	}
	return h
}

// A daemon that was SIGKILLed left runs whose processes outlived it: a
// double-forked grandchild in a session of its own, a background child in
// the run's session, one that ignores SIGTERM, and a run the journal did
// not record. The next Host stops them all before it starts anything, and
// leaves alone a process that has a recorded pid but not its start time.
func TestStopLeftovers(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {

		type launched struct {
			p    *proc.Process
			left int // the pid of what it leaves behind
		}
		launch := func(label, name string, steps ...string) launched {
			t.Helper()
			out := newLines()
			s := helperSpec(out, append(steps, "say", "ready", "sleep", "60s")...)
			s.Label = label
			// Not start: its cleanup waits for an Exit that a closed
			// Host never delivers.
			p, err := h.Start(s)
			if err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, "ready")
			return launched{p, out.waitForPid(t, name)}
		}
		job := launch("job-backup", "gc", "spawn", "group", "9", "spawn", "setsid", "4", "pid", "gc", "sleep", "60s", "exit", "0")
		web := launch("proc-web", "bg", "spawn", "group", "4", "pid", "bg", "sleep", "60s")
		stubborn := launch("job-stubborn", "child", "spawn", "group", "5", "ignoreterm", "pid", "child", "sleep", "60s")
		hidden := launch("job-hidden", "gc", "spawn", "group", "9", "spawn", "setsid", "4", "pid", "gc", "sleep", "60s", "exit", "0")
		for _, l := range []launched{job, hidden} {
			waitUntil(t, "the double-forked grandchild's parent to end", func() bool { return ppid(l.left) == os.Getpid() })
		}
		other := exec.Command("sleep", "60")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		otherTicks, _ := proc.StartTicks(other.Process.Pid)
		// The crash: the Host ends without stopping anything, and the
		// runs' processes die as Pdeathsig would have them.
		record := func(l launched, unit, kind string) proc.Leftover {
			return proc.Leftover{Unit: unit, Kind: kind, PID: l.p.Pid(), StartTicks: l.p.StartTicks(), Run: l.p.Run(), Cgroup: l.p.Cgroup()}
		}
		recorded := []proc.Leftover{
			record(job, "backup", "job"),
			record(web, "web", "proc"),
			record(stubborn, "stubborn", "job"),
			{Unit: "old", Kind: "proc", PID: other.Process.Pid, StartTicks: otherTicks - 1},
		}
		hiddenRun := hidden.p.Run()
		h.Close()
		for _, l := range []launched{job, web, stubborn, hidden} {
			unix.Kill(l.p.Pid(), unix.SIGKILL)
		}
		for _, l := range []launched{job, web, stubborn, hidden} {
			waitUntil(t, "a killed run's process to die", func() bool { s := state(l.p.Pid()); return s == 0 || s == 'Z' })
		}
		h = newHostIn(t, opts)
		t.Cleanup(func() { other.Process.Kill(); other.Wait() })

		started := time.Now()
		got := h.StopLeftovers(recorded, func(unit string) time.Duration {
			if unit == "stubborn" {
				return 300 * time.Millisecond
			}
			return 10 * time.Second
		})
		if took := time.Since(started); took > 5*time.Second {
			t.Errorf("StopLeftovers took %v: the runs that end on SIGTERM must not wait for their grace", took)
		}
		type result struct {
			Unit, Kind, Run, Action string
			Found                   []int
		}
		var results []result
		for _, c := range got {
			r := result{Unit: c.Unit, Kind: c.Kind, Run: c.Run, Action: c.Action}
			for _, f := range c.Found {
				r.Found = append(r.Found, f.PID)
			}
			results = append(results, r)
		}
		want := []result{
			{"backup", "job", job.p.Run(), proc.LeftoverStopped, []int{job.left}},
			{"web", "proc", web.p.Run(), proc.LeftoverStopped, []int{web.left}},
			{"stubborn", "job", stubborn.p.Run(), proc.LeftoverKilled, []int{stubborn.left}},
			{"old", "proc", "", proc.LeftoverLeftAlone, nil},
			{"hidden", "job", hiddenRun, proc.LeftoverStopped, []int{hidden.left}},
		}
		if diff := cmp.Diff(want, results); diff != "" {
			t.Errorf("StopLeftovers mismatch (-want +got):\n%s", diff)
		}
		for _, l := range []launched{job, web, stubborn, hidden} {
			waitUntil(t, "the leftover to be reaped", func() bool { return gone(l.left) })
		}
		if !alive(other.Process.Pid) {
			t.Errorf("the process whose pid the journal names, with another start time, was signalled")
		}
		for _, c := range got {
			if c.Cgroup == "" {
				continue
			}
			if _, err := os.Stat(c.Cgroup); err == nil {
				t.Errorf("cgroup %s of a leftover run is still there", c.Cgroup)
			}
		}
		if tr := h.Tracking(); tr.Cgroups {
			entries, _ := os.ReadDir(tr.Dir)
			for _, e := range entries {
				if e.IsDir() {
					t.Errorf("the Host's cgroup still holds %s", filepath.Join(tr.Dir, e.Name()))
				}
			}
		}
	})
}

// A recorded run with nothing left is gone, and so is its cgroup.
func TestStopLeftoversGone(t *testing.T) {
	inBothModes(t, func(t *testing.T, opts proc.Options, h *proc.Host) {
		p := start(t, h, helperSpec(nil, "exit", "0"))
		wait(t, p)
		got := h.StopLeftovers([]proc.Leftover{{Unit: "j", Kind: "job", PID: p.Pid(), StartTicks: p.StartTicks(), Run: p.Run(), Cgroup: p.Cgroup()}},
			func(string) time.Duration { return time.Second })
		if len(got) != 1 || got[0].Action != proc.LeftoverGone || len(got[0].Found) != 0 {
			t.Errorf("StopLeftovers of an ended run = %+v; want one, gone", got)
		}
		if slices.ContainsFunc(got, func(c proc.Cleanup) bool { return c.Unit != "j" }) {
			t.Errorf("StopLeftovers found runs nobody left: %+v", got)
		}
	})
}

// A journal names cgroups, and a damaged or edited one may name any: a
// cgroup that is not a run's of this Host is left alone, whatever it holds.
func TestStopLeftoversTrustsNoOtherCgroup(t *testing.T) {
	h := newHostIn(t, testOptions())
	parent := filepath.Dir(h.Tracking().Dir)
	victim := filepath.Join(parent, "kopf-test-victim-"+testOptions().Name, "job-x@1")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(victim); os.Remove(filepath.Dir(victim)) })
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	if err := os.WriteFile(filepath.Join(victim, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	got := h.StopLeftovers([]proc.Leftover{{Unit: "x", Kind: "job", Cgroup: victim}, {Unit: "y", Kind: "job", Cgroup: parent}},
		func(string) time.Duration { return time.Second })
	for _, c := range got {
		if c.Action != proc.LeftoverLeftAlone || !strings.Contains(c.Reason, "not one of kopf's runs") {
			t.Errorf("StopLeftovers of %s = %s (%s); want left alone", c.Cgroup, c.Action, c.Reason)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if !alive(sleeper.Process.Pid) {
		t.Errorf("a process in a cgroup that is not kopf's was signalled")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("a cgroup that is not kopf's was removed: %v", err)
	}
}
