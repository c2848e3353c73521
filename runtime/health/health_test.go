package health

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// aurora is Aurora's default config: m = 2, n = 3.
var aurora = Config{Interval: 10 * time.Second, Timeout: time.Second, InitialInterval: 15 * time.Second,
	MaxConsecutiveFailures: 0, MinConsecutiveSuccesses: 1}

func cfg(initial time.Duration, maxFail, minOK int) Config {
	return Config{Interval: 10 * time.Second, Timeout: time.Second, InitialInterval: initial,
		MaxConsecutiveFailures: maxFail, MinConsecutiveSuccesses: minOK}
}

// step is what one event did.
type step struct {
	trace   string // "event:state", with "!" after a restart
	reasons []string
	restart string // the reason of the restart, if any
}

// run feeds a Tracker started at t0 one event per Interval, the first at
// t0+Interval: 'S' a passed check, 'F' a failed one (error "boom K", K the
// event's number from 1), 'z' the snooze file seen, 'Z' seen gone. Spaces
// are ignored.
func run(t *testing.T, c Config, seq string) step {
	t.Helper()
	tr := NewTracker(c, t0)
	var s step
	var trace []string
	k := 0
	for _, ev := range seq {
		if ev == ' ' {
			continue
		}
		k++
		now := t0.Add(time.Duration(k) * c.Interval)
		done := tr.Done()
		var v Verdict
		switch ev {
		case 'S':
			v = tr.Result(now, nil)
		case 'F':
			v = tr.Result(now, fmt.Errorf("boom %d", k))
		case 'z', 'Z':
			tr.Snooze(now, ev == 'z')
		default:
			t.Fatalf("bad event %q", ev)
		}
		if done && v != (Verdict{}) {
			t.Fatalf("event %d: a done Tracker answered %+v", k, v)
		}
		entry := fmt.Sprintf("%c:%s", ev, tr.State())
		if v.Restart {
			entry += "!"
			s.restart = v.Reason
		}
		if v.Reason != "" {
			s.reasons = append(s.reasons, v.Reason)
		}
		trace = append(trace, entry)
	}
	s.trace = strings.Join(trace, " ")
	return s
}

