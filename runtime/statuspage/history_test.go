package statuspage

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
)

// TestHistory keeps a day of runs, at most max, and forgets a removed
// unit's.
func TestHistory(t *testing.T) {
	h := NewHistory(24*time.Hour, 3)
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	code := 0
	run := func(unit string, pid int, start, end time.Time) {
		h.Observe(journal.Event{Type: journal.Spawned, Unit: unit, PID: pid, Time: start})
		h.Observe(journal.Event{Type: journal.Exited, Unit: unit, PID: pid, Time: end, Code: &code, Seconds: end.Sub(start).Seconds()})
	}
	run("a", 1, t0, t0.Add(time.Minute))
	run("b", 2, t0.Add(time.Hour), t0.Add(2*time.Hour))
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "a", PID: 3, Time: t0.Add(3 * time.Hour)})
	if got := h.Runs(t0.Add(-time.Hour), ""); len(got) != 3 || got[2].End.IsZero() != true || got[0].Outcome != "success" {
		t.Fatalf("runs %+v", got)
	}
	// A fourth run pushes out the oldest; a day later, what ended goes.
	run("c", 4, t0.Add(4*time.Hour), t0.Add(5*time.Hour))
	if got := h.Runs(t0.Add(-time.Hour), ""); len(got) != 3 || got[0].Unit != "b" {
		t.Errorf("after a fourth run: %+v", got)
	}
	h.Observe(journal.Event{Type: journal.Source, Op: "remove", Unit: "c", Time: t0.Add(30 * time.Hour)})
	got := h.Runs(time.Time{}, "")
	if len(got) != 1 || got[0].PID != 3 || !got[0].End.IsZero() {
		t.Errorf("a day later, with c removed: %+v; want only a's run that goes on", got)
	}
}

// TestHistoryLoad reads the runs of the daemons before this one from the
// journal: a run whose end is missing ended with its daemon, unknown.
func TestHistoryLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	lines := []string{
		`{"time":"2026-12-04T10:00:00Z","type":"acquired","pid":1}`,
		`{"time":"2026-12-04T10:00:01Z","type":"spawned","unit":"old","kind":"job","pid":5}`,
		`{"time":"2026-12-04T10:00:02Z","type":"exited","unit":"old","kind":"job","pid":5,"code":0,"seconds":1}`,
		`{"time":"2026-12-06T09:00:00Z","type":"spawned","unit":"a","kind":"job","pid":7}`,
		`{"time":"2026-12-06T09:00:03Z","type":"exited","unit":"a","kind":"job","pid":7,"code":2,"seconds":3}`,
		`{"time":"2026-12-06T10:00:00Z","type":"spawned","unit":"web","kind":"proc","pid":8}`,
		`{"time":"2026-12-06T10:30:00Z","type":"quit"}`,
		`{"time":"2026-12-06T11:00:00Z","type":"acquired","pid":2}`,
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(24*time.Hour, 100)
	if err := h.Load(path, now); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range h.Runs(now.Add(-24*time.Hour), "") {
		got = append(got, fmt.Sprintf("%s %s %s", r.Unit, r.Outcome, r.End.Format("15:04")))
	}
	if want := "a failure 09:00|web unknown 10:30"; strings.Join(got, "|") != want {
		t.Errorf("loaded %q, want %q (old is more than a day old)", strings.Join(got, "|"), want)
	}
}

// TestHistoryLoadLimit: of a journal whose recent part is larger than
// loadLimit (here a gigabyte of zeros after a run of a day ago, which the
// file system stores as a hole), Load reads back no further than the
// limit: it loads the runs there and says that it did not read the rest.
func TestHistoryLoadLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := `{"time":"2026-12-05T13:00:00Z","type":"spawned","unit":"old","kind":"job","pid":5}` + "\n"
	if _, err := f.WriteString(old); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(old)) + 1<<30); err != nil {
		t.Fatal(err)
	}
	recent := "\n" + `{"time":"2026-12-06T09:00:00Z","type":"spawned","unit":"a","kind":"job","pid":7}` + "\n" +
		`{"time":"2026-12-06T09:00:03Z","type":"exited","unit":"a","kind":"job","pid":7,"code":2,"seconds":3}` + "\n"
	if _, err := f.WriteAt([]byte(recent), int64(len(old))+1<<30); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(24*time.Hour, 100)
	err = h.Load(path, now)
	want := "the journal " + path + " holds more than 64 MiB of the last 24h0m0s: read its last 64 MiB only, and the page shows the runs in those"
	if err == nil || err.Error() != want {
		t.Errorf("Load returned %v, want %s", err, want)
	}
	var got []string
	for _, r := range h.Runs(now.Add(-24*time.Hour), "") {
		got = append(got, fmt.Sprintf("%s %s", r.Unit, r.Outcome))
	}
	if want := "a failure"; strings.Join(got, "|") != want {
		t.Errorf("loaded %q, want %q (old is before the limit)", strings.Join(got, "|"), want)
	}
}

