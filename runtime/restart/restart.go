// Package restart decides what happens after a unit's process ends or
// cannot start: when a proc starts again, whether a failed job run is
// retried, and what is said about it. It is a pure decision object in the
// way runtime/job's Job is: fed the times of starts and ends, it keeps no
// clock and starts nothing, so its policies are tested without processes.
//
// One Tracker serves one unit and both kinds of unit:
//
//   - A proc (Policy.Always) starts again after every end, whatever its
//     exit: the n-th short run in a row waits Backoff[n] (the last entry
//     repeats), and a run that lasted HealthyAfter starts the list over;
//     two starts are at least Idle apart.
//   - A job is retried only after a failed run, and only MaxFailures times
//     in a row: the n-th retry waits Backoff[n-1]. The failure after the
//     last retry gives up until the job's next fire or trigger.
//   - A start that fails for a reason that will not go away by itself (the
//     command or the directory is missing, or is not executable: see
//     Persistent) is its own class: it is said once, not at every try, and
//     a proc retries it slowly, at the longest backoff step and at least
//     SlowRetry apart. Any other start error counts as a run that ended at
//     once.
//   - Every wait with Jitter is lengthened by a random part of up to that
//     fraction of it, so that procs that die together do not restart in
//     lockstep. A wait is never shortened: backoff and idle stay minimums.
//
// Use:
//
//	t := restart.New(restart.Policy{Always: true, Backoff: backoff, Idle: idle, Jitter: 0.25}, rand.Float64)
//	d := t.Ended(started, now, exitCode != 0)
//	log.Info("restart at " + d.At.Format(time.RFC3339) + ": " + d.Text)
package restart

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"syscall"
	"time"
)

// SlowRetry is the least wait before a proc tries again a start that
// failed for a persistent reason.
const SlowRetry = time.Minute

// Policy is a unit's restart settings.
type Policy struct {
	// Always restarts after every end (a proc); otherwise only failed runs
	// are retried, MaxFailures times in a row (a job).
	Always bool
	// Backoff is the list of waits; the last one repeats. Empty is a
	// single 0.
	Backoff []time.Duration
	// Idle is the least time from one start to the next (procs).
	Idle time.Duration
	// MaxFailures is how many times in a row a failed job run is retried;
	// 0 retries none.
	MaxFailures int
	// Jitter is the largest fraction of a wait added to it at random; 0
	// adds none.
	Jitter float64
}

// Reason is the kind of a decision.
type Reason int

const (
	// Backoff: a proc's short run; it starts again after the next step.
	Backoff Reason = iota + 1
	// Recovered: a proc's run was long enough to count as healthy; the
	// backoff starts over.
	Recovered
	// Succeeded: a job run succeeded; its failure count starts over.
	Succeeded
	// Failed: a job run failed and the job has no retries (max-failures 0).
	Failed
	// Retry: a failed job run is retried at Decision.At.
	Retry
	// GaveUp: the last of max-failures retries failed too; the job waits
	// for its next fire or trigger.
	GaveUp
	// StartError: the process could not start for a persistent reason.
	StartError
)

var reasonNames = [...]string{
	Backoff: "backoff", Recovered: "recovered", Succeeded: "succeeded", Failed: "failed",
	Retry: "retry", GaveUp: "gave-up", StartError: "start-error",
}

func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Decision is what to do after an end or a failed start.
type Decision struct {
	Reason Reason
	// At is when to start again; zero when nothing starts until the job's
	// next fire or trigger.
	At time.Time
	// Wait is the backoff step chosen, before jitter and idle.
	Wait time.Duration
	// Jitter is the random part added to Wait.
	Jitter time.Duration
	// Attempt is the retry's number for Retry, the failed runs in a row
	// for GaveUp, and the short runs in a row for Backoff.
	Attempt int
	// Say is false for a start error the same as the one said last: it is
	// journaled, but the log has said it already.
	Say bool
	// Text is the decision in words, without the unit's name.
	Text string
}

// Tracker applies a Policy to one unit's runs.
type Tracker struct {
	p            Policy
	rnd          func() float64
	healthyAfter time.Duration
	n            int    // proc: short runs in a row; job: failed runs in a row
	gaveUp       bool   // job: until the next start or success
	said         string // the persistent start error said last; "" after a start
}

// New returns a Tracker for p; rnd returns numbers in [0, 1) for the
// jitter and may be nil when p.Jitter is 0.
func New(p Policy, rnd func() float64) *Tracker {
	if len(p.Backoff) == 0 {
		p.Backoff = []time.Duration{0}
	}
	if rnd == nil {
		rnd = func() float64 { return 0 }
	}
	return &Tracker{p: p, rnd: rnd, healthyAfter: HealthyAfter(p.Backoff)}
}

// HealthyAfter is how long a proc must stay up for its backoff to start
// over: as long as the longest backoff step, and at least 10 seconds — a
// proc that survives the longest wait kopf would impose is not
// crash-looping.
func HealthyAfter(backoff []time.Duration) time.Duration {
	d := 10 * time.Second
	for _, b := range backoff {
		d = max(d, b)
	}
	return d
}

