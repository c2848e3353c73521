package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// leftovertest are kopftest's commands that leave processes behind:
//
//	kopftest pt FILE                  write "PID TICKS" to FILE, then block
//	kopftest orphan FILE ARGS...      leave a double-forked grandchild in a
//	                                  session of its own doing "pt FILE",
//	                                  then do ARGS
//	kopftest bg FILE ARGS...          leave a child in this session doing
//	                                  "pt FILE", then do ARGS
//	kopftest check FILE RECORD LABEL ARGS...
//	                                  append "LABEL alive" to RECORD if the
//	                                  process FILE names still runs, else
//	                                  "LABEL gone"; then do ARGS
func leftovertest(args []string) (int, bool) {
	self, _ := os.Executable()
	start := func(setsid bool, argv ...string) *exec.Cmd {
		cmd := exec.Command(self, argv...)
		cmd.Args[0] = "kopftest"
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return cmd
	}
	switch args[0] {
	case "pt":
		ticks, _ := proc.StartTicks(os.Getpid())
		if err := os.WriteFile(args[1], fmt.Appendf(nil, "%d %d", os.Getpid(), ticks), 0o644); err != nil {
			return 1, true
		}
		select {}
	case "orphan":
		start(true, "middle", args[1]).Wait() // ends at once: its child is orphaned
		return kopftest(args[2:]), true
	case "middle":
		start(false, "pt", args[1])
		return 0, true
	case "bg":
		start(false, "pt", args[1])
		return kopftest(args[2:]), true
	case "ignoreterm": // "kopftest ignoreterm ARGS...": ignore SIGTERM, then do ARGS
		signal.Ignore(syscall.SIGTERM)
		return kopftest(args[1:]), true
	case "check":
		verdict := "gone"
		if pidTicksAlive(args[1]) {
			verdict = "alive"
		}
		f, err := os.OpenFile(args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 1, true
		}
		fmt.Fprintln(f, args[3], verdict)
		f.Close()
		return kopftest(args[4:]), true
	}
	return 0, false
}

