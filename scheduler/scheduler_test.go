package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
)

// Every test runs in a testing/synctest bubble: the clock is fake, starts
// at 2000-01-01T00:00:00Z, and only moves when every goroutine waits.

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// recorder collects events and run starts as "job@second".
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// starts returns the "started" events only.
func (r *recorder) starts() []string {
	var out []string
	for _, e := range r.get() {
		if strings.Contains(e, " started@") {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) onEvent(ev Event) {
	s := fmt.Sprintf("%s %s@%g", ev.Job, ev.Kind, ev.Time.Sub(epoch).Seconds())
	if ev.Err != nil {
		s += ": " + ev.Err.Error()
	}
	r.add("%s", s)
}

func at() float64 { return time.Since(epoch).Seconds() }

// sleepFor returns a Func that takes d (or until its context ends).
func sleepFor(d time.Duration) Func {
	return func(ctx context.Context) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func startScheduler(t *testing.T, rec *recorder, opts Options, jobs ...Job) *Scheduler {
	t.Helper()
	if rec != nil {
		opts.OnEvent = rec.onEvent
	}
	s := New(opts)
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	s.Start()
	return s
}

func stop(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestNoOverlapQueuesOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := startScheduler(t, rec, Options{}, Job{Name: "slow", Schedule: "every 10s", Func: sleepFor(24 * time.Second)})
		time.Sleep(31 * time.Second)
		synctest.Wait()
		st, _ := s.Status("slow")
		if !st.Running || len(st.Queued) != 2 {
			t.Errorf("at 31s: running %v, queued %q; want running with the fires of 20s and 30s queued", st.Running, st.Queued)
		}
		time.Sleep(30 * time.Second)
		stop(t, s)
		want := []string{
			"slow started@10",
			"slow queued@20", "slow queued@30",
			"slow ended@34", "slow started@34", // one run for both fires
			"slow queued@40", "slow queued@50",
			"slow ended@58", "slow started@58",
			"slow queued@60",
			"slow failed@61: context canceled", // Stop cancels it
		}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestRunOnStartAndInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := startScheduler(t, rec, Options{},
			Job{Name: "now", Interval: 20 * time.Second, RunOnStart: true, Func: sleepFor(5 * time.Second)},
			Job{Name: "later", Interval: 20 * time.Second, Func: sleepFor(5 * time.Second)})
		time.Sleep(50 * time.Second)
		stop(t, s)
		// An interval counts from start to start; without RunOnStart the
		// first run is one interval in.
		starts := rec.starts()
		want := []string{"now started@0", "later started@20", "now started@20", "later started@40", "now started@40"}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestTimeoutCancelsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := startScheduler(t, rec, Options{}, Job{Name: "t", Schedule: "every 1m", Timeout: 5 * time.Second, Func: sleepFor(time.Hour)})
		time.Sleep(70 * time.Second)
		stop(t, s)
		want := []string{"t started@60", "t failed@65: context deadline exceeded"}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		st, _ := s.Status("t")
		if !errors.Is(st.LastErr, context.DeadlineExceeded) || st.Fails != 1 {
			t.Errorf("status %+v", st)
		}
	})
}

func TestPanicIsRecoveredAndTheJobStaysScheduled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := 0
		s := startScheduler(t, rec, Options{}, Job{Name: "p", Schedule: "every 10s", Func: func(context.Context) error {
			n++
			if n == 1 {
				panic("boom")
			}
			return errors.New("plain error")
		}})
		time.Sleep(25 * time.Second)
		stop(t, s)
		want := []string{"p started@10", "p failed@10: panic: boom", "p started@20", "p failed@20: plain error"}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		st, _ := s.Status("p")
		if st.Runs != 2 || st.Fails != 2 || st.Next != epoch.Add(30*time.Second) {
			t.Errorf("status %+v", st)
		}
	})
}

func TestPanicErrorCarriesTheStack(t *testing.T) {
	err := call(context.Background(), func(context.Context) error { panic(42) })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != 42 || !strings.Contains(string(pe.Stack), "scheduler") {
		t.Errorf("call returned %#v", err)
	}
}

