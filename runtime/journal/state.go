package journal

import (
	"cmp"
	"maps"
	"slices"
)

// state is what a daemon's events say it holds. Open folds the journal
// into one to learn what the earlier daemon left, and the Journal folds its
// own events into another to write the state event that begins a file after
// a rotation: one fold for both, so the two cannot disagree about what an
// event means.
type state struct {
	bootID  string
	running map[int]Proc // by pid
	jobs    map[string]bool
	quit    bool
}

func newState() *state {
	return &state{running: map[int]Proc{}, jobs: map[string]bool{}}
}

// apply folds one event into s. Types it does not know, written by a newer
// kopf, change nothing.
func (s *state) apply(ev Event) {
	switch ev.Type {
	case Acquired:
		// A new daemon: its jobs are its own, but the processes earlier
		// daemons left stay listed until a leftover event says what became
		// of them, so that one dying before it dealt with them does not
		// make the next forget them.
		s.jobs, s.quit, s.bootID = map[string]bool{}, false, ev.BootID
	case State:
		s.running = map[int]Proc{}
		for _, p := range ev.Running {
			s.running[p.PID] = p
		}
		s.jobs = map[string]bool{}
		for _, name := range ev.Jobs {
			s.jobs[name] = true
		}
		if ev.BootID != "" {
			s.bootID = ev.BootID
		}
	case Source:
		if ev.Kind != "job" {
			break
		}
		switch ev.Op {
		case "add", "update":
			s.jobs[ev.Unit] = true
		case "remove":
			delete(s.jobs, ev.Unit)
		}
	case Spawned:
		s.running[ev.PID] = Proc{Unit: ev.Unit, Kind: ev.Kind, PID: ev.PID, StartTicks: ev.StartTicks, Run: ev.Run, Cgroup: ev.Cgroup, BootID: s.bootID}
	case Exited:
		delete(s.running, ev.PID)
	case Leftover:
		if ev.Action != LeftoverFailed {
			delete(s.running, ev.PID)
		}
	case Quit:
		s.quit = true
	}
}

// procs returns the running processes by unit, then pid.
func (s *state) procs() []Proc {
	return slices.SortedFunc(maps.Values(s.running), func(a, b Proc) int {
		return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.PID, b.PID))
	})
}

// jobList returns the jobs, sorted.
func (s *state) jobList() []string {
	return slices.Sorted(maps.Keys(s.jobs))
}