// TestHistoryThroughALoad: the Source events of a load of many units do
// not fill the history's queue: the run whose end comes after them is
// there, ended.
func TestHistoryThroughALoad(t *testing.T) {
	h := NewHistory(24*time.Hour, 10)
	s := stream.New()
	h.Subscribe(s)
	now := time.Now()
	code := 0
	h.mu.Lock() // the history is busy: its queue fills
	s.Publish(journal.Event{Type: journal.Spawned, Unit: "a", PID: 1, Time: now})
	var load []journal.Event
	for i := range 10000 {
		load = append(load, journal.Event{Type: journal.Source, Unit: fmt.Sprintf("job%d", i), Op: "add"})
	}
	s.Publish(load...)
	s.Publish(journal.Event{Type: journal.Exited, Unit: "a", PID: 1, Time: now.Add(time.Second), Code: &code, Seconds: 1})
	if n := s.Missed("status page"); n != 0 {
		t.Errorf("the history's queue missed %d events", n)
	}
	h.mu.Unlock()
	s.Close()
	if got := h.Runs(now.Add(-time.Hour), ""); len(got) != 1 || got[0].End.IsZero() || got[0].Outcome != "success" {
		t.Errorf("runs %+v, want a's, ended with success", got)
	}
}

// TestHistoryAfterMissedEvents: when the history's queue overflowed, an
// open run whose process is gone is shown ended, outcome unknown (its end
// may have been among the events missed); one whose process runs stays
// open. Without missed events, open runs are left to their events.
func TestHistoryAfterMissedEvents(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(24*time.Hour, 10)
	s := stream.New()
	h.Subscribe(s)
	now := time.Now()
	s.Publish(journal.Event{Type: journal.Spawned, Unit: "a", PID: gone.Process.Pid, Time: now},
		journal.Event{Type: journal.Spawned, Unit: "b", PID: os.Getpid(), Time: now})
	s.Drain("status page")
	if got := h.Runs(now.Add(-time.Hour), "a"); len(got) != 1 || !got[0].End.IsZero() {
		t.Fatalf("before any miss, a's run %+v, want open", got)
	}
	h.mu.Lock() // the history is busy: its queue fills and overflows
	var fires []journal.Event
	for i := range 5000 {
		fires = append(fires, journal.Event{Type: journal.Fired, Unit: fmt.Sprintf("job%d", i), At: now})
	}
	s.Publish(fires...)
	h.mu.Unlock()
	s.Close()
	got := h.Runs(now.Add(-time.Hour), "")
	if len(got) != 2 || got[0].Outcome != "unknown" || got[0].End.IsZero() || !got[1].End.IsZero() {
		t.Errorf("after missed events: %+v, want a's run ended unknown and b's open", got)
	}
}

// TestHistoryOutcome: a run's outcome and its words come from its exited
// event: a timeout before the signal that ended it, a signal before a
// code, and the duration rounded to the millisecond.
func TestHistoryOutcome(t *testing.T) {
	zero, three := 0, 3
	for _, tc := range []struct {
		name    string
		exited  journal.Event
		outcome string
		how     string
	}{
		{"exit 0", journal.Event{Code: &zero, Seconds: 1}, "success", "exit 0 after 1s"},
		{"exit 3", journal.Event{Code: &three, Seconds: 0.25}, "failure", "exit 3 after 250ms"},
		{"rounded", journal.Event{Code: &zero, Seconds: 1.23456}, "success", "exit 0 after 1.235s"},
		{"signal", journal.Event{Signal: "SIGKILL", Seconds: 1.5}, "killed", "killed by SIGKILL after 1.5s"},
		{"signal from kopf stop", journal.Event{Signal: "SIGTERM", StoppedBy: journal.StoppedStop, Seconds: 2}, "killed", "killed by SIGTERM after 2s (stopped by stop)"},
		{"timeout", journal.Event{Signal: "SIGTERM", StoppedBy: journal.StoppedTimeout, Seconds: 30}, "timeout", "stopped at its timeout after 30s"},
		{"timeout, exited by itself", journal.Event{Code: &three, StoppedBy: journal.StoppedTimeout, Seconds: 30}, "timeout", "stopped at its timeout after 30s"},
		{"neither code nor signal", journal.Event{Seconds: 1}, "failure", "ended after 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory(24*time.Hour, 10)
			t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
			h.Observe(journal.Event{Type: journal.Spawned, Unit: "a", PID: 9, Time: t0})
			ex := tc.exited
			ex.Type, ex.Unit, ex.PID, ex.Time = journal.Exited, "a", 9, t0.Add(time.Minute)
			h.Observe(ex)
			got := h.Runs(t0.Add(-time.Hour), "a")
			if len(got) != 1 || got[0].Outcome != tc.outcome || got[0].How != tc.how || !got[0].End.Equal(t0.Add(time.Minute)) {
				t.Errorf("run %+v, want outcome %q, how %q, ended at %s", got, tc.outcome, tc.how, t0.Add(time.Minute))
			}
		})
	}
}

