package supervise

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/restart"
)

// unit is one job or proc of the running config. What every unit has — its
// settings, its current run, its restart policy and what kopf status shows
// — is here, and the loop's steps (reload, arm, tick, stop, status) handle
// every unit alike; what only one kind decides is behind kind.
type unit struct {
	cfg     *config.Unit // the kind's config's shared part
	kind    unitKind     // *jobUnit or *procUnit
	run     *running     // nil when none
	removed bool         // stopping because it left the config
	dirty   bool         // touched since the last refresh (Supervisor.dirty)
	// away: in a cluster, another member owns the unit (placement
	// "one"); nothing of it starts here.
	away bool
	// qi is its index in the queue plus one; 0 when not queued. (An
	// int32 beside the flags: a daemon has a unit for each of 100k jobs.)
	qi int32
	// startAt is when the restart policy starts the unit again (a proc
	// after an end, a job's retry of a failed run); zero for none.
	startAt time.Time
	restart *restart.Tracker // a job's is made on first use (jobUnit.tracker)
	status
	wakeAt time.Time // its time in the queue; zero when not queued
}

// unitKind is what a kind of unit decides for itself. The loop calls it
// for every unit alike; the decisions are made by the pure cores
// (runtime/job, runtime/restart, runtime/health) it holds.
type unitKind interface {
	journalKind() journal.Kind
	// fingerprint identifies the config: a reload keeps a unit whose
	// fingerprint did not change.
	fingerprint() string
	// load makes the kind's config the unit's, at a start or after a
	// change, taking over from prev (the unit's kind before, nil for a
	// new unit), whose run, if any, is already being stopped.
	load(s *Supervisor, u *unit, prev unitKind, now time.Time)
	// unload lets go of what the kind holds, as the unit leaves the
	// config.
	unload()
	// adopt makes c, a config with the same settings as the kind's, the
	// kind's config.
	adopt(c any)
	// wake is when the unit next needs the loop, zero for never; only
	// called while kopf is not stopping.
	wake(u *unit) time.Time
	// tick starts what is due at now; the loop calls it when the unit's
	// wake has come.
	tick(s *Supervisor, u *unit, now time.Time)
	// ended handles the end of r, the unit's run, or of the run of a
	// previous config of it (r.by is not the unit's kind).
	ended(s *Supervisor, u *unit, r *running, ex proc.Exit, now time.Time)
	// start is kopf start and kopf restart (verb): start the unit now,
	// though it may have been stopped; it says what became of it.
	start(s *Supervisor, u *unit, now time.Time, verb string) string
	// status fills in what only the kind knows.
	status(s *Supervisor, u *unit, now time.Time, st *control.Unit)
}

// status is what every unit keeps for kopf status and the control
// commands.
type status struct {
	loaded    time.Time     // when the unit was loaded
	stopped   bool          // by kopf stop, until kopf start
	stoppedAt time.Time     // when
	lastExit  *control.Exit // how its last process ended
}

// kindOf returns the kind of a job's or proc's config, not yet loaded.
func kindOf(c any) (*config.Unit, unitKind) {
	switch c := c.(type) {
	case *config.Job:
		return &c.Unit, &jobUnit{cfg: c}
	case *config.Proc:
		return &c.Unit, &procUnit{cfg: c}
	}
	panic(fmt.Sprintf("supervise: %T is not a unit's config", c))
}

// Summary says what a reload did, unit names in order.
type Summary struct {
	Kept, Restarted, Stopped, Started []string
}

func (m Summary) String() string {
	part := func(n []string, what string) string {
		if len(n) == 0 {
			return fmt.Sprintf("%d %s", 0, what)
		}
		return fmt.Sprintf("%d %s (%s)", len(n), what, strings.Join(n, ", "))
	}
	return strings.Join([]string{part(m.Restarted, "restarted"), part(m.Stopped, "stopped"), part(m.Started, "started"), fmt.Sprintf("%d kept", len(m.Kept))}, ", ")
}