func TestTracker(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		seq     string
		trace   string
		restart string
	}{
		{"defaults: the first success is healthy, in grace or not", aurora, "SSS",
			"S:healthy S:healthy S:healthy", ""},
		{"defaults: failures in the grace of 2 are ignored", aurora, "FFS",
			"F:starting F:starting S:healthy", ""},
		{"defaults: the first counted failure restarts", aurora, "FFF",
			"F:starting F:starting F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 3"},
		{"defaults: one failure after the grace restarts a healthy process", aurora, "SFF",
			"S:healthy F:healthy F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 3"},
		{"healthy: more than max failures in a row restart", cfg(0, 2, 1), "S F F F",
			"S:healthy F:healthy F:healthy F:failed!",
			"3 consecutive failed health checks (max-consecutive-failures 2): last: boom 4"},
		{"healthy: a success resets the failures", cfg(0, 2, 1), "S FF S FF S FF FF",
			"S:healthy F:healthy F:healthy S:healthy F:healthy F:healthy S:healthy F:healthy F:healthy F:failed! F:failed",
			"3 consecutive failed health checks (max-consecutive-failures 2): last: boom 10"},
		{"starting: min successes in a row make it healthy", cfg(0, 1, 3), "SSS S",
			"S:starting S:starting S:healthy S:healthy", ""},
		{"starting: consecutive failures restart outside the grace", cfg(10*time.Second, 1, 3), "F FF",
			"F:starting F:starting F:failed!",
			"2 consecutive failed health checks (max-consecutive-failures 1): last: boom 3"},
		{"starting: not healthy within n = 0+1+3 checks", cfg(0, 1, 3), "S F S S",
			"S:starting F:starting S:starting S:failed!",
			"not healthy within the first 4 health checks (grace 0 + max-consecutive-failures 1 + min-consecutive-successes 3): last failure: boom 2"},
		{"starting: not healthy within n = 1+1+3 checks", cfg(10*time.Second, 1, 3), "F S F S S",
			"F:starting S:starting F:starting S:starting S:failed!",
			"not healthy within the first 5 health checks (grace 1 + max-consecutive-failures 1 + min-consecutive-successes 3): last failure: boom 3"},
		{"starting: healthy at the n-th check is in time", cfg(10*time.Second, 1, 3), "F F S S S",
			"F:starting F:starting S:starting S:starting S:healthy", ""},
		{"grace failures break a streak of successes", cfg(20*time.Second, 0, 2), "S F S S",
			"S:starting F:starting S:starting S:healthy", ""},
		{"grace failures do not count", cfg(20*time.Second, 0, 2), "F F S S",
			"F:starting F:starting S:starting S:healthy", ""},
		{"the grace is rounded up: 21s at 10s is 3 checks", cfg(21*time.Second, 0, 1), "F F F F",
			"F:starting F:starting F:starting F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 4"},
		{"grace failures are ignored when healthy too", cfg(30*time.Second, 0, 1), "S F F F",
			"S:healthy F:healthy F:healthy F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 4"},
		{"snooze: results while snoozed are dropped", aurora, "S z F F Z S",
			"S:healthy z:snoozed F:snoozed F:snoozed Z:healthy S:healthy", ""},
		{"snooze: counting resumes after it", cfg(0, 0, 1), "S z F Z F",
			"S:healthy z:snoozed F:snoozed Z:healthy F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 5"},
		{"snooze: the failures in a row start over", cfg(0, 1, 1), "S F z Z F S F z Z F F",
			"S:healthy F:healthy z:snoozed Z:healthy F:healthy S:healthy F:healthy z:snoozed Z:healthy F:healthy F:failed!",
			"2 consecutive failed health checks (max-consecutive-failures 1): last: boom 11"},
		{"snooze: the successes in a row start over", cfg(0, 2, 2), "S z Z S S",
			"S:starting z:snoozed Z:starting S:starting S:healthy", ""},
		{"snooze: the window of n checks is not extended", cfg(0, 1, 2), "S F z Z S",
			"S:starting F:starting z:snoozed Z:starting S:failed!",
			"not healthy within the first 3 health checks (grace 0 + max-consecutive-failures 1 + min-consecutive-successes 2): last failure: boom 2"},
		{"snooze: looking again while snoozed keeps it", aurora, "z z F z Z",
			"z:snoozed z:snoozed F:snoozed z:snoozed Z:starting", ""},
		{"snooze: seeing no file when not snoozed changes nothing", cfg(0, 1, 1), "F Z F",
			"F:starting Z:starting F:failed!",
			"2 consecutive failed health checks (max-consecutive-failures 1): last: boom 3"},
		{"done after a restart: results ignored", cfg(0, 0, 1), "S F S F S",
			"S:healthy F:failed! S:failed F:failed S:failed",
			"1 failed health check (max-consecutive-failures 0): boom 2"},
		{"done after a restart: snoozes ignored", cfg(0, 0, 1), "S F z Z",
			"S:healthy F:failed! z:failed Z:failed",
			"1 failed health check (max-consecutive-failures 0): boom 2"},
		{"out-of-range settings: max -1 is 0, min 0 is 1", cfg(0, -1, 0), "S F",
			"S:healthy F:failed!",
			"1 failed health check (max-consecutive-failures 0): boom 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.cfg, tt.seq)
			if got.trace != tt.trace {
				t.Errorf("trace of %q:\n got %s\nwant %s", tt.seq, got.trace, tt.trace)
			}
			if got.restart != tt.restart {
				t.Errorf("restart reason of %q:\n got %q\nwant %q", tt.seq, got.restart, tt.restart)
			}
		})
	}
}

func TestReasons(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		seq  string
		want []string
	}{
		{"grace, then healthy", aurora, "F S S", []string{
			"health check 1 failed, ignored within the grace of the first 2 checks: boom 1",
			"healthy after 2 checks",
		}},
		{"healthy at once", aurora, "S", []string{"healthy after 1 check"}},
		{"counted failures, then a success", cfg(0, 3, 1), "S F F S S", []string{
			"healthy after 1 check",
			"health check 2 failed (1 in a row, max-consecutive-failures 3): boom 2",
			"health check 3 failed (2 in a row, max-consecutive-failures 3): boom 3",
			"health check 4 passed after 2 failed checks",
		}},
		{"one failure, then a success", cfg(10*time.Second, 2, 2), "F S F S S", []string{
			"health check 1 failed, ignored within the grace of the first 1 check: boom 1",
			"health check 3 failed (1 in a row, max-consecutive-failures 2): boom 3",
			"health check 4 passed after 1 failed check",
			"healthy after 5 checks",
		}},
		{"snoozes make no reasons of their own", aurora, "S z F Z", []string{"healthy after 1 check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.cfg, tt.seq).reasons
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("reasons of %q:\n got %q\nwant %q", tt.seq, got, tt.want)
			}
		})
	}
}