// Failures is how many failed job runs in a row there have been.
func (t *Tracker) Failures() int {
	if t.p.Always {
		return 0
	}
	return t.n
}

// GaveUp reports whether the job's retries ran out, until its next start.
func (t *Tracker) GaveUp() bool { return t.gaveUp }

// Started records that a process started: a later start error is said
// again, and a job that gave up is trying anew.
func (t *Tracker) Started() { t.said, t.gaveUp = "", false }

// Ended decides after a run that started at started ended at now; failed
// says it exited non-zero, was killed or timed out (procs restart either
// way).
func (t *Tracker) Ended(started, now time.Time, failed bool) Decision {
	if t.p.Always {
		return t.procEnded(started, now)
	}
	return t.jobEnded(now, failed)
}

func (t *Tracker) procEnded(started, now time.Time) Decision {
	up := now.Sub(started)
	d := Decision{Reason: Backoff, Say: true}
	if up >= t.healthyAfter {
		t.n, d.Reason = 0, Recovered
	}
	d.Wait = step(t.p.Backoff, t.n)
	t.n++
	d.Attempt = t.n
	t.at(&d, now)
	if d.Reason == Recovered {
		d.Text = fmt.Sprintf("backoff %s after %s up (healthy, backoff starts over)", d.Wait, up.Round(time.Millisecond))
	} else {
		d.Text = fmt.Sprintf("backoff %s after %s up (%s)", d.Wait, up.Round(time.Millisecond), t.short())
	}
	if d.Jitter > 0 {
		d.Text += fmt.Sprintf(", +%s jitter", d.Jitter.Round(time.Millisecond))
	}
	if idleAt := started.Add(t.p.Idle); idleAt.After(d.At) {
		d.At = idleAt
		d.Text += fmt.Sprintf("; idle %s from the last start is later", t.p.Idle)
	}
	return d
}

// short says how many runs in a row were too short to start the backoff
// over.
func (t *Tracker) short() string {
	if t.n == 1 {
		return fmt.Sprintf("a short run: under %s", t.healthyAfter)
	}
	return fmt.Sprintf("%d short runs in a row, each under %s", t.n, t.healthyAfter)
}

func (t *Tracker) jobEnded(now time.Time, failed bool) Decision {
	switch {
	case !failed:
		t.n, t.gaveUp = 0, false
		return Decision{Reason: Succeeded, Say: true, Text: "succeeded"}
	case t.p.MaxFailures == 0:
		return Decision{Reason: Failed, Say: true, Text: "failed; max-failures is 0: it waits for its next fire or a trigger"}
	case t.n >= t.p.MaxFailures:
		d := Decision{Reason: GaveUp, Attempt: t.n + 1, Say: true,
			Text: fmt.Sprintf("max-failures %d reached: it waits for its next fire or a trigger", t.p.MaxFailures)}
		t.n, t.gaveUp = 0, true
		return d
	}
	t.n++
	d := Decision{Reason: Retry, Attempt: t.n, Say: true, Wait: step(t.p.Backoff, t.n-1)}
	t.at(&d, now)
	d.Text = fmt.Sprintf("retry %d of %d at %s (backoff %s", t.n, t.p.MaxFailures, d.At.Format(time.RFC3339), d.Wait)
	if d.Jitter > 0 {
		d.Text += fmt.Sprintf(", +%s jitter", d.Jitter.Round(time.Millisecond))
	}
	d.Text += ")"
	return d
}

// StartFailed decides after a start that failed at now with err.
func (t *Tracker) StartFailed(now time.Time, err error) Decision {
	if !Persistent(err) {
		if t.p.Always {
			return t.procEnded(now, now)
		}
		return Decision{Reason: Failed, Say: true, Text: "it waits for its next fire or a trigger"}
	}
	d := Decision{Reason: StartError, Say: err.Error() != t.said}
	t.said = err.Error()
	if !t.p.Always {
		d.Text = "it waits for its next fire or a trigger; this error is not said again until it changes or a run starts"
		return d
	}
	d.Wait = max(SlowRetry, t.p.Backoff[len(t.p.Backoff)-1])
	t.at(&d, now)
	d.Text = fmt.Sprintf("next try at %s, every %s while the error lasts; it is not said again until it changes or the proc starts",
		d.At.Format(time.RFC3339), d.Wait)
	return d
}

// at sets d.At to now plus d.Wait and the jitter drawn for it.
func (t *Tracker) at(d *Decision, now time.Time) {
	if t.p.Jitter > 0 && d.Wait > 0 {
		d.Jitter = time.Duration(t.rnd() * t.p.Jitter * float64(d.Wait))
	}
	d.At = now.Add(d.Wait + d.Jitter)
}

// step is the n-th wait of a backoff list (from 0); the last one repeats.
func step(list []time.Duration, n int) time.Duration {
	return list[min(n, len(list)-1)]
}

// Persistent reports whether a start error will recur at every try until
// a file or the config changes: the command or its directory is missing,
// or is not executable. Running out of processes or memory is not
// persistent.
func Persistent(err error) bool {
	for _, target := range []error{exec.ErrNotFound, fs.ErrNotExist, fs.ErrPermission, syscall.ENOEXEC, syscall.ENOTDIR, syscall.EISDIR} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
