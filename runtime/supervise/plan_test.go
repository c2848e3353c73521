package supervise

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/job"
)

// TestPlanFires holds the tick's decision about fires, without a host:
// what is journaled and logged for each fire, by what the core made of it
// and what the job was doing.
func TestPlanFires(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	brief := func(p firePlan) []string {
		var out []string
		for _, ev := range p.events {
			s := fmt.Sprintf("%s %s/%s", ev.Type, ev.Unit, ev.Kind)
			if !ev.At.IsZero() {
				s += " at " + ev.At.Format("15:04")
			}
			if !ev.Start.IsZero() {
				s += " start " + ev.Start.Format("15:04:05")
			}
			if ev.Count > 0 {
				s += fmt.Sprintf(" x%d", ev.Count)
			}
			if ev.Reason != "" {
				s += ": " + ev.Reason
			}
			out = append(out, s)
		}
		for _, n := range p.notes {
			out = append(out, fmt.Sprintf("log %s %s", n.level, n.text))
		}
		if p.replace {
			out = append(out, "replace")
		}
		return out
	}
	cases := []struct {
		name          string
		fires         []job.Fire
		busy, waiting bool
		want          []string
	}{
		{"nothing", nil, false, false, nil},
		{"a fire that starts a run", []job.Fire{{Source: "s", At: t0, Start: t0, Note: "runs now"}}, false, false, []string{
			"fired j/job at 04:00", "log DEBUG runs now"}},
		{"jittered, three joined", []job.Fire{{Source: "s", At: t0, Start: t0.Add(7 * time.Second), Count: 3, Note: "runs"}}, false, false, []string{
			"fired j/job at 04:00 start 04:00:07 x3", "log DEBUG runs"}},
		{"while it runs", []job.Fire{{Source: "s", At: t0, Start: t0, Note: "queued"}}, true, false, []string{
			"fired j/job at 04:00", "queued j/job: queued", "log DEBUG queued"}},
		{"a second fire joins the first's run", []job.Fire{{Source: "a", At: t0, Start: t0, Note: "runs"}, {Source: "b", At: t0, Start: t0, Note: "joins"}}, false, false, []string{
			"fired j/job at 04:00", "fired j/job at 04:00", "skipped j/job: joins", "log DEBUG runs", "log DEBUG joins"}},
		{"skipped (overlap skip)", []job.Fire{{Source: "s", At: t0, Start: t0, Count: 2, Skipped: true, Note: "dropped"}}, true, false, []string{
			"fired j/job at 04:00 x2", "skipped j/job at 04:00 x2: dropped", "log INFO dropped"}},
		{"replace, with a catch-up dropped", []job.Fire{{Source: "s", At: t0, Start: t0, Replace: true, Dropped: []time.Time{t0.Add(-time.Hour)}, Note: "replaces"}}, true, false, []string{
			"fired j/job at 04:00", "queued j/job: replaces",
			"missed j/job at 03:00: its catch-up run was waiting when a fire replaced the running run (overlap: replace)",
			"log INFO replaces", "replace"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, brief(planFires("j", c.fires, c.busy, c.waiting))); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
