// Package health decides whether a running proc is healthy, with the model
// of Aurora's health checker (aurora-services.md, "Health Checking"), and
// holds the probes that check it.
//
// A Tracker is a pure state machine in the manner of runtime/job: it is fed
// check results and snooze observations with the time they happened, and
// answers what to do with a reason in words. It never reads the clock, so
// every rule is tested without waiting. The probes (HTTP, SnoozeFile) are
// the I/O, run by the supervisor off its loop.
//
// The rules, with m = ceil(InitialInterval/Interval) the grace and
// n = m + MaxConsecutiveFailures + MinConsecutiveSuccesses:
//
//   - Checks run every Interval, the first one Interval after the start.
//   - Failures among the first m checks are ignored, whether the process
//     is still Starting or already Healthy: they do not count toward
//     MaxConsecutiveFailures, though they still break a streak of
//     successes.
//   - The process is Starting until MinConsecutiveSuccesses checks in a row
//     succeed, then Healthy. One that is not Healthy after its first n
//     checks has failed and is restarted.
//   - More than MaxConsecutiveFailures counted failures in a row restart the
//     process, Starting or Healthy; a success resets the count.
//   - While the snooze file exists, no check runs and nothing counts.
//
// Use (one goroutine owns the Tracker):
//
//	t := health.NewTracker(cfg, started)
//	for {
//		now := sleepUntil(t.Due())
//		t.Snooze(now, health.SnoozeFile(dir))
//		if t.State() == health.Snoozed {
//			continue
//		}
//		err := health.HTTP(ctx, url, cfg.Timeout, "")
//		if v := t.Result(clock(), err); v.Restart {
//			restart(v.Reason) // and a new Tracker for the new process
//			break
//		}
//	}
package health

import (
	"fmt"
	"time"
)

// Config is a proc's health check settings. kopf's config loader gives them
// with Aurora's defaults applied (10s, 1s, 15s, 0, 1); Interval must be
// positive. A negative MaxConsecutiveFailures counts as 0 and a
// MinConsecutiveSuccesses below 1 as 1, as Aurora requires.
type Config struct {
	Interval, Timeout, InitialInterval              time.Duration
	MaxConsecutiveFailures, MinConsecutiveSuccesses int
}

// The states of a checked process, as State reports them.
const (
	Starting = "starting" // not yet MinConsecutiveSuccesses successes in a row
	Healthy  = "healthy"
	Snoozed  = "snoozed" // the snooze file exists: checks suspended
	Failed   = "failed"  // a Result said Restart; the Tracker is done
)

// Tracker is the health of one running process. The zero value is not
// usable; call NewTracker. Not safe for concurrent use.
type Tracker struct {
	interval time.Duration
	grace    int // m: the first checks whose failures are ignored
	maxFail  int
	minOK    int
	limit    int // n: the checks within which the process must become healthy

	due     time.Time
	state   string // Starting, Healthy or Failed; Snoozed is the flag below
	snoozed bool

	checks    int // counted so far; snoozed checks are not
	successes int // in a row
	failures  int // in a row, outside the grace

	lastAt      time.Time
	lastErr     error
	lastFailure error // of the latest failed check, for the reason of a restart
}

// NewTracker returns the tracker of a process started at started.
func NewTracker(c Config, started time.Time) *Tracker {
	t := &Tracker{
		interval: c.Interval,
		maxFail:  max(c.MaxConsecutiveFailures, 0),
		minOK:    max(c.MinConsecutiveSuccesses, 1),
		due:      started.Add(c.Interval),
		state:    Starting,
	}
	if c.Interval > 0 && c.InitialInterval > 0 {
		t.grace = int((c.InitialInterval + c.Interval - 1) / c.Interval)
	}
	t.limit = t.grace + t.maxFail + t.minOK
	return t
}

// Due returns when the next check should run. Aurora counts its grace in
// checks rather than waiting InitialInterval before the first one, so checks
// run every Interval from the start: the first at started+Interval, each
// next one Interval after the previous one finished (Result's now), so a
// slow check never overlaps the next. While snoozed it is when to look at
// the snooze file again. After a Restart verdict it is the zero time: no
// more checks.
//
// The caller runs one check at a time: until it reports the Result, Due
// stays at the time the running check was due.
func (t *Tracker) Due() time.Time {
	if t.state == Failed {
		return time.Time{}
	}
	return t.due
}

