package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// End-to-end tests of the journal's use at start: one daemon per journal,
// a restart after SIGKILL that finds a process still running, a reused pid,
// a torn last line and catching up a missed fire.

// journalEvents reads the events of the journal at path.
func journalEvents(t *testing.T, path string) []journal.Event {
	t.Helper()
	var out []journal.Event
	err := journal.Read(path, 0, func(ev journal.Event, _ []byte) error {
		out = append(out, ev)
		return nil
	}, func(err error) { t.Errorf("journal: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ofType returns the events of type typ.
func ofType(evs []journal.Event, typ journal.EventType) []journal.Event {
	var out []journal.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// writeJournal writes events as a journal file.
func writeJournal(t *testing.T, path string, evs ...journal.Event) {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOneDaemonPerJournal(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	cfg := writeConfig(t, dir, "kopf.json", `{"procs": {"p": {"command": ["kopftest", "pid", "`+filepath.Join(dir, "p.pid")+`"]}}}`)
	first := startKopfWith(t, "--journal", jpath, cfg)
	waitFor(t, "the first kopf to run p", first, func() bool { return readPid(filepath.Join(dir, "p.pid")) != 0 })

	cmd := exec.Command("kopf", "run", "--log-format", "text", "--journal", jpath, cfg)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("a second kopf on the same journal exited %d, want 1; output:\n%s", code, out)
	}
	if want := fmt.Sprintf("in use by kopf pid %d", first.cmd.Process.Pid); !strings.Contains(string(out), want) {
		t.Errorf("the second kopf does not name the holder (%q):\n%s", want, out)
	}
	if strings.Contains(string(out), "start p") {
		t.Errorf("the second kopf started something:\n%s", out)
	}
	if code := first.stop(); code != 0 {
		t.Errorf("the first kopf exited %d", code)
	}
	evs := journalEvents(t, jpath)
	if n := len(ofType(evs, journal.Acquired)); n != 1 {
		t.Errorf("%d acquired events, want 1: the second kopf must not write", n)
	}
	if last := evs[len(evs)-1]; last.Type != journal.Quit {
		t.Errorf("the journal ends with %q, want quit", last.Type)
	}
}

func TestRestartStopsAProcessThePreviousKopfLeft(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	pidFile := filepath.Join(dir, "p.pid")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"procs": {"p": {"command": ["kopftest", "nodeathsig", "pid", %q], "stop-time": 2}}}`, pidFile))
	d := startKopfWith(t, "--journal", jpath, cfg)
	old := waitStarted(t, d, "p", pidFile, 0)
	killGuard(t, d.cmd.Process.Pid) // this tests the next start, not the guard
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d.done <- nil
	t.Cleanup(func() { killPid(old) })
	time.Sleep(50 * time.Millisecond) // a Pdeathsig, had it been set, is sent at once
	if !alive(old) {
		t.Fatal("the leftover died with kopf; the test needs it to survive")
	}

	d = startKopfWith(t, "--journal", jpath, cfg)
	fresh := waitStarted(t, d, "p", pidFile, old)
	if alive(old) {
		t.Errorf("the previous kopf's p (pid %d) still runs beside the new one (pid %d)", old, fresh)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	var found bool
	for _, ev := range ofType(journalEvents(t, jpath), journal.Leftover) {
		if ev.PID == old && ev.Unit == "p" && ev.Action == proc.LeftoverStopped {
			found = true
		}
	}
	if !found {
		t.Errorf("no leftover event says p (pid %d) was stopped; log:\n%s", old, d.stderr)
	}
}

func TestRestartLeavesAReusedPidAlone(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	// A process that has the pid the journal names, but started at another
	// time: the journal's process ended and its pid went to this one.
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	ticks, _ := proc.StartTicks(other.Process.Pid)
	// And one that matches a process of an earlier boot: pid and start
	// time repeat across boots.
	booted := exec.Command("sleep", "60")
	if err := booted.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { booted.Process.Kill(); booted.Wait() })
	bootedTicks, _ := proc.StartTicks(booted.Process.Pid)
	past := time.Now().Add(-time.Hour)
	writeJournal(t, jpath,
		journal.Event{Time: past, Type: journal.Acquired, PID: 1, BootID: "an-earlier-boot", JournalID: "0123456789abcdef"},
		journal.Event{Time: past, Type: journal.Spawned, Unit: "q", Kind: "proc", PID: booted.Process.Pid, StartTicks: bootedTicks},
		journal.Event{Time: past, Type: journal.Acquired, PID: 2, BootID: journal.BootID(), JournalID: "0123456789abcdef"},
		journal.Event{Time: past, Type: journal.Spawned, Unit: "p", Kind: "proc", PID: other.Process.Pid, StartTicks: ticks - 1},
	)
	cfg := writeConfig(t, dir, "kopf.json", `{}`)
	d := startKopfWith(t, "--journal", jpath, cfg)
	waitFor(t, "kopf to look at the leftover", d, func() bool { return d.logged("left alone") })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !alive(other.Process.Pid) || !alive(booted.Process.Pid) {
		t.Errorf("a process that is not the journal's was touched")
	}
	var got []string
	for _, ev := range ofType(journalEvents(t, jpath), journal.Leftover) {
		got = append(got, ev.Unit+": "+string(ev.Action))
	}
	if want := []string{"q: gone", "p: left alone"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("leftover events = %q, want %q", got, want)
	}
}

func TestRestartTruncatesATornLine(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	past := time.Now().Add(-time.Hour)
	writeJournal(t, jpath,
		journal.Event{Time: past, Type: journal.Acquired, PID: 1, BootID: journal.BootID(), JournalID: "0123456789abcdef"},
		journal.Event{Time: past, Type: journal.Source, Op: "add", Unit: "j", Kind: "job", File: "kopf.json"},
	)
	whole, _ := os.ReadFile(jpath)
	torn := `{"time":"2026-11-23T03:00:00Z","type":"spaw`
	if err := os.WriteFile(jpath, append(whole, torn...), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startKopfWith(t, "--journal", jpath, writeConfig(t, dir, "kopf.json", `{}`))
	waitFor(t, "kopf to run", d, func() bool { return d.logged("kopf running") })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	after, _ := os.ReadFile(jpath)
	if !strings.HasPrefix(string(after), string(whole)) {
		t.Errorf("the lines before the torn one changed:\n%s", after)
	}
	if strings.Contains(string(after), torn) {
		t.Errorf("the torn line is still there")
	}
	tr := ofType(journalEvents(t, jpath), journal.LogTruncated)
	if len(tr) != 1 || !strings.Contains(tr[0].Reason, fmt.Sprintf("(%d bytes)", len(torn))) {
		t.Errorf("log_truncated events = %+v, want one naming %d bytes", tr, len(torn))
	}
}

func TestCatchUpAfterDowntime(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	record := filepath.Join(dir, "record")
	// The previous daemon ran "hourly" and stopped two hours ago, so at
	// least one hourly fire passed while kopf was down; "fresh" is new.
	down := time.Now().Add(-2 * time.Hour)
	writeJournal(t, jpath,
		journal.Event{Time: down.Add(-time.Minute), Type: journal.Acquired, PID: 1, BootID: journal.BootID(), JournalID: "0123456789abcdef"},
		journal.Event{Time: down.Add(-time.Minute), Type: journal.Source, Op: "add", Unit: "hourly", Kind: "job", File: "kopf.json"},
		journal.Event{Time: down, Type: journal.Quit},
	)
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"jobs": {
		"hourly": {"command": ["kopftest", "record", %q, "hourly"], "schedule": "every 1h", "catch-up": "last"},
		"fresh": {"command": ["kopftest", "record", %q, "fresh"], "schedule": "every 1h", "catch-up": "last"}
	}}`, record, record))
	d := startKopfWith(t, "--journal", jpath, cfg)
	waitFor(t, "the catch-up run", d, func() bool { b, _ := os.ReadFile(record); return strings.Contains(string(b), "hourly") })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if b, _ := os.ReadFile(record); strings.Contains(string(b), "fresh") {
		t.Errorf("a job the previous daemon did not run was caught up")
	}
	cu := ofType(journalEvents(t, jpath), journal.CatchUp)
	lastHour := time.Now().Truncate(time.Hour)
	if len(cu) != 1 || cu[0].Unit != "hourly" || cu[0].At.After(time.Now()) || cu[0].At.Before(lastHour.Add(-time.Hour)) || !cu[0].At.After(down) {
		t.Errorf("catch_up events = %+v, want one for hourly at the latest hour boundary", cu)
	}
}

// A journal removed while kopf runs is back at its path at the next event,
// beginning with what kopf holds, so that a kopf started after a crash
// still knows the processes the removed file named.
func TestJournalRemovedWhileKopfRuns(t *testing.T) {
	dir := t.TempDir()
	jpath := filepath.Join(dir, "journal.jsonl")
	pidFile := filepath.Join(dir, "p.pid")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"procs": {"p": {"command": ["kopftest", "nodeathsig", "pid", %q]}},
		"jobs": {"tick": {"command": ["kopftest", "record", %q], "schedule": "every 1s"}}
	}`, pidFile, filepath.Join(dir, "ticks")))
	d := startKopfWith(t, "--journal", jpath, cfg)
	old := waitStarted(t, d, "p", pidFile, 0)
	t.Cleanup(func() { killPid(old) })
	if err := os.Remove(jpath); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the journal to be back", d, func() bool { _, err := os.Stat(jpath); return err == nil })
	waitFor(t, "kopf to say so", d, func() bool { return d.logged("was removed while kopf ran") })
	evs := journalEvents(t, jpath)
	if len(evs) < 2 || evs[0].Type != journal.State || evs[1].Type != journal.Warning {
		t.Fatalf("the new journal begins with %+v; want a state and a warning", evs[:min(2, len(evs))])
	}
	// tick may be running too, depending on when the state was written.
	if r := evs[0].Running; !slices.ContainsFunc(r, func(u journal.Proc) bool { return u.Unit == "p" && u.PID == old }) {
		t.Errorf("the new journal's state names %+v running; want p, pid %d, among them", r, old)
	}
	killGuard(t, d.cmd.Process.Pid) // the next start, from the new journal, is what is tested
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d.done <- nil
	d = startKopfWith(t, "--journal", jpath, cfg)
	waitStarted(t, d, "p", pidFile, old)
	if alive(old) {
		t.Errorf("p of the kopf whose journal was removed (pid %d) still runs", old)
	}
	d.stop()
}
