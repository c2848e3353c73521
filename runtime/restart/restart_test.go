package restart

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

var cronmon = []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute}

func TestProcBackoffAndIdle(t *testing.T) {
	tests := []struct {
		name    string
		backoff []time.Duration
		idle    time.Duration
		runs    []time.Duration
		want    []time.Duration // restart delay after each exit, from the exit
	}{
		{
			name:    "crash loop walks the list, last entry repeats",
			backoff: cronmon,
			runs:    []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second},
			want:    []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute, time.Minute},
		},
		{
			name:    "idle keeps starts apart when backoff is shorter",
			backoff: cronmon,
			idle:    10 * time.Second,
			runs:    []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second},
			// 0s backoff but idle 10s from the start: 8s; 5s vs 8s: 8s; 15s wins.
			want: []time.Duration{8 * time.Second, 8 * time.Second, 15 * time.Second},
		},
		{
			name:    "a healthy run starts the list over",
			backoff: cronmon,
			runs:    []time.Duration{time.Second, time.Second, time.Minute, time.Second},
			want:    []time.Duration{0, 5 * time.Second, 0, 5 * time.Second},
		},
		{
			name:    "no backoff list means immediate restarts, idle still holds",
			backoff: nil,
			idle:    3 * time.Second,
			runs:    []time.Duration{time.Second, 5 * time.Second},
			want:    []time.Duration{2 * time.Second, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Policy{Always: true, Backoff: tt.backoff, Idle: tt.idle}, nil)
			start := t0
			var got []time.Duration
			for _, up := range tt.runs {
				exit := start.Add(up)
				d := r.Ended(start, exit, true)
				if d.Text == "" || d.Reason != Backoff && d.Reason != Recovered {
					t.Errorf("decision %+v: want a backoff with its reason in words", d)
				}
				got = append(got, d.At.Sub(exit))
				start = d.At
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("restart delays (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHealthyAfter(t *testing.T) {
	if got := HealthyAfter([]time.Duration{0, 5 * time.Second}); got != 10*time.Second {
		t.Errorf("HealthyAfter(short list) = %s, want the 10s floor", got)
	}
	if got := HealthyAfter([]time.Duration{0, 5 * time.Minute}); got != 5*time.Minute {
		t.Errorf("HealthyAfter = %s, want the longest step", got)
	}
}

// The reason reads plainly: after an exit 0 it must not say "exit 1".
func TestProcReasonText(t *testing.T) {
	r := New(Policy{Always: true, Backoff: []time.Duration{0, 5 * time.Second}}, nil)
	start := t0
	var got []string
	var reasons []Reason
	for i, up := range []time.Duration{time.Second, 2 * time.Second, time.Minute} {
		d := r.Ended(start, start.Add(up), false)
		got = append(got, d.Text)
		reasons = append(reasons, d.Reason)
		start = start.Add(time.Duration(i+1) * time.Hour)
	}
	want := []string{
		"backoff 0s after 1s up (a short run: under 10s)",
		"backoff 5s after 2s up (2 short runs in a row, each under 10s)",
		"backoff 0s after 1m0s up (healthy, backoff starts over)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Reason{Backoff, Backoff, Recovered}, reasons); diff != "" {
		t.Errorf("typed reasons (-want +got):\n%s", diff)
	}
}

func TestJitterLengthensWaitsOnly(t *testing.T) {
	// Two procs that die together draw different jitters and so restart
	// apart; neither restarts before its backoff step.
	draws := []float64{0.5, 0.1}
	var got []time.Duration
	for _, x := range draws {
		r := New(Policy{Always: true, Backoff: []time.Duration{4 * time.Second}, Jitter: 0.25}, func() float64 { return x })
		d := r.Ended(t0, t0.Add(time.Second), true)
		if d.Wait != 4*time.Second {
			t.Errorf("wait %s, want the backoff step 4s", d.Wait)
		}
		got = append(got, d.At.Sub(t0.Add(time.Second)))
	}
	// 4s + 0.5*0.25*4s, 4s + 0.1*0.25*4s.
	if diff := cmp.Diff([]time.Duration{4500 * time.Millisecond, 4100 * time.Millisecond}, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	// A zero wait stays zero: an immediate restart is not delayed.
	r := New(Policy{Always: true, Jitter: 0.25}, func() float64 { return 0.9 })
	if d := r.Ended(t0, t0.Add(time.Second), true); !d.At.Equal(t0.Add(time.Second)) || d.Jitter != 0 {
		t.Errorf("immediate restart moved to %s (jitter %s)", d.At.Sub(t0), d.Jitter)
	}
}

func TestJobRetriesThenGivesUp(t *testing.T) {
	r := New(Policy{MaxFailures: 2, Backoff: []time.Duration{10 * time.Second, time.Minute}}, nil)
	type step struct {
		failed bool
		reason Reason
		wait   time.Duration // from the end to At; -1 for no retry
		fails  int
	}
	want := []step{
		{true, Retry, 10 * time.Second, 1},
		{true, Retry, time.Minute, 2},
		{true, GaveUp, -1, 0},
		{true, Retry, 10 * time.Second, 1}, // a new fire, failing again: retries again
		{false, Succeeded, -1, 0},
		{true, Retry, 10 * time.Second, 1},
	}
	var got []step
	now := t0
	for _, w := range want {
		now = now.Add(time.Hour)
		d := r.Ended(now.Add(-time.Second), now, w.failed)
		wait := time.Duration(-1)
		if !d.At.IsZero() {
			wait = d.At.Sub(now)
		}
		got = append(got, step{w.failed, d.Reason, wait, r.Failures()})
		if d.Reason == GaveUp {
			if !r.GaveUp() || d.Attempt != 3 {
				t.Errorf("after giving up: GaveUp %v, attempt %d; want true, 3", r.GaveUp(), d.Attempt)
			}
			r.Started()
			if r.GaveUp() {
				t.Error("GaveUp still true after a new start")
			}
		}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
}

func TestJobWithoutMaxFailuresIsNotRetried(t *testing.T) {
	r := New(Policy{Backoff: cronmon}, nil)
	if d := r.Ended(t0, t0.Add(time.Second), true); d.Reason != Failed || !d.At.IsZero() {
		t.Errorf("decision %+v, want Failed without a retry", d)
	}
}

func TestPersistentStartErrorIsSaidOnceAndRetriedSlowly(t *testing.T) {
	missing := fmt.Errorf("proc: start %q: %w", "nosuch", exec.ErrNotFound)
	r := New(Policy{Always: true, Backoff: []time.Duration{0, 5 * time.Second}}, nil)
	var says []bool
	now := t0
	for range 3 {
		d := r.StartFailed(now, missing)
		if d.Reason != StartError || d.At.Sub(now) != SlowRetry {
			t.Fatalf("decision %+v, want a start error retried after %s", d, SlowRetry)
		}
		says = append(says, d.Say)
		now = d.At
	}
	// Another persistent error is said; so is the first again after a start.
	denied := fmt.Errorf("proc: start: %w", syscall.EACCES)
	says = append(says, r.StartFailed(now, denied).Say)
	r.Started()
	says = append(says, r.StartFailed(now, denied).Say)
	if diff := cmp.Diff([]bool{true, false, false, true, true}, says); diff != "" {
		t.Errorf("said (-want +got):\n%s", diff)
	}
	// The slow retry is at least the longest backoff step.
	long := New(Policy{Always: true, Backoff: []time.Duration{0, 5 * time.Minute}}, nil)
	if d := long.StartFailed(t0, missing); d.At.Sub(t0) != 5*time.Minute {
		t.Errorf("slow retry after %s, want the longest step, 5m", d.At.Sub(t0))
	}
}

func TestTransientStartErrorIsAShortRun(t *testing.T) {
	r := New(Policy{Always: true, Backoff: []time.Duration{0, 5 * time.Second}}, nil)
	full := errors.New("fork/exec: resource temporarily unavailable")
	var waits []time.Duration
	for range 3 {
		d := r.StartFailed(t0, full)
		if d.Reason != Backoff || !d.Say {
			t.Errorf("decision %+v, want a backoff that is said", d)
		}
		waits = append(waits, d.At.Sub(t0))
	}
	if diff := cmp.Diff([]time.Duration{0, 5 * time.Second, 5 * time.Second}, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestJobStartErrors(t *testing.T) {
	r := New(Policy{MaxFailures: 3}, nil)
	missing := fmt.Errorf("dir: %w", fs.ErrNotExist)
	first, again := r.StartFailed(t0, missing), r.StartFailed(t0.Add(time.Minute), missing)
	if first.Reason != StartError || !first.At.IsZero() || !first.Say || again.Say {
		t.Errorf("decisions %+v, %+v; want a start error said once and no retry", first, again)
	}
	if r.Failures() != 0 {
		t.Errorf("a start error counted as %d failed runs", r.Failures())
	}
}

func TestPersistent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", exec.ErrNotFound), true},
		{fmt.Errorf("x: %w", syscall.ENOENT), true},
		{fmt.Errorf("x: %w", syscall.EACCES), true},
		{fmt.Errorf("x: %w", syscall.ENOEXEC), true},
		{fmt.Errorf("x: %w", syscall.ENOTDIR), true},
		{fmt.Errorf("x: %w", syscall.EAGAIN), false},
		{fmt.Errorf("x: %w", syscall.ENOMEM), false},
		{errors.New("cannot allocate ports web"), false},
	} {
		if got := Persistent(tt.err); got != tt.want {
			t.Errorf("Persistent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestReasonNames(t *testing.T) {
	for r := Backoff; r <= StartError; r++ {
		if s := r.String(); s == "" || s[0] == 'R' {
			t.Errorf("reason %d has no name: %q", int(r), s)
		}
	}
}