// readPidTicks reads what "kopftest pt" wrote; 0s when nothing is there.
// killPid sends SIGKILL to pid, unless it is no process's: kill(0) and
// kill(-1) would reach this test's whole process group, or everyone.
func killPid(pid int) {
	if pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func readPidTicks(file string) (int, uint64) {
	b, _ := os.ReadFile(file)
	var pid int
	var ticks uint64
	fmt.Sscan(string(b), &pid, &ticks)
	return pid, ticks
}

// pidTicksAlive reports whether the process that file names runs, the
// same one: its pid with its start time.
func pidTicksAlive(file string) bool {
	pid, ticks := readPidTicks(file)
	if pid == 0 {
		return false
	}
	now, ok := proc.StartTicks(pid)
	return ok && now == ticks && alive(pid)
}

// A SIGKILLed kopf leaves a job's double-forked grandchild, which left the
// job's session, and a proc's background child. The next kopf on the same
// journal stops both before its own first run of each unit starts (each
// run checks, as its first act), and a clean stop leaves nothing of its
// own runs behind: with cgroups, and with sessions and KOPF_RUN.
func TestNoProcessOutlivesItsRun(t *testing.T) {
	for _, mode := range []struct{ name, cgroup, tracked string }{
		{"cgroups", "", "processes tracked by cgroup v2, one cgroup per run below "},
		{"sessions", "none", "processes tracked by sessions and process groups, not cgroups: cgroups are turned off (--cgroup none)"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			jpath := filepath.Join(dir, "journal.jsonl")
			f := func(name string) string { return filepath.Join(dir, name) }
			record := f("record")
			cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
				"jobs": {"j": {"command": ["kopftest", "check", %q, %q, "j", "orphan", %q, "pid", %q], "run-on-start": true}},
				"procs": {"p": {"command": ["kopftest", "check", %q, %q, "p", "bg", %q, "pid", %q], "stop-time": 2}}
			}`, f("gc"), record, f("gc"), f("j.pid"), f("bg"), record, f("bg"), f("p.pid")))
			sock := f("kopf.sock")
			args := []string{"--journal", jpath, "--socket", sock, cfg}
			if mode.cgroup != "" {
				args = append([]string{"--cgroup", mode.cgroup}, args...)
			}
			d := startKopfWith(t, args...)
			waitFor(t, "the first runs and what they leave", d, func() bool {
				return pidTicksAlive(f("gc")) && pidTicksAlive(f("bg")) && readPid(f("j.pid")) != 0 && readPid(f("p.pid")) != 0
			})
			gc, _ := readPidTicks(f("gc"))
			bg, _ := readPidTicks(f("bg"))
			t.Cleanup(func() { killPid(gc); killPid(bg) })
			evs := journalEvents(t, jpath)
			if mode.cgroup == "" && !strings.Contains(d.stderr.String(), "no cgroup for kopf's runs") {
				for _, ev := range ofType(evs, journal.Spawned) {
					if ev.Cgroup == "" {
						t.Errorf("spawned %s without a cgroup, though kopf did not say it has none", ev.Unit)
					}
				}
			} else if mode.cgroup == "" {
				t.Skipf("no cgroups here: %s", d.stderr)
			}
			// The guard first: what is tested here is what the next kopf
			// does when nothing stopped the runs (the guard killed too, or
			// a whole process group SIGKILLed).
			killGuard(t, d.cmd.Process.Pid)
			if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-d.done
			d.done <- nil
			waitFor(t, "the old runs' processes to die with kopf", nil, func() bool {
				return !alive(readPid(f("j.pid"))) && !alive(readPid(f("p.pid")))
			})
			if !pidTicksAlive(f("gc")) || !pidTicksAlive(f("bg")) {
				t.Fatal("a leftover died with kopf; the test needs them to outlive it")
			}
			os.Remove(f("j.pid"))
			os.Remove(f("p.pid"))

			d = startKopfWith(t, args...)
			waitFor(t, "the new runs", d, func() bool { return readPid(f("j.pid")) != 0 && readPid(f("p.pid")) != 0 })
			b, _ := os.ReadFile(record)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 4 {
				t.Fatalf("record:\n%s\nwant a line for each of the four runs", b)
			}
			slices.Sort(lines[2:])
			if diff := cmp.Diff([]string{"j gone", "p gone"}, lines[2:]); diff != "" {
				t.Errorf("what the new runs found as they started (-want +got):\n%s\nlog:\n%s", diff, d.stderr)
			}
			found := map[string][]int{}
			for _, ev := range ofType(journalEvents(t, jpath), journal.Leftover) {
				for _, p := range ev.Processes {
					found[ev.Unit] = append(found[ev.Unit], p.PID)
				}
			}
			if !slices.Contains(found["j"], gc) || !slices.Contains(found["p"], bg) {
				t.Errorf("leftover events found %v; want j's grandchild %d and p's child %d", found, gc, bg)
			}
			var gc2, bg2 int
			waitFor(t, "what the new runs leave", d, func() bool {
				gc2, _ = readPidTicks(f("gc"))
				bg2, _ = readPidTicks(f("bg"))
				// A file read while it is rewritten names no one (0): the
				// pids read are the ones checked.
				return gc2 > 0 && bg2 > 0 && gc2 != gc && bg2 != bg && pidTicksAlive(f("gc")) && pidTicksAlive(f("bg"))
			})
			t.Cleanup(func() { killPid(gc2); killPid(bg2) })
			if out, errs, _ := client(t, sock, "status"); !strings.Contains(out, mode.tracked) {
				t.Errorf("kopf status does not say %q:\n%s%s", mode.tracked, out, errs)
			}
			if code := d.stop(); code != 0 {
				t.Errorf("kopf exited %d; log:\n%s", code, d.stderr)
			}
			for name, file := range map[string]string{"the job's grandchild": f("gc"), "the proc's child": f("bg")} {
				if pidTicksAlive(file) {
					t.Errorf("%s still runs after kopf's clean stop", name)
				}
			}
		})
	}
}

// SIGTERM while kopf is still starting — here, waiting out a leftover's
// stop-time — stops it cleanly once it is done starting: exit 0, quit in
// the journal, and nothing of the config started.
func TestSIGTERMWhileStarting(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	f := func(name string) string { return filepath.Join(dir, name) }
	// The leftover: a session leader that ignores SIGTERM, as the journal
	// of a killed kopf names it.
	old := exec.Command(os.Args[0], "ignoreterm", "pt", f("old"))
	old.Args[0] = "kopftest"
	old.Path, _ = exec.LookPath("kopftest")
	old.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Process.Kill(); old.Wait() })
	waitFor(t, "the leftover to start", nil, func() bool { return pidTicksAlive(f("old")) })
	pid, ticks := readPidTicks(f("old"))
	past := time.Now().Add(-time.Minute)
	writeJournal(t, jpath,
		journal.Event{Time: past, Type: journal.Acquired, PID: 1, BootID: journal.BootID(), JournalID: "0123456789abcdef"},
		journal.Event{Time: past, Type: journal.Spawned, Unit: "p", Kind: "proc", PID: pid, StartTicks: ticks},
	)
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"procs": {"p": {"command": ["kopftest", "pid", %q], "stop-time": 4}}}`, f("p.pid")))
	d := startKopfWith(t, "--journal", jpath, cfg)
	time.Sleep(time.Second) // kopf waits up to 4 s for the leftover
	if code := d.stop(); code != 0 {
		t.Errorf("kopf exited %d after SIGTERM while starting; log:\n%s", code, d.stderr)
	}
	if !d.logged("stopped by a signal while starting") {
		t.Errorf("kopf does not say it stopped while starting:\n%s", d.stderr)
	}
	if _, err := os.Stat(f("p.pid")); err == nil {
		t.Errorf("kopf started p although it was told to stop")
	}
	evs := journalEvents(t, jpath)
	if last := evs[len(evs)-1]; last.Type != journal.Quit {
		t.Errorf("the journal ends with %q, want quit", last.Type)
	}
	if alive(pid) {
		t.Errorf("the leftover %d still runs", pid)
	}
}