func TestReplaceWhileRunningNeverOverlaps(t *testing.T) {
	for _, block := range []bool{true, false} {
		t.Run(fmt.Sprintf("block=%v", block), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				var running, maxRunning int
				var mu sync.Mutex
				counted := func(name string, d time.Duration, ignoreCtx bool) Func {
					return func(ctx context.Context) error {
						mu.Lock()
						running++
						maxRunning = max(maxRunning, running)
						mu.Unlock()
						defer func() { mu.Lock(); running--; mu.Unlock() }()
						rec.add("%s ran@%g", name, at())
						if ignoreCtx {
							time.Sleep(d)
							return nil
						}
						return sleepFor(d)(ctx)
					}
				}
				s := startScheduler(t, nil, Options{StopGrace: 3 * time.Second},
					Job{Name: "j", Schedule: "every 1s", RunOnStart: true, Func: counted("old", 8*time.Second, true)})
				time.Sleep(2 * time.Second)
				err := s.Replace(Job{Name: "j", Schedule: "every 1s", RunOnStart: true, Func: counted("new", time.Second, false)}, block)
				replaced := at()
				switch {
				case block && (err != nil || replaced != 8):
					t.Errorf("blocking Replace returned %v at %gs, want nil once the old run ended at 8s", err, replaced)
				case !block && (!errors.Is(err, ErrStillRunning) || replaced != 5):
					t.Errorf("Replace returned %v at %gs, want ErrStillRunning after the 3s grace", err, replaced)
				}
				time.Sleep(12*time.Second - time.Since(epoch))
				stop(t, s)
				if maxRunning != 1 {
					t.Errorf("%d runs of the job overlapped", maxRunning)
				}
				got := rec.get()
				if len(got) < 2 || got[0] != "old ran@0" || got[1] != "new ran@8" {
					t.Errorf("runs %q: the new definition must start when the old run returns, at 8s", got)
				}
			})
		})
	}
}

func TestRemoveWaitsOrCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := startScheduler(t, nil, Options{StopGrace: 2 * time.Second},
			Job{Name: "polite", Schedule: "every 1m", RunOnStart: true, Func: sleepFor(time.Hour)},
			Job{Name: "busy", Schedule: "every 1m", RunOnStart: true, Func: sleepFor(10 * time.Second)})
		synctest.Wait()
		// Without waiting: cancelled, and it returns at once.
		if err := s.Remove("polite", false); err != nil || at() != 0 {
			t.Errorf("Remove(polite, false) = %v at %gs", err, at())
		}
		// Waiting: until the run returns by itself at 10s.
		if err := s.Remove("busy", true); err != nil || at() != 10 {
			t.Errorf("Remove(busy, true) = %v at %gs, want nil at 10s", err, at())
		}
		if err := s.Remove("busy", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Remove = %v, want ErrNotFound", err)
		}
		if len(s.Statuses()) != 0 {
			t.Errorf("jobs left: %v", s.Statuses())
		}
		time.Sleep(2 * time.Minute)
		stop(t, s) // nothing ran after the removals: Stop has nothing to wait for
	})
}

func TestStopCancelsEveryRunAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ended []string
		var mu sync.Mutex
		stubborn := func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(3 * time.Second) // cleans up before returning
			mu.Lock()
			ended = append(ended, fmt.Sprintf("stubborn@%g", at()))
			mu.Unlock()
			return nil
		}
		s := startScheduler(t, nil, Options{},
			Job{Name: "a", Schedule: "every 1m", RunOnStart: true, Func: sleepFor(time.Hour)},
			Job{Name: "b", Schedule: "every 1m", RunOnStart: true, Func: stubborn})
		time.Sleep(time.Second)
		stop(t, s)
		if at() != 4 || len(ended) != 1 {
			t.Errorf("Stop returned at %gs with %v ended; want 4s, after the stubborn run", at(), ended)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		if err := s.Add(Job{Name: "late", Interval: time.Second, Func: sleepFor(0)}); !errors.Is(err, ErrStopped) {
			t.Errorf("Add after Stop = %v", err)
		}
	})
}

func TestStopGivesUpWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := startScheduler(t, nil, Options{}, Job{Name: "deaf", Interval: time.Hour, RunOnStart: true,
			Func: func(context.Context) error { <-release; return nil }})
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop = %v, want the context's deadline", err)
		}
		close(release)
		stop(t, s)
	})
}

func TestConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		var jobs []Job
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			jobs = append(jobs, Job{Name: name, Schedule: "every 1m", Func: sleepFor(10 * time.Second)})
		}
		s := startScheduler(t, rec, Options{Limit: 2}, jobs...)
		time.Sleep(65 * time.Second)
		synctest.Wait()
		waiting, _ := s.Status("e")
		stop(t, s)
		starts := rec.starts()
		// All five are due at 60; two slots: a and b, then c and d at 70,
		// e at 80 (stopped at 65, so e never ran here).
		want := []string{"a started@60", "b started@60"}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if n := len(waiting.Queued); n != 2 || !strings.Contains(waiting.Queued[n-1], "waiting for a free slot: 2 of 2 running") {
			t.Errorf("status of a job waiting for a slot: %+v", waiting)
		}
	})
}

func TestLimitHandsFreedSlotsToTheLongestWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := startScheduler(t, rec, Options{Limit: 1},
			Job{Name: "z-early", Schedule: "every 1m @ 5s", Func: sleepFor(time.Second)},
			Job{Name: "a-late", Schedule: "every 1m @ 10s", Func: sleepFor(time.Second)},
			Job{Name: "hog", Schedule: "every 1m", Func: sleepFor(20 * time.Second)})
		time.Sleep(90 * time.Second)
		stop(t, s)
		starts := rec.starts()
		// hog holds the only slot from 60 to 80; z-early (due at 65) has
		// waited longer than a-late (due at 70), whatever their names.
		want := []string{"z-early started@5", "a-late started@10", "hog started@60", "z-early started@80", "a-late started@81"}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestStatusAndTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loc, _ := compile.LoadLocation("Europe/Berlin")
		sched, err := compile.ParseIn("0 9 * * *", loc)
		if err != nil {
			t.Fatal(err)
		}
		s := startScheduler(t, nil, Options{}, Job{Name: "c", Compiled: sched, Func: sleepFor(time.Second)})
		st, ok := s.Status("c")
		if !ok || !st.Next.Equal(time.Date(2000, 1, 1, 9, 0, 0, 0, loc)) || st.Running || !st.LastStart.IsZero() {
			t.Errorf("status before any run: %+v", st)
		}
		if err := s.Trigger("c"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		st, _ = s.Status("c")
		if !st.Running || !st.LastStart.Equal(epoch) {
			t.Errorf("status after Trigger: %+v", st)
		}
		time.Sleep(2 * time.Second)
		st, _ = s.Status("c")
		if st.Running || st.Runs != 1 || !st.LastEnd.Equal(epoch.Add(time.Second)) || st.LastErr != nil {
			t.Errorf("status after the run: %+v", st)
		}
		if err := s.Trigger("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Trigger(nope) = %v", err)
		}
		stop(t, s)
	})
}

func TestAddChecksTheJob(t *testing.T) {
	s := New(Options{})
	f := func(context.Context) error { return nil }
	tests := []struct {
		job  Job
		want string
	}{
		{Job{Schedule: "* * * * *", Func: f}, "scheduler: a job needs a Name and a Func"},
		{Job{Name: "x", Func: f}, `scheduler: job "x": set exactly one of Schedule, Compiled and Interval`},
		{Job{Name: "x", Schedule: "* * * * *", Interval: time.Second, Func: f}, `scheduler: job "x": set exactly one of Schedule, Compiled and Interval`},
		{Job{Name: "x", Schedule: "every 1h @ 70m", Func: f}, `scheduler: job "x": schedule "every 1h @ 70m": 1:12: @ 70m is outside the unit of "every 1h": it must be less than 1h`},
	}
	for _, tt := range tests {
		if err := s.Add(tt.job); err == nil || err.Error() != tt.want {
			t.Errorf("Add(%+v) = %v, want %s", tt.job, err, tt.want)
		}
	}
	if err := s.Add(Job{Name: "x", Interval: time.Second, Func: f}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "x", Interval: time.Second, Func: f}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate Add = %v", err)
	}
	if err := s.Replace(Job{Name: "y", Interval: time.Second, Func: f}, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replace of an unknown job = %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
}

