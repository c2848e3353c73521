package job

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
)

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// sec is t0 plus n seconds.
func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// trig is an outside trigger at a time.
type trig struct {
	at   int
	args []string
}

// simulate drives a job the way a runner does, from t0 until the end second,
// with runs lasting the given durations in turn (the last one repeats), and
// returns each start as "@second args [reasons]".
func simulate(t *testing.T, spec Spec, rnd func() float64, trigs []trig, durations []int, end int) []string {
	t.Helper()
	j := New(spec, t0, rnd)
	var out []string
	runEnd := -1
	k := 0
	for now := 0; now <= end; now++ {
		at := sec(now)
		if runEnd == now {
			j.Ended(at)
			runEnd = -1
		}
		for _, tr := range trigs {
			if tr.at == now {
				j.Trigger(at, tr.args, fmt.Sprintf("trigger@%d", now))
			}
		}
		for _, f := range j.Advance(at) {
			switch {
			case f.Skipped:
				out = append(out, fmt.Sprintf("@%d skipped %s", now, f.At.Sub(t0)))
			case f.Replace && runEnd >= 0:
				// The runner stops the run; here it ends at once.
				out = append(out, fmt.Sprintf("@%d replaced", now))
				j.Ended(at)
				runEnd = -1
			}
		}
		if r, ok := j.Due(at); ok {
			if runEnd >= 0 {
				t.Fatalf("second %d: a second run started while one runs", now)
			}
			out = append(out, fmt.Sprintf("@%d %v [%s]", now, r.Args, strings.Join(r.Reasons, "; ")))
			d := durations[min(k, len(durations)-1)]
			k++
			runEnd = now + d
		}
		// Wake must never be later than the next moment something is due.
		if w, ok := j.Wake(); ok && w.Before(at) {
			t.Fatalf("second %d: Wake() = %s is in the past", now, w)
		}
	}
	return out
}

func every(t *testing.T, src string) Source {
	s, err := compile.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return Source{Name: "schedule " + src, Schedule: s}
}

