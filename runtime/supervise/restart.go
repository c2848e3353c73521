package supervise

import (
	"fmt"
	"time"
)

// restarts decides when a proc starts again after it exited, whatever the
// exit code. Two rules hold at once and the later one wins:
//
//   - backoff: the n-th quick exit in a row waits backoff[n] (the last entry
//     repeats), cronmon's 0s, 5s, 15s, 1m by default;
//   - idle: two starts are at least idle apart (kopf.md; 10 s by default).
//
// A run that lasted at least healthyAfter counts as a success: the next
// exit starts the backoff list over.
type restarts struct {
	backoff      []time.Duration
	idle         time.Duration
	healthyAfter time.Duration
	n            int // quick exits in a row so far
}

func newRestarts(backoff []time.Duration, idle time.Duration) *restarts {
	if len(backoff) == 0 {
		backoff = []time.Duration{0}
	}
	return &restarts{backoff: backoff, idle: idle, healthyAfter: healthyAfter(backoff)}
}

// healthyAfter is how long a proc must stay up for its backoff to start over:
// as long as the longest backoff step, and at least 10 seconds — a proc that
// survives the longest wait kopf would impose is not crash-looping.
func healthyAfter(backoff []time.Duration) time.Duration {
	d := 10 * time.Second
	for _, b := range backoff {
		d = max(d, b)
	}
	return d
}

// exited returns when the proc that started at started and exited at now
// starts again, and why.
func (r *restarts) exited(started, now time.Time) (time.Time, string) {
	up := now.Sub(started)
	if up >= r.healthyAfter {
		r.n = 0
	}
	wait := step(r.backoff, r.n)
	r.n++
	at := now.Add(wait)
	reason := fmt.Sprintf("backoff %s after %s up (%s)", wait, up.Round(time.Millisecond), r.short())
	if up >= r.healthyAfter {
		reason = fmt.Sprintf("backoff %s after %s up (healthy, backoff starts over)", wait, up.Round(time.Millisecond))
	}
	if idleAt := started.Add(r.idle); idleAt.After(at) {
		at = idleAt
		reason += fmt.Sprintf("; idle %s from the last start is later", r.idle)
	}
	return at, reason
}

// short says, after an exit, how many runs in a row were too short to
// start the backoff over.
func (r *restarts) short() string {
	if r.n == 1 {
		return fmt.Sprintf("a short run: under %s", r.healthyAfter)
	}
	return fmt.Sprintf("%d short runs in a row, each under %s", r.n, r.healthyAfter)
}