// apply makes cfg the running config: unchanged units keep running
// untouched, changed ones restart, removed ones stop, new ones start.
func (s *Supervisor) apply(cfg *config.Config, now time.Time) Summary {
	var sum Summary
	// A new jitter-seed moves every jittered job's fires: those change.
	reseeded := cfg.JitterSeed != s.seed
	s.seed = cfg.JitterSeed
	next := s.byName(cfg)
	for _, u := range s.ordered() {
		c, ok := next[u.cfg.Name]
		switch {
		case !ok:
			s.remove(u, now)
			sum.Stopped = append(sum.Stopped, u.cfg.Name)
		case s.replace(u, c, reseeded, now):
			sum.Restarted = append(sum.Restarted, u.cfg.Name)
		default:
			sum.Kept = append(sum.Kept, u.cfg.Name)
		}
		delete(next, u.cfg.Name)
	}
	sum.Started = s.add(cfg, next, now)
	s.flush()
	s.names = nil
	s.pushUnits()
	what := "config"
	if cfg.File != "" {
		what += " " + cfg.File
	}
	s.log.Info(fmt.Sprintf("%s: %d kept, %d restarted, %d stopped, %d started", what,
		len(sum.Kept), len(sum.Restarted), len(sum.Stopped), len(sum.Started)),
		"file", cfg.File, "kept", someNames(sum.Kept), "restarted", someNames(sum.Restarted),
		"stopped", someNames(sum.Stopped), "started", someNames(sum.Started))
	return sum
}

// byName is cfg's units by name, to compare with the running ones; nil
// when none runs (the first load), when every unit of cfg is new.
func (s *Supervisor) byName(cfg *config.Config) map[string]any {
	if len(s.units) == 0 {
		return nil
	}
	next := make(map[string]any, len(cfg.Jobs)+len(cfg.Procs))
	for _, j := range cfg.Jobs {
		next[j.Name] = j
	}
	for _, p := range cfg.Procs {
		next[p.Name] = p
	}
	return next
}

// remove takes u out of the config: its run is stopped, and it goes once
// that has ended.
func (s *Supervisor) remove(u *unit, now time.Time) {
	s.recordSource(now, journal.OpRemove, u.kind.journalKind(), u.cfg)
	u.kind.unload()
	u.removed, u.startAt = true, time.Time{}
	s.touch(u)
	if u.run == nil {
		delete(s.units, u.cfg.Name)
	} else {
		s.stopRun(u.run, journal.StoppedRemoved, "removed from the config")
	}
}

// replace gives u its new config c, and reports whether that changed u:
// a changed unit's run is stopped and it loads again; an unchanged one
// keeps running and only holds c from now on.
func (s *Supervisor) replace(u *unit, c any, reseeded bool, now time.Time) bool {
	ucfg, kind := kindOf(c)
	// An entry written as before has the settings it had, and others are
	// compared: a large config's reload compares only the entries that
	// changed.
	same := ucfg.SameEntry(u.cfg) || kind.fingerprint() == u.kind.fingerprint()
	if same && !(reseeded && jittered(c)) {
		// The unit holds the new config from now on, so that the old one
		// (its positions out of date) is let go.
		u.kind.adopt(c)
		u.cfg = ucfg
		return false
	}
	s.recordSource(now, journal.OpUpdate, kind.journalKind(), ucfg)
	if u.run != nil {
		s.stopRun(u.run, journal.StoppedReload, "changed in the config")
	}
	prev := u.kind
	prev.unload()
	u.cfg, u.kind, u.removed = ucfg, kind, false
	u.away = s.isAway(ucfg)
	kind.load(s, u, prev, now)
	s.touch(u)
	return true
}