// Snooze records whether the snooze file exists at now; the caller looks at
// it each time a check is due, before running the check.
//
// While snoozed, checks do not run, no result counts (one already running
// when the snooze began is dropped), the state reads Snoozed, and Due moves
// Interval ahead at each look. When the snooze ends, the next check is due
// at once and counting resumes where it was, except the streaks: successes
// and failures in a row start again from 0, since the process may have been
// stopped in a debugger or dumped core meanwhile, and neither the checks
// before the snooze nor those after it say anything about the other side.
// The grace, the count of checks and the state (Starting or Healthy) are
// kept: a snooze neither extends the grace nor the window of n checks in
// which a Starting process must become healthy, because snoozed time holds
// no checks.
func (t *Tracker) Snooze(now time.Time, on bool) {
	switch {
	case t.state == Failed:
	case on:
		t.snoozed = true
		t.due = now.Add(t.interval)
	case t.snoozed:
		t.snoozed = false
		t.successes, t.failures = 0, 0
		t.due = now
	}
}

// Verdict is what to do after a check.
type Verdict struct {
	Restart bool // the process must be restarted
	// Reason says why, in words, for the log and the journal. It is also
	// set for notable events that do not restart: a failed check, the
	// process becoming healthy, a success ending a run of failures. Empty
	// when nothing changed.
	Reason string
}

// Result records the outcome of the check that was due, finished at now
// (err nil means healthy), and says what to do. After a Restart verdict the
// Tracker is done: further results are ignored and return the zero
// Verdict, as do results that arrive while snoozed.
func (t *Tracker) Result(now time.Time, err error) Verdict {
	if t.state == Failed || t.snoozed {
		return Verdict{}
	}
	t.checks++
	t.due = now.Add(t.interval)
	t.lastAt, t.lastErr = now, err
	var v Verdict
	if err == nil {
		v = t.passed()
	} else {
		t.lastFailure = err
		v = t.failed(err)
	}
	if !v.Restart && t.state == Starting && t.checks >= t.limit {
		v = Verdict{Restart: true, Reason: fmt.Sprintf(
			"not healthy within the first %s (grace %d + max-consecutive-failures %d + min-consecutive-successes %d): last failure: %v",
			count(t.limit, "health check"), t.grace, t.maxFail, t.minOK, t.lastFailure)}
	}
	if v.Restart {
		t.state = Failed
	}
	return v
}

func (t *Tracker) passed() Verdict {
	failures := t.failures
	t.successes++
	t.failures = 0
	switch {
	case t.state == Starting && t.successes >= t.minOK:
		t.state = Healthy
		return Verdict{Reason: fmt.Sprintf("healthy after %s", count(t.checks, "check"))}
	case failures > 0:
		return Verdict{Reason: fmt.Sprintf("health check %d passed after %s",
			t.checks, count(failures, "failed check"))}
	}
	return Verdict{}
}

func (t *Tracker) failed(err error) Verdict {
	t.successes = 0
	if t.checks <= t.grace {
		return Verdict{Reason: fmt.Sprintf("health check %d failed, ignored within the grace of the first %s: %v",
			t.checks, count(t.grace, "check"), err)}
	}
	t.failures++
	switch {
	case t.failures > t.maxFail && t.failures == 1:
		return Verdict{Restart: true, Reason: fmt.Sprintf(
			"1 failed health check (max-consecutive-failures %d): %v", t.maxFail, err)}
	case t.failures > t.maxFail:
		return Verdict{Restart: true, Reason: fmt.Sprintf(
			"%d consecutive failed health checks (max-consecutive-failures %d): last: %v", t.failures, t.maxFail, err)}
	}
	return Verdict{Reason: fmt.Sprintf("health check %d failed (%d in a row, max-consecutive-failures %d): %v",
		t.checks, t.failures, t.maxFail, err)}
}

// count is "1 check" or "n checks".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// State is Starting, Healthy, Snoozed or Failed, for kopf status.
func (t *Tracker) State() string {
	if t.snoozed {
		return Snoozed
	}
	return t.state
}

// Last returns when the last counted check finished and its error (nil:
// healthy); ok is false before the first.
func (t *Tracker) Last() (at time.Time, err error, ok bool) {
	return t.lastAt, t.lastErr, t.checks > 0
}

// Checks returns how many checks have been counted: those run while
// snoozed, or after the Tracker was done, are not.
func (t *Tracker) Checks() int { return t.checks }

// Done reports whether a Result said Restart: the Tracker takes no more
// results, and the caller makes a new one for the restarted process.
func (t *Tracker) Done() bool { return t.state == Failed }
