package supervise

import (
	"fmt"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

const (
	// maxCatchUpRuns bounds the runs catch-up: "all" makes for one job:
	// the newest fires run, older ones are missed.
	maxCatchUpRuns = 1000
	// maxMissedEvents is how many missed fires of one job are journaled
	// one by one; one more event counts the rest.
	maxMissedEvents = 100
	// maxMissedScan bounds how many fires of one job a start steps
	// through (a year of a schedule every 30 s); beyond, the count is a
	// lower bound.
	maxMissedScan = 1_000_000
)

// missedFire is one fire of a job's schedule while kopf was down.
type missedFire struct {
	at time.Time
	sc config.Schedule
}

// downtime is what a job's schedules fired while kopf was down: the first
// fires and the last ones (the two may overlap), and how many in all.
type downtime struct {
	first, last []missedFire
	total       int
	capped      bool // more than maxMissedScan: total is a lower bound
}

// missedFires steps through the fires of scs in (from, to], oldest first,
// one per instant, keeping the first maxMissedEvents and the last keep.
func missedFires(scs []config.Schedule, from, to time.Time, keep int) downtime {
	var d downtime
	next := make([]time.Time, len(scs))
	for i, sc := range scs {
		next[i], _ = sc.Compiled.Next(from)
	}
	for d.total < maxMissedScan {
		k := -1
		for i, at := range next {
			if !at.IsZero() && !at.After(to) && (k < 0 || at.Before(next[k])) {
				k = i
			}
		}
		if k < 0 {
			return d
		}
		f := missedFire{at: next[k], sc: scs[k]}
		for i, at := range next {
			if at.Equal(f.at) { // several schedules at one instant: one fire
				next[i], _ = scs[i].Compiled.Next(at)
			}
		}
		d.total++
		if len(d.first) < maxMissedEvents {
			d.first = append(d.first, f)
		}
		if d.last = append(d.last, f); len(d.last) > keep {
			d.last = d.last[1:]
		}
	}
	d.capped = true
	return d
}

// catchUp settles, for each job the previous daemon ran, the schedule fires
// it missed while kopf was down — after the previous daemon's last event
// and up to now: under catch-up "last" the latest runs, under "all" each
// runs (the newest maxCatchUpRuns), oldest first, one after another; a
// fire older than catch-up-within does not run. Every fire that does not
// run is journaled as missed, with its instant: none is dropped silently.
func (s *Supervisor) catchUp(now time.Time) {
	prev := s.opts.Resume
	if prev == nil || prev.LastSeen.IsZero() {
		return
	}
	for _, unit := range s.ordered() {
		u, ok := unit.kind.(*jobUnit)
		name := unit.cfg.Name
		if !ok || !prev.Jobs[name] || len(u.cfg.Schedules) == 0 || s.clustered(unit.cfg) {
			// (In a cluster, the member that takes the job settles what
			// no member ran: clusterCatchUp.)
			continue
		}
		keep := 1
		if u.cfg.CatchUp == config.CatchUpAll {
			keep = maxCatchUpRuns
		}
		d := missedFires(u.cfg.Schedules, prev.LastSeen, now, keep)
		if d.total == 0 {
			continue
		}
		var runs []missedFire
		if u.cfg.CatchUp != config.CatchUpNone {
			for _, f := range d.last {
				if u.cfg.CatchUpWithin <= 0 || !f.at.Before(now.Add(-u.cfg.CatchUpWithin)) {
					runs = append(runs, f)
				}
			}
		}
		s.recordMissed(u, d, runs, now)
		for _, f := range runs {
			source := sourceName(f.sc)
			reason := fmt.Sprintf("catch-up: %s fired at %s while kopf was down", source, f.at.Format(time.RFC3339))
			s.record(now, journal.Event{Type: journal.CatchUp, Unit: name, Kind: "job", Source: source, At: f.at})
			s.log.Info(u.core.CatchUp(now, f.at, f.sc.Args, reason), "unit", name)
		}
		s.touch(unit)
	}
}

// recordMissed journals the fires of d that do not run, the first ones one
// by one and the rest in one event that counts them.
func (s *Supervisor) recordMissed(u *jobUnit, d downtime, runs []missedFire, now time.Time) {
	running := map[time.Time]bool{}
	for _, f := range runs {
		running[f.at] = true
	}
	why := func(f missedFire) string {
		switch {
		case u.cfg.CatchUp == config.CatchUpNone:
			return `fired while kopf was down; catch-up is "none"`
		case u.cfg.CatchUpWithin > 0 && f.at.Before(now.Add(-u.cfg.CatchUpWithin)):
			return fmt.Sprintf("fired while kopf was down, more than catch-up-within %s ago", u.cfg.CatchUpWithin)
		case u.cfg.CatchUp == config.CatchUpLast:
			return `fired while kopf was down; catch-up "last" runs only the latest fire`
		}
		return fmt.Sprintf(`fired while kopf was down; catch-up "all" runs the newest %d fires only`, maxCatchUpRuns)
	}
	listed, missed := 0, d.total-len(runs)
	for _, f := range d.first {
		if running[f.at] {
			continue
		}
		s.record(now, journal.Event{Type: journal.Missed, Unit: u.cfg.Name, Kind: "job", Source: sourceName(f.sc), At: f.at, Reason: why(f)})
		listed++
	}
	if rest := missed - listed; rest > 0 {
		more := fmt.Sprint(rest)
		if d.capped {
			more = "at least " + more
		}
		last := d.first[len(d.first)-1]
		s.record(now, journal.Event{Type: journal.Missed, Unit: u.cfg.Name, Kind: "job", Count: rest,
			Reason: fmt.Sprintf("%s more fires after %s did not run either (%s; the first %d are listed one by one)",
				more, last.at.Format(time.RFC3339), why(last), maxMissedEvents)})
	}
	if missed > 0 {
		s.log.Info(fmt.Sprintf("%s: %d schedule fires while kopf was down do not run (catch-up %s); the journal lists them as missed", u.cfg.Title, missed, u.cfg.CatchUp),
			"unit", u.cfg.Name)
	}
}

// sourceName is how a job's schedule reads in logs and the journal.
func sourceName(sc config.Schedule) string {
	return fmt.Sprintf("%s %q", sc.Key, sc.Source)
}

// sourceName is sourceName, the same string for every unit loaded by one
// reload whose schedule reads the same: 100k jobs of a few schedules hold
// a few names, not 100k.
func (s *Supervisor) sourceName(sc config.Schedule) string {
	k := [2]string{sc.Key, sc.Source}
	if n, ok := s.names[k]; ok {
		return n
	}
	if s.names == nil {
		s.names = map[[2]string]string{}
	}
	n := sourceName(sc)
	s.names[k] = n
	return n
}