// guardOf is the pid of kopf's guard, the child of daemon whose
// environment has KOPF_GUARD; 0 for none.
func guardOf(daemon int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", daemon))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", daemon, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			env, _ := os.ReadFile("/proc/" + f + "/environ")
			if strings.Contains("\x00"+string(env), "\x00KOPF_GUARD=") {
				pid, _ := strconv.Atoi(f)
				return pid
			}
		}
	}
	return 0
}

// killGuard SIGKILLs daemon's guard, and waits until it is gone.
func killGuard(t *testing.T, daemon int) {
	t.Helper()
	var g int
	waitFor(t, "kopf's guard", nil, func() bool { g = guardOf(daemon); return g != 0 })
	syscall.Kill(g, syscall.SIGKILL)
	waitFor(t, "kopf's guard gone", nil, func() bool { return !alive(g) })
}

// A SIGKILLed kopf's guard stops what its runs left at once — a job's
// double-forked grandchild in a session of its own, a proc's background
// child — rather than leaving them to the next start; a clean stop
// leaves no guard behind.
func TestGuardStopsADeadKopfsRuns(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"jobs": {"j": {"command": ["kopftest", "orphan", %q, "pid", %q], "run-on-start": true}},
		"procs": {"p": {"command": ["kopftest", "bg", %q, "pid", %q]}}
	}`, f("gc"), f("j.pid"), f("bg"), f("p.pid")))
	d := startKopfWith(t, "--cgroup", "none", cfg)
	waitFor(t, "the runs and what they leave", d, func() bool {
		return pidTicksAlive(f("gc")) && pidTicksAlive(f("bg")) && readPid(f("j.pid")) != 0 && readPid(f("p.pid")) != 0
	})
	gc, _ := readPidTicks(f("gc"))
	bg, _ := readPidTicks(f("bg"))
	t.Cleanup(func() { killPid(gc); killPid(bg) })
	guard := 0
	waitFor(t, "kopf's guard", d, func() bool { guard = guardOf(d.cmd.Process.Pid); return guard != 0 })
	killed := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d.done <- nil
	waitFor(t, "the guard to stop what the runs left", nil, func() bool { return !pidTicksAlive(f("gc")) && !pidTicksAlive(f("bg")) })
	t.Logf("the runs' leftovers were gone %s after kopf's SIGKILL", time.Since(killed).Round(time.Millisecond))
	waitFor(t, "the guard to end", nil, func() bool { return !alive(guard) })

	// A clean stop ends the guard and sweeps nothing: the next kopf's
	// runs are its own.
	d = startKopfWith(t, "--cgroup", "none", cfg)
	waitFor(t, "kopf's guard again", d, func() bool { guard = guardOf(d.cmd.Process.Pid); return guard != 0 })
	if code := d.stop(); code != 0 {
		t.Errorf("kopf exited %d:\n%s", code, d.stderr)
	}
	if alive(guard) {
		t.Error("the guard outlived kopf's clean stop")
	}
}
