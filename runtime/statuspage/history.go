package statuspage

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
)

// Run is one run the page shows: started, and ended or going on.
type Run struct {
	Unit    string
	PID     int
	Start   time.Time
	End     time.Time // zero while it runs
	Outcome string    // success, failure, timeout, killed, spawn_error; "" while it runs
	How     string    // how it ended, in words
	Reasons []string  // why it started
}

// History keeps the runs of the last day from the event stream, at most
// maxRuns of them (the oldest go first), for the timeline and the unit
// pages. The journal has all of them.
type History struct {
	mu      sync.Mutex
	runs    []*Run // in start order
	byPID   map[int]*Run
	maxRuns int
	keep    time.Duration
	tails   map[string][]string // the last output lines of units with log-output
	// missed counts the events the stream could not queue for the
	// history: some runs' ends may be among them.
	missed int
}

// tailLines is how many output lines a unit page shows.
const tailLines = 50

// Output keeps a unit's output line for its page (the last tailLines).
func (h *History) Output(unit, stream, line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tails == nil {
		h.tails = map[string][]string{}
	}
	t := append(h.tails[unit], line)
	if len(t) > tailLines {
		t = append(t[:0], t[len(t)-tailLines:]...)
	}
	h.tails[unit] = t
}

// Tail returns a copy of the last output lines of unit.
func (h *History) Tail(unit string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.tails[unit])
}

// NewHistory returns a History of the runs of the last keep, at most max.
func NewHistory(keep time.Duration, max int) *History {
	return &History{byPID: map[int]*Run{}, maxRuns: max, keep: keep}
}

// loadLimit bounds what Load reads of a journal: what kopf keeps of one,
// DefaultKeep rotated files and the current one of DefaultMaxSize each, so
// that a journal kopf wrote is read back a whole day, and a larger one (a
// file kopf did not write) delays the daemon's start no more than that.
const loadLimit = (journal.DefaultKeep + 1) * journal.DefaultMaxSize

// Load reads the runs of the last keep from a journal, before this
// daemon's own events arrive: the page shows what the daemons before it
// ran too. A run whose end the journal does not have (its daemon was
// killed) ends at that daemon's last event, its outcome unknown.
//
// Load reads the journal back from its end to the events older than keep,
// or loadLimit bytes: when those hold events of the last keep still, it
// returns an error that says so, having loaded the runs of what it read.
func (h *History) Load(path string, now time.Time) error {
	from := now.Add(-h.keep)
	var last time.Time
	cut, err := journal.ReadSince(path, 0, from, loadLimit, func(ev journal.Event, _ []byte) error {
		if ev.Type == journal.Acquired {
			h.closeOpen(last) // a new daemon: what the old one ran is over
		}
		last = ev.Time
		if !ev.Time.Before(from) {
			h.Observe(ev)
		}
		return nil
	}, nil)
	h.closeOpen(last)
	if err == nil && cut {
		err = fmt.Errorf("the journal %s holds more than %d MiB of the last %s: read its last %d MiB only, and the page shows the runs in those",
			path, loadLimit>>20, h.keep, loadLimit>>20)
	}
	return err
}

// settleGone ends the open runs whose process is gone, their outcome
// unknown: after missed events, their ends may never come. h.mu is held.
func (h *History) settleGone(at time.Time) {
	for pid, r := range h.byPID {
		if unix.Kill(pid, 0) == unix.ESRCH {
			r.End, r.Outcome, r.How = at, "unknown", "its end was not seen: the status page missed events (kopf journal has it)"
			delete(h.byPID, pid)
		}
	}
}

// closeOpen ends the runs still open at at, their outcome unknown.
func (h *History) closeOpen(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for pid, r := range h.byPID {
		r.End, r.Outcome, r.How = at, "unknown", "its end is not in the journal (kopf stopped before it)"
		delete(h.byPID, pid)
	}
}

// Subscribe makes h an asynchronous subscriber of s.
func (h *History) Subscribe(s *stream.Stream) {
	keep := func(ev journal.Event) bool { return !ev.Loads() } // only a removal counts
	s.SubscribeWhere("status page", 4096, keep, func(d stream.Delivery) {
		if d.Missed > 0 {
			h.mu.Lock()
			h.missed += d.Missed
			h.mu.Unlock()
		}
		if d.Event.Type != "" {
			h.Observe(d.Event)
		}
	})
}

// Observe records one event.
func (h *History) Observe(ev journal.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch ev.Type {
	case journal.Spawned:
		r := &Run{Unit: ev.Unit, PID: ev.PID, Start: ev.Time, Reasons: ev.Reasons}
		h.runs = append(h.runs, r)
		h.byPID[ev.PID] = r
	case journal.SpawnError:
		h.runs = append(h.runs, &Run{Unit: ev.Unit, Start: ev.Time, End: ev.Time, Outcome: "spawn_error", How: "cannot start: " + ev.Error})
	case journal.Exited:
		r := h.byPID[ev.PID]
		if r == nil {
			return
		}
		delete(h.byPID, ev.PID)
		r.End = ev.Time
		r.Outcome, r.How = outcome(ev)
	case journal.Source:
		if ev.Op == "remove" {
			delete(h.tails, ev.Unit)
			kept := h.runs[:0]
			for _, r := range h.runs {
				if r.Unit != ev.Unit {
					kept = append(kept, r)
				}
			}
			clear(h.runs[len(kept):])
			h.runs = kept
		}
	}
	h.trim(ev.Time)
}

// trim drops the runs that ended before the window and the oldest beyond
// maxRuns.
func (h *History) trim(now time.Time) {
	cut := 0
	for cut < len(h.runs) && (len(h.runs)-cut > h.maxRuns || !h.runs[cut].End.IsZero() && h.runs[cut].End.Before(now.Add(-h.keep))) {
		if r := h.runs[cut]; h.byPID[r.PID] == r { // the PID may be a later run's now
			delete(h.byPID, r.PID)
		}
		cut++
	}
	if cut > 0 {
		h.runs = append(h.runs[:0], h.runs[cut:]...)
	}
}

// Runs returns copies of the runs that ended after from or still run, in
// start order; of one unit when unit is not "".
func (h *History) Runs(from time.Time, unit string) []Run {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.missed > 0 {
		h.settleGone(time.Now())
	}
	var out []Run
	for _, r := range h.runs {
		if (unit == "" || r.Unit == unit) && (r.End.IsZero() || r.End.After(from)) {
			out = append(out, *r)
		}
	}
	return out
}

func outcome(ev journal.Event) (string, string) {
	d := time.Duration(ev.Seconds * float64(time.Second)).Round(time.Millisecond)
	switch {
	case ev.StoppedBy == "timeout":
		return "timeout", "stopped at its timeout after " + d.String()
	case ev.Signal != "":
		how := "killed by " + ev.Signal + " after " + d.String()
		if ev.StoppedBy != "" {
			how += " (stopped by " + string(ev.StoppedBy) + ")"
		}
		return "killed", how
	case ev.Code != nil && *ev.Code == 0:
		return "success", "exit 0 after " + d.String()
	case ev.Code != nil:
		return "failure", "exit " + strconv.Itoa(*ev.Code) + " after " + d.String()
	}
	return "failure", "ended after " + d.String()
}