// A job's DST policy replaces cronie's rule: New York sprang forward on
// 2000-04-02 at 07:00Z, and 02:30 did not exist that night.
func TestDSTPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ny, err := compile.LoadLocation("America/New_York")
		if err != nil {
			t.Skip(err)
		}
		rec := &recorder{}
		nop := func(context.Context) error { return nil }
		s := startScheduler(t, rec, Options{Location: ny},
			Job{Name: "cronie", Schedule: "30 2 * * *", Func: nop},
			Job{Name: "skip", Schedule: "30 2 * * *", Func: nop, DST: compile.DST{Gap: compile.GapSkip}})
		time.Sleep(time.Date(2000, 4, 3, 0, 0, 0, 0, time.UTC).Sub(epoch))
		stop(t, s)
		day := time.Date(2000, 4, 2, 0, 0, 0, 0, time.UTC).Sub(epoch).Seconds()
		var that []string
		for _, e := range rec.starts() {
			var name string
			var sec float64
			fmt.Sscanf(strings.Replace(e, " started@", " ", 1), "%s %g", &name, &sec)
			if sec >= day && sec < day+86400 {
				that = append(that, fmt.Sprintf("%s at %s", name, epoch.Add(time.Duration(sec)*time.Second).Format("15:04Z")))
			}
		}
		if diff := cmp.Diff([]string{"cronie at 07:00Z"}, that); diff != "" {
			t.Errorf("starts on 2000-04-02 (-want +got):\n%s", diff)
		}
	})
}

func TestOverlapPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := startScheduler(t, rec, Options{},
			Job{Name: "skip", Schedule: "every 10s", Func: sleepFor(25 * time.Second), Overlap: OverlapSkip},
			Job{Name: "replace", Schedule: "every 10s", Func: sleepFor(25 * time.Second), Overlap: OverlapReplace})
		time.Sleep(35 * time.Second)
		stop(t, s)
		var got []string
		for _, e := range rec.get() {
			if strings.HasPrefix(e, "skip ") {
				got = append(got, e)
			}
		}
		want := []string{"skip started@10", "skip skipped@20", "skip skipped@30", "skip ended@35"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("skip's events (-want +got):\n%s", diff)
		}
		var replace []string
		for _, e := range rec.get() {
			if strings.HasPrefix(e, "replace ") && !strings.Contains(e, "queued") {
				replace = append(replace, e)
			}
		}
		// Each fire cancels the running run, which returns at once, and
		// starts its own.
		wantReplace := []string{
			"replace started@10",
			"replace failed@20: context canceled", "replace started@20",
			"replace failed@30: context canceled", "replace started@30",
			"replace failed@35: context canceled",
		}
		if diff := cmp.Diff(wantReplace, replace); diff != "" {
			t.Errorf("replace's events (-want +got):\n%s", diff)
		}
	})
}

// A jittered job starts at its stable offset after each fire: the one a
// daemon's job of the same name and seed has.
func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		nop := func(context.Context) error { return nil }
		s := startScheduler(t, rec, Options{JitterSeed: "s"}, Job{Name: "sync", Schedule: "every 1h", Jitter: time.Hour, Func: nop})
		time.Sleep(2*time.Hour + time.Second)
		stop(t, s)
		off := compile.JitterOffset("s/sync", time.Hour)
		want := []string{fmt.Sprintf("sync started@%g", off.Seconds()), fmt.Sprintf("sync started@%g", (time.Hour + off).Seconds())}
		if diff := cmp.Diff(want, rec.starts()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}