func TestNoOverlapQueuesOneRun(t *testing.T) {
	spec := Spec{Sources: []Source{every(t, "every 10s")}}
	got := simulate(t, spec, nil, nil, []int{25, 1}, 45)
	want := []string{
		"@10 [] [schedule every 10s fired at 2026-11-23T00:00:10Z]",
		// 20 and 30 fired while it ran: one run, right when it ends.
		"@35 [] [schedule every 10s fired at 2026-11-23T00:00:20Z; schedule every 10s fired at 2026-11-23T00:00:30Z]",
		"@40 [] [schedule every 10s fired at 2026-11-23T00:00:40Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTriggerArgumentsInArrivalOrder(t *testing.T) {
	trigs := []trig{{0, []string{"a"}}, {2, []string{"b", "c"}}, {3, nil}, {4, []string{"d"}}, {20, []string{"e"}}}
	got := simulate(t, Spec{}, nil, trigs, []int{10}, 40)
	want := []string{
		"@0 [a] [trigger@0]",
		"@10 [b c d] [trigger@2; trigger@3; trigger@4]",
		"@20 [e] [trigger@20]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIdle(t *testing.T) {
	spec := Spec{Idle: 5 * time.Second}
	// 0: first trigger, run at 5; 3 joins it; 6 arrives while it runs;
	// the run ends at 8, so the next starts idle after the end: 13.
	trigs := []trig{{0, []string{"a"}}, {3, []string{"b"}}, {6, []string{"c"}}, {10, []string{"d"}}}
	got := simulate(t, spec, nil, trigs, []int{3}, 30)
	want := []string{
		"@5 [a b] [trigger@0; trigger@3]",
		"@13 [c d] [trigger@6; trigger@10]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIdleAppliesToScheduleFires(t *testing.T) {
	spec := Spec{Sources: []Source{every(t, "every 20s")}, Idle: 3 * time.Second}
	got := simulate(t, spec, nil, nil, []int{1}, 45)
	want := []string{
		"@23 [] [schedule every 20s fired at 2026-11-23T00:00:20Z]",
		"@43 [] [schedule every 20s fired at 2026-11-23T00:00:40Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPeriodAndPause(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		durations []int
		want      []int
	}{
		{"period from start to start", Spec{Period: 30 * time.Second, RunOnStart: true}, []int{10}, []int{0, 30, 60, 90}},
		{"a long run delays the next start until it ends", Spec{Period: 30 * time.Second, RunOnStart: true}, []int{40, 5}, []int{0, 40, 70, 100}},
		{"pause from end to start", Spec{Pause: 10 * time.Second, RunOnStart: true}, []int{5}, []int{0, 15, 30, 45, 60, 75, 90}},
		{"pause slips the period's rhythm", Spec{Period: 30 * time.Second, Pause: 10 * time.Second, RunOnStart: true}, []int{25, 5}, []int{0, 35, 65, 95}},
		{"without run-on-start the rhythm starts one period in", Spec{Period: 30 * time.Second}, []int{1}, []int{30, 60, 90}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, s := range simulate(t, tt.spec, nil, nil, tt.durations, 100) {
				var n int
				fmt.Sscanf(s, "@%d", &n)
				got = append(got, n)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRandomIsDrawnEachRound(t *testing.T) {
	// kopf.md: {"random":3600,"period":3600} runs with one to two hours
	// between starts. The draws here are 0.5, then 0.25, then 0.
	draws := []float64{0.5, 0.25, 0}
	i := 0
	rnd := func() float64 { v := draws[i%len(draws)]; i++; return v }
	spec := Spec{Period: time.Hour, Random: time.Hour, RunOnStart: true}
	j := New(spec, t0, rnd)
	var starts []time.Duration
	now := t0
	for range 4 {
		r, ok := j.Due(now)
		if !ok {
			w, _ := j.Wake()
			now = w
			r, ok = j.Due(now)
			if !ok {
				t.Fatalf("not due at its wake time %s", now)
			}
		}
		starts = append(starts, r.Start.Sub(t0))
		now = now.Add(time.Minute)
		j.Ended(now)
	}
	want := []time.Duration{0, 90 * time.Minute, 90*time.Minute + 75*time.Minute, 90*time.Minute + 75*time.Minute + 60*time.Minute}
	if diff := cmp.Diff(want, starts); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
}

func TestPeriodicStartTakesQueuedTriggers(t *testing.T) {
	spec := Spec{Period: 20 * time.Second, Idle: 15 * time.Second, RunOnStart: true}
	// The trigger at 12 would run at 27, but the period comes first.
	got := simulate(t, spec, nil, []trig{{12, []string{"x"}}}, []int{2}, 30)
	want := []string{
		"@0 [] [run-on-start]",
		"@20 [x] [period: last start 2026-11-23T00:00:00Z, last end 2026-11-23T00:00:02Z; trigger@12]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRunOnStartWithSchedule(t *testing.T) {
	spec := Spec{Sources: []Source{every(t, "every 30s")}, RunOnStart: true, Idle: 10 * time.Second}
	got := simulate(t, spec, nil, nil, []int{1}, 40)
	want := []string{
		"@0 [] [run-on-start]", // not delayed by idle: nothing triggered it
		"@40 [] [schedule every 30s fired at 2026-11-23T00:00:30Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestScheduleArgs(t *testing.T) {
	src := every(t, "every 10s")
	src.Args = []string{"--from-cron", "a b;c"}
	got := simulate(t, Spec{Sources: []Source{src}}, nil, nil, []int{15, 1}, 30)
	want := []string{
		"@10 [--from-cron a b;c] [schedule every 10s fired at 2026-11-23T00:00:10Z]",
		"@25 [--from-cron a b;c] [schedule every 10s fired at 2026-11-23T00:00:20Z]",
		"@30 [--from-cron a b;c] [schedule every 10s fired at 2026-11-23T00:00:30Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMissedFiresJoinOneRunAndSaySo(t *testing.T) {
	j := New(Spec{Sources: []Source{every(t, "every 10m")}}, t0, nil)
	late := t0.Add(time.Hour + 5*time.Minute) // asleep for an hour
	fires := j.Advance(late)
	want := []Fire{{
		Source: "schedule every 10m", At: t0.Add(10 * time.Minute), Start: t0.Add(10 * time.Minute), Count: 6,
		Note: "schedule every 10m fired 6 times from 2026-11-23T00:10:00Z to 2026-11-23T01:05:00Z; the fires join one run: runs at 2026-11-23T01:05:00Z",
	}}
	if diff := cmp.Diff(want, fires); diff != "" {
		t.Errorf("fires (-want +got):\n%s", diff)
	}
	r, ok := j.Due(late)
	if !ok || len(r.Reasons) != 1 {
		t.Fatalf("Due = %+v, %v; want one run", r, ok)
	}
	if w, _ := j.Wake(); !w.Equal(t0.Add(70 * time.Minute)) {
		t.Errorf("next wake %s, want the next fire at 01:10", w)
	}
}

func TestTriggerNotes(t *testing.T) {
	j := New(Spec{Idle: 5 * time.Second}, t0, nil)
	got := []string{j.Trigger(t0, nil, "a"), j.Trigger(sec(1), nil, "b")}
	if _, ok := j.Due(sec(5)); !ok {
		t.Fatal("not due after idle")
	}
	got = append(got, j.Trigger(sec(6), nil, "c"))
	if diff := cmp.Diff([]string{"c"}, j.Queued()); diff != "" {
		t.Errorf("Queued() (-want +got):\n%s", diff)
	}
	want := []string{
		"a: runs at 2026-11-23T00:00:05Z",
		"b: joins the run queued for 2026-11-23T00:00:05Z",
		"c: queued; the job is running since 2026-11-23T00:00:05Z and runs again when it ends",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMaxArgs: a run collects at most MaxArgs trigger arguments, in the
// order they came, and counts the rest; the next run has room again. The
// reasons of thousands of triggers are listed up to a hundred, then
// counted.
func TestMaxArgs(t *testing.T) {
	j := New(Spec{MaxArgs: 5, RunOnStart: true}, t0, nil)
	if _, ok := j.Due(t0); !ok {
		t.Fatal("run-on-start did not run")
	}
	var notes []string
	for i := range 6000 {
		notes = append(notes, j.Trigger(t0, []string{fmt.Sprint(i), "x"}, fmt.Sprintf("t%d", i)))
	}
	if want := "t2 (1 of its arguments dropped: the run has max-trigger-args 5 already): queued; the job is running since 2026-11-23T00:00:00Z and runs again when it ends"; notes[2] != want {
		t.Errorf("the note of the trigger that fills the run:\n got %s\nwant %s", notes[2], want)
	}
	j.Ended(sec(1))
	r, ok := j.Due(sec(1))
	if !ok {
		t.Fatal("the triggered run is not due")
	}
	if diff := cmp.Diff([]string{"0", "x", "1", "x", "2"}, r.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if r.DroppedArgs != 2*6000-5 {
		t.Errorf("DroppedArgs = %d, want %d", r.DroppedArgs, 2*6000-5)
	}
	if len(r.Reasons) != 101 || r.Reasons[99] != "t99" || r.Reasons[100] != "and 5900 more triggers" {
		t.Errorf("%d reasons, ending %q; want the first 100 and a count", len(r.Reasons), r.Reasons[len(r.Reasons)-2:])
	}
	j.Ended(sec(2))
	j.Trigger(sec(2), []string{"a", "b"}, "again")
	if r, _ := j.Due(sec(2)); len(r.Args) != 2 || r.DroppedArgs != 0 {
		t.Errorf("the next run: args %q, dropped %d; want room again", r.Args, r.DroppedArgs)
	}
}

func TestTimeoutDeadline(t *testing.T) {
	j := New(Spec{Timeout: 2 * time.Hour, RunOnStart: true}, t0, nil)
	r, ok := j.Due(t0)
	if !ok || !r.Deadline.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("Due = %+v, %v; want a deadline two hours on", r, ok)
	}
	if _, ok := j.Due(t0); ok || !j.Running() {
		t.Error("a running job is due again")
	}
}

func TestWakeWithNothingToDo(t *testing.T) {
	j := New(Spec{}, t0, nil)
	if w, ok := j.Wake(); ok {
		t.Errorf("a job with no schedule, period or trigger wakes at %s", w)
	}
}

func TestTriggerNowSkipsIdle(t *testing.T) {
	j := New(Spec{Idle: time.Minute}, t0, nil)
	j.Trigger(t0, []string{"a"}, "trigger")
	if _, ok := j.Due(t0.Add(time.Second)); ok {
		t.Fatal("a trigger ran before idle passed")
	}
	j.TriggerNow(t0.Add(time.Second), []string{"b"}, "kopf start")
	r, ok := j.Due(t0.Add(time.Second))
	if !ok {
		t.Fatal("TriggerNow waited for idle")
	}
	if diff := cmp.Diff([]string{"a", "b"}, r.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	// While running, it queues like any trigger and starts at the end.
	j.TriggerNow(t0.Add(2*time.Second), nil, "kopf restart")
	if _, ok := j.Due(t0.Add(2 * time.Second)); ok {
		t.Fatal("a second run started while the first runs")
	}
	j.Ended(t0.Add(3 * time.Second))
	if _, ok := j.Due(t0.Add(3 * time.Second)); !ok {
		t.Error("the queued TriggerNow waited for idle after the end")
	}
}

func TestOverlapSkip(t *testing.T) {
	spec := Spec{Overlap: Skip, Sources: []Source{every(t, "every 10s")}}
	got := simulate(t, spec, nil, []trig{{at: 15, args: []string{"x"}}}, []int{25, 1}, 45)
	want := []string{
		"@10 [] [schedule every 10s fired at 2026-11-23T00:00:10Z]",
		"@20 skipped 20s", "@30 skipped 30s",
		// A trigger still queues: kopf.md collects its arguments.
		"@35 [x] [trigger@15]",
		"@40 [] [schedule every 10s fired at 2026-11-23T00:00:40Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
}

func TestOverlapReplace(t *testing.T) {
	spec := Spec{Overlap: Replace, Sources: []Source{every(t, "every 10s")}}
	got := simulate(t, spec, nil, nil, []int{25, 25, 1}, 35)
	want := []string{
		"@10 [] [schedule every 10s fired at 2026-11-23T00:00:10Z]",
		"@20 replaced", "@20 [] [schedule every 10s fired at 2026-11-23T00:00:20Z]",
		"@30 replaced", "@30 [] [schedule every 10s fired at 2026-11-23T00:00:30Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
}

// Catch-up runs are runs of their own, oldest first, before the run a fire
// queued meanwhile.
func TestCatchUpBacklog(t *testing.T) {
	j := New(Spec{Sources: []Source{every(t, "every 1h")}}, t0, nil)
	for i, h := range []int{-3, -2, -1} {
		note := j.CatchUp(t0, t0.Add(time.Duration(h)*time.Hour), []string{fmt.Sprint(h)}, fmt.Sprintf("catch-up %dh", h))
		if want := []string{"catch-up -3h: runs now", "catch-up -2h: runs after 1 earlier catch-up runs", "catch-up -1h: runs after 2 earlier catch-up runs"}[i]; note != want {
			t.Errorf("CatchUp note %q, want %q", note, want)
		}
	}
	j.Trigger(t0, []string{"t"}, "trigger")
	if got := j.Queued(); len(got) != 4 || got[0] != "catch-up -3h" || got[3] != "trigger" {
		t.Errorf("Queued() = %q", got)
	}
	var got []string
	for now := t0; len(got) < 4; now = now.Add(time.Minute) {
		r, ok := j.Due(now)
		if !ok {
			t.Fatalf("nothing due at %s; queued %q", now, j.Queued())
		}
		got = append(got, fmt.Sprintf("%v %s", r.Args, strings.Join(r.Reasons, "; ")))
		j.Ended(now.Add(30 * time.Second))
	}
	want := []string{"[-3] catch-up -3h", "[-2] catch-up -2h", "[-1] catch-up -1h", "[t] trigger"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

// A replacing fire drops the catch-up runs still waiting, and says which.
func TestReplaceDropsTheBacklog(t *testing.T) {
	j := New(Spec{Overlap: Replace, Sources: []Source{every(t, "every 10s")}}, t0, nil)
	j.CatchUp(t0, sec(-20), nil, "catch-up 1")
	j.CatchUp(t0, sec(-10), nil, "catch-up 2")
	if _, ok := j.Due(t0); !ok {
		t.Fatal("the first catch-up run is not due")
	}
	fires := j.Advance(sec(10))
	if len(fires) != 1 || !fires[0].Replace || len(fires[0].Dropped) != 1 || !fires[0].Dropped[0].Equal(sec(-10)) {
		t.Fatalf("Advance = %+v; want one replacing fire that drops the catch-up of -10s", fires)
	}
}

func TestParseOverlap(t *testing.T) {
	for _, s := range []string{"queue", "skip", "replace"} {
		if o, err := ParseOverlap(s); err != nil || o.String() != s {
			t.Errorf("ParseOverlap(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := ParseOverlap("both"); err == nil || err.Error() != `unknown overlap "both"; expected queue, skip or replace` {
		t.Errorf("ParseOverlap(both) = %v", err)
	}
}

// A source's jitter moves each fire's start by the same offset, and the
// fire is still reported at its schedule instant.
func TestJitteredFires(t *testing.T) {
	src := every(t, "every 1h")
	src.Jitter = 7 * time.Minute
	spec := Spec{Sources: []Source{src}}
	got := simulate(t, spec, nil, nil, []int{60}, 3*3600)
	want := []string{
		// Loaded at the 00:00 fire, whose start is still to come.
		"@420 [] [schedule every 1h fired at 2026-11-23T00:00:00Z]",
		"@4020 [] [schedule every 1h fired at 2026-11-23T01:00:00Z]",
		"@7620 [] [schedule every 1h fired at 2026-11-23T02:00:00Z]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
	// Loaded within a fire's jitter, the job still runs for that fire.
	j := New(spec, t0.Add(3*time.Minute), nil)
	if at, _ := j.NextFire(); !at.Equal(t0.Add(7 * time.Minute)) {
		t.Errorf("NextFire of a job loaded 3 min after a fire with 7 min jitter = %s; want 00:07", at)
	}
	fires := j.Advance(t0.Add(7 * time.Minute))
	if len(fires) != 1 || !fires[0].At.Equal(t0) || !fires[0].Start.Equal(t0.Add(7*time.Minute)) {
		t.Errorf("Advance = %+v; want the 00:00 fire, started at 00:07", fires)
	}
}

func TestSupersedeWaitsForTheOldRun(t *testing.T) {
	// A reload changes a running job: the old run is being stopped. The new
	// core must not start a run of its own until that one has ended, and
	// the end of the old run must not reset the new core's rhythm.
	old := New(Spec{Period: 30 * time.Second, RunOnStart: true}, t0, nil)
	if _, ok := old.Due(sec(0)); !ok {
		t.Fatal("the old core did not start")
	}
	j := Supersede(old, Spec{Period: 20 * time.Second, RunOnStart: true}, sec(5), nil)
	if r, ok := j.Due(sec(5)); ok {
		t.Fatalf("a second run started at %v while the old one runs", r.Start.Sub(t0))
	}
	j.Ended(sec(8))
	// The new spec's run-on-start, held back by the old run, is due now;
	// the old run's start does not move it to 0+20 s.
	if _, ok := j.Due(sec(8)); !ok {
		t.Fatal("no run once the old run ended")
	}
	j.Ended(sec(9))
	// Its own run sets the rhythm: 20 s from its start at 8.
	if _, ok := j.Due(sec(27)); ok {
		t.Error("periodic run before the new period elapsed")
	}
	if _, ok := j.Due(sec(28)); !ok {
		t.Error("no periodic run 20 s after the run that followed the old one")
	}
}

func TestSupersedeIdleCore(t *testing.T) {
	// Nothing running: the new core is New's.
	old := New(Spec{Period: 30 * time.Second}, t0, nil)
	j := Supersede(old, Spec{RunOnStart: true}, sec(3), nil)
	if r, ok := j.Due(sec(3)); !ok || !r.Start.Equal(sec(3)) {
		t.Fatalf("run-on-start after a reload: got %v, %v", r.Start, ok)
	}
}

func TestSupersedeQueuesTriggersBehindTheOldRun(t *testing.T) {
	old := New(Spec{}, t0, nil)
	old.Trigger(sec(0), nil, "trigger@0")
	if _, ok := old.Due(sec(0)); !ok {
		t.Fatal("the old core did not start")
	}
	j := Supersede(old, Spec{}, sec(1), nil)
	j.Trigger(sec(2), []string{"x"}, "trigger@2")
	if _, ok := j.Due(sec(2)); ok {
		t.Fatal("a trigger started a run while the old one runs")
	}
	j.Ended(sec(4))
	r, ok := j.Due(sec(4))
	if !ok {
		t.Fatal("the queued trigger did not run once the old run ended")
	}
	if diff := cmp.Diff([]string{"x"}, r.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
}

// A run says which schedule instants it is for: a cluster claims each, so
// the instants must be exactly those that joined the run, once each, and
// a run only a trigger or a period asked for claims none.
func TestRunFires(t *testing.T) {
	j := New(Spec{Sources: []Source{every(t, "every 10s"), every(t, "every 20s")}}, t0, nil)
	j.Advance(sec(10))
	r, _ := j.Due(sec(10))
	if want := []time.Time{sec(10)}; !cmp.Equal(r.Fires, want) || r.CatchUp {
		t.Errorf("first run: Fires %v CatchUp %v, want %v", r.Fires, r.CatchUp, want)
	}
	// While it runs, 20 (both sources at once) and 30 join the next run.
	j.Advance(sec(20))
	j.Advance(sec(30))
	j.Trigger(sec(31), nil, "trigger")
	j.Ended(sec(35))
	r, _ = j.Due(sec(35))
	if want := []time.Time{sec(20), sec(30)}; !cmp.Equal(r.Fires, want) {
		t.Errorf("queued run: Fires %v, want %v", r.Fires, want)
	}
	j.Ended(sec(36))
	j.Trigger(sec(37), nil, "trigger")
	if r, _ = j.Due(sec(37)); r.Fires != nil {
		t.Errorf("triggered run: Fires %v, want none", r.Fires)
	}
	j.Ended(sec(38))
	j.CatchUp(sec(38), sec(-50), nil, "catch-up")
	if r, _ = j.Due(sec(38)); !cmp.Equal(r.Fires, []time.Time{sec(-50)}) || !r.CatchUp {
		t.Errorf("catch-up run: Fires %v CatchUp %v, want [t0-50s] true", r.Fires, r.CatchUp)
	}
	j.Ended(sec(39))
	// A loop 25 s late: the fires it missed join one run, each claimed.
	j.Advance(sec(65))
	if r, _ = j.Due(sec(65)); !cmp.Equal(r.Fires, []time.Time{sec(40), sec(50), sec(60)}) {
		t.Errorf("late run: Fires %v, want 40, 50, 60 (and 40, 60 of the second source once)", r.Fires)
	}
}
