package statuspage

import (
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/journal"
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