// TestHistorySpawnError: a unit that cannot start has a run that ends as
// it starts, with why; an exit of a process the history never saw start
// (its spawn before the page's window) adds nothing.
func TestHistorySpawnError(t *testing.T) {
	h := NewHistory(24*time.Hour, 10)
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	h.Observe(journal.Event{Type: journal.SpawnError, Unit: "a", Time: t0, Error: "exec: no such file"})
	code := 0
	h.Observe(journal.Event{Type: journal.Exited, Unit: "b", PID: 12, Time: t0, Code: &code})
	got := h.Runs(t0.Add(-time.Hour), "")
	if len(got) != 1 || got[0].Unit != "a" || got[0].Outcome != "spawn_error" || got[0].How != "cannot start: exec: no such file" ||
		!got[0].Start.Equal(t0) || !got[0].End.Equal(t0) {
		t.Errorf("runs %+v, want a's spawn error alone, ended at its start", got)
	}
}

// TestHistoryPIDReuse: a process ID the system gave again to a later run
// (PIDs wrap around within a day of busy jobs) must not cost the later
// run its end when the earlier run leaves the window or the cap.
func TestHistoryPIDReuse(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	code := 0
	for _, tc := range []struct {
		name    string
		max     int
		respawn time.Time // the later run with the same PID starts
	}{
		{"the earlier run leaves the day", 10, t0.Add(25 * time.Hour)},
		{"the earlier run leaves the cap", 1, t0.Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory(24*time.Hour, tc.max)
			h.Observe(journal.Event{Type: journal.Spawned, Unit: "a", PID: 7, Time: t0})
			h.Observe(journal.Event{Type: journal.Exited, Unit: "a", PID: 7, Time: t0.Add(time.Second), Code: &code, Seconds: 1})
			h.Observe(journal.Event{Type: journal.Spawned, Unit: "a", PID: 7, Time: tc.respawn})
			h.Observe(journal.Event{Type: journal.Exited, Unit: "a", PID: 7, Time: tc.respawn.Add(time.Second), Code: &code, Seconds: 1})
			got := h.Runs(t0.Add(-time.Hour), "a")
			if len(got) != 1 || !got[0].Start.Equal(tc.respawn) || got[0].Outcome != "success" {
				t.Errorf("runs %+v, want the later run alone, ended with success", got)
			}
		})
	}
}

// TestHistoryCapOfOpenRuns: runs beyond the cap go even while they run,
// and the history forgets their processes too: it does not keep a
// process for every run it dropped.
func TestHistoryCapOfOpenRuns(t *testing.T) {
	h := NewHistory(24*time.Hour, 2)
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for pid := 1; pid <= 5; pid++ {
		h.Observe(journal.Event{Type: journal.Spawned, Unit: "a", PID: pid, Time: t0.Add(time.Duration(pid) * time.Minute)})
	}
	got := h.Runs(time.Time{}, "")
	if len(got) != 2 || got[0].PID != 4 || got[1].PID != 5 {
		t.Errorf("runs %+v, want 4's and 5's", got)
	}
	h.mu.Lock()
	n := len(h.byPID)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("the history keeps %d processes, want 2", n)
	}
}

// TestHistoryTail keeps a unit's last tailLines output lines, hands out
// copies, and forgets them when the unit is removed.
func TestHistoryTail(t *testing.T) {
	h := NewHistory(24*time.Hour, 10)
	for i := range 60 {
		h.Output("a", "stdout", fmt.Sprint("line ", i))
	}
	h.Output("b", "stderr", "b's")
	got := h.Tail("a")
	if len(got) != 50 || got[0] != "line 10" || got[49] != "line 59" {
		t.Fatalf("a's tail has %d lines, %q … %q; want line 10 … line 59", len(got), got[0], got[len(got)-1])
	}
	got[0] = "changed"
	if again := h.Tail("a"); again[0] != "line 10" {
		t.Errorf("changing a returned tail changed the history's: %q", again[0])
	}
	if got := h.Tail("b"); len(got) != 1 || got[0] != "b's" {
		t.Errorf("b's tail %q", got)
	}
	h.Observe(journal.Event{Type: journal.Source, Op: "remove", Unit: "a", Time: time.Now()})
	if got := h.Tail("a"); len(got) != 0 {
		t.Errorf("a removed, its tail is %q", got)
	}
	if got := h.Tail("b"); len(got) != 1 {
		t.Errorf("a removed, b's tail is %q", got)
	}
}