// add loads the units of cfg that are in next — all of them when next is
// nil (the first load) — jobs before procs, each by name, as ordered
// walks them, which is the order of the config's lists; it returns their
// names.
func (s *Supervisor) add(cfg *config.Config, next map[string]any, now time.Time) []string {
	added := make([]*unit, 0, max(0, len(cfg.Jobs)+len(cfg.Procs)-len(s.units)))
	take := func(name string, c any) {
		if _, ok := next[name]; ok || next == nil {
			ucfg, kind := kindOf(c)
			added = append(added, &unit{cfg: ucfg, kind: kind, status: status{loaded: now}})
		}
	}
	for _, j := range cfg.Jobs {
		take(j.Name, j)
	}
	for _, p := range cfg.Procs {
		take(p.Name, p)
	}
	if !slices.IsSortedFunc(added, unitOrder) {
		slices.SortFunc(added, unitOrder)
	}
	var names []string
	for _, u := range added {
		names = append(names, u.cfg.Name)
		s.recordSource(now, journal.OpAdd, u.kind.journalKind(), u.cfg)
		s.units[u.cfg.Name] = u
		u.away = s.isAway(u.cfg)
		u.kind.load(s, u, nil, now)
		s.touch(u)
	}
	return names
}

// logNames is how many names of each kind a reload's log line lists; the
// journal has a source event for every unit added, changed or removed.
const logNames = 20

// someNames is names for a log line: all of them, or the first logNames
// and how many more there are, so that loading 100k jobs is not a log
// line of a megabyte.
func someNames(names []string) []string {
	if len(names) <= logNames {
		return names
	}
	return append(names[:logNames:logNames], fmt.Sprintf("… and %d more", len(names)-logNames))
}

// jittered reports whether c is a job whose fires move with the
// jitter-seed.
func jittered(c any) bool {
	j, ok := c.(*config.Job)
	return ok && j.Jitter > 0
}

// ordered returns every unit, jobs before procs, each kind by name: the
// order in which the loop walks them, and so the order of their starts
// within one instant.
func (s *Supervisor) ordered() []*unit {
	out := make([]*unit, 0, len(s.units))
	for _, u := range s.units {
		out = append(out, u)
	}
	slices.SortFunc(out, unitOrder)
	return out
}

func unitOrder(a, b *unit) int {
	ak, bk := a.kind.journalKind(), b.kind.journalKind()
	if ak != bk {
		return strings.Compare(string(ak), string(bk)) // "job" < "proc"
	}
	return strings.Compare(a.cfg.Name, b.cfg.Name)
}

func (s *Supervisor) recordSource(now time.Time, op journal.Op, kind journal.Kind, u *config.Unit) {
	s.hold(now, journal.Event{Type: journal.Source, Op: op, Unit: u.Name, Kind: kind, File: u.Pos.Filename})
}

// unitEnded handles the end of a unit's run: its status, the removal of a
// unit that left the config, and the rest by its kind.
func (s *Supervisor) unitEnded(r *running, ex proc.Exit, now time.Time) {
	u := s.units[r.unit]
	if u == nil || u.run != r {
		return
	}
	s.logEnd(r, ex, now)
	u.run, u.lastExit = nil, exitStatus(ex, now)
	s.touch(u)
	s.clusterEnded(u, r, describeEnd(r, ex), now)
	if u.removed {
		delete(s.units, r.unit)
		return
	}
	u.kind.ended(s, u, r, ex, now)
}

// lookup finds a unit of the running config by name.
func (s *Supervisor) lookup(name string) (*unit, error) {
	if u := s.units[name]; u != nil && !u.removed {
		return u, nil
	}
	return nil, s.noSuch(name, "job or proc")
}

// job finds a job by name.
func (s *Supervisor) job(name string) (*unit, *jobUnit, error) {
	u := s.units[name]
	if u == nil || u.removed {
		return nil, nil, s.noSuch(name, "job")
	}
	j, ok := u.kind.(*jobUnit)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a proc, not a job; kopf restart %s restarts it", name, name)
	}
	return u, j, nil
}