func TestGraceAndLimit(t *testing.T) {
	tests := []struct {
		initial, interval time.Duration
		maxFail, minOK    int
		grace, limit      int
	}{
		{15 * time.Second, 10 * time.Second, 0, 1, 2, 3}, // Aurora's defaults
		{0, 10 * time.Second, 0, 1, 0, 1},
		{10 * time.Second, 10 * time.Second, 0, 1, 1, 2},
		{10*time.Second + 1, 10 * time.Second, 0, 1, 2, 3},
		{time.Minute, 10 * time.Second, 3, 2, 6, 11},
		{time.Second, 10 * time.Second, 0, 1, 1, 2},
	}
	for _, tt := range tests {
		c := Config{Interval: tt.interval, InitialInterval: tt.initial,
			MaxConsecutiveFailures: tt.maxFail, MinConsecutiveSuccesses: tt.minOK}
		tr := NewTracker(c, t0)
		if tr.grace != tt.grace || tr.limit != tt.limit {
			t.Errorf("%+v: m, n = %d, %d, want %d, %d", c, tr.grace, tr.limit, tt.grace, tt.limit)
		}
	}
}

func TestDue(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tr := NewTracker(cfg(0, 0, 1), t0)
	check := func(step string, want time.Time) {
		t.Helper()
		if got := tr.Due(); !got.Equal(want) {
			t.Errorf("%s: Due() = %s, want %s", step, got.Sub(t0), want.Sub(t0))
		}
	}
	check("new", at(10*time.Second))
	tr.Result(at(10500*time.Millisecond), nil)
	check("after a check that took 0.5s", at(20500*time.Millisecond))
	tr.Snooze(at(21*time.Second), false)
	check("no snooze file", at(20500*time.Millisecond))
	tr.Snooze(at(21*time.Second), true)
	check("snoozed", at(31*time.Second))
	tr.Snooze(at(31*time.Second), true)
	check("still snoozed", at(41*time.Second))
	tr.Snooze(at(41*time.Second), false)
	check("snooze over: check at once", at(41*time.Second))
	tr.Result(at(42*time.Second), errors.New("boom"))
	check("done", time.Time{})
	if !tr.Due().IsZero() || !tr.Done() {
		t.Errorf("after a restart: Due() = %s, Done() = %v; want zero, true", tr.Due(), tr.Done())
	}
}

func TestLastAndChecks(t *testing.T) {
	tr := NewTracker(aurora, t0)
	if _, _, ok := tr.Last(); ok || tr.Checks() != 0 {
		t.Fatalf("new: Last ok = %v, Checks() = %d; want false, 0", ok, tr.Checks())
	}
	boom := errors.New("boom")
	tr.Result(t0.Add(10*time.Second), boom)
	if at, err, ok := tr.Last(); !ok || err != boom || !at.Equal(t0.Add(10*time.Second)) || tr.Checks() != 1 {
		t.Errorf("after a failure: Last() = %s, %v, %v, Checks() = %d", at, err, ok, tr.Checks())
	}
	tr.Result(t0.Add(20*time.Second), nil)
	if at, err, ok := tr.Last(); !ok || err != nil || !at.Equal(t0.Add(20*time.Second)) || tr.Checks() != 2 {
		t.Errorf("after a success: Last() = %s, %v, %v, Checks() = %d", at, err, ok, tr.Checks())
	}
	tr.Snooze(t0.Add(25*time.Second), true)
	tr.Result(t0.Add(30*time.Second), boom)
	if _, err, _ := tr.Last(); err != nil || tr.Checks() != 2 {
		t.Errorf("a snoozed result was recorded: Last err = %v, Checks() = %d", err, tr.Checks())
	}
}
