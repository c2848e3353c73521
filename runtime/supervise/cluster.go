package supervise

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
)

// Cluster is what the supervisor asks of the cluster it is a member of
// (runtime/cluster's Member): which units it owns, and the right to start
// each run of them. With Options.Cluster nil, kopf runs everything here.
type Cluster interface {
	Name() string
	SetUnits([]cluster.Unit)
	Claim(ctx context.Context, req cluster.Request, now time.Time) (cluster.Claim, error)
	Live() bool
	Ended(c cluster.Claim, start, end time.Time, outcome string)
	Forward(ctx context.Context, job string, args []string, by string) error
	Release(unit string, epoch int64)
}

// causeLeaseLoss is why a run is stopped when its member stops owning
// the unit.
const causeLeaseLoss = "lease lost"

// clustered reports whether one member of the cluster at a time runs u
// (placement "one"); without a cluster, nothing is.
func (s *Supervisor) clustered(c *config.Unit) bool {
	return s.opts.Cluster != nil && !c.Placement().Each
}

// Known reports whether a job of this name is in the config: nil, or an
// error naming the closest.
func (s *Supervisor) Known(job string) error {
	return s.call(func(time.Time) error {
		_, _, err := s.job(job)
		return err
	})
}

// Movable reports whether a unit can be handed to another member: it is in
// the config, and one member at a time runs it.
func (s *Supervisor) Movable(name string) error {
	return s.call(func(time.Time) error {
		u, err := s.lookup(name)
		switch {
		case err != nil:
			return err
		case s.opts.Cluster == nil:
			return errors.New("this kopf is not in a cluster")
		case !s.clustered(u.cfg):
			return fmt.Errorf("%s runs on every member (placement \"each\"): there is nothing to hand off", name)
		}
		return nil
	})
}

// errStaleStart is a run that started after the member's fence deadline.
var errStaleStart = errors.New("the run started after this member's fence deadline (kopf was frozen between the claim and the start) and was stopped at once")

// claimError is a run the cluster did not grant; the cluster journaled it
// (claim_refused), so it is no spawn error, and a job does not retry it.
type claimError struct{ err error }

func (e claimError) Error() string { return "the cluster did not grant the run: " + e.err.Error() }
func (e claimError) Unwrap() error { return e.err }

// claimed wraps a start so that it claims the run first, and starts it
// only if the cluster grants it while this member is live. The claim and
// the start run off the loop, like the start alone.
func (s *Supervisor) claimed(r *running, req cluster.Request, begin func() func() (Process, error), env func(cluster.Claim)) func() (Process, error) {
	type result struct {
		p   Process
		c   cluster.Claim
		err error
	}
	done := make(chan result, 1)
	cl := s.opts.Cluster
	go func() {
		c, err := cl.Claim(context.Background(), req, s.opts.Now())
		if err != nil {
			done <- result{c: c, err: claimError{err}}
			return
		}
		env(c)
		if !cl.Live() {
			// Granted, but the fence deadline passed before the start:
			// the claim says so, if etcd takes it (else a later owner
			// records it lost).
			cl.Ended(c, req.Start, s.opts.Now(), "not started: this member's fence deadline passed after the claim")
			done <- result{c: c, err: claimError{cluster.ErrFenced}}
			return
		}
		p, err := begin()()
		if err != nil && !req.Proc {
			cl.Ended(c, req.Start, s.opts.Now(), "could not start: "+err.Error())
		}
		if err == nil && !cl.Live() {
			// The member was frozen (SIGSTOP, a paused VM, swap) between
			// the check above and the start: the run began after the
			// fence deadline, when another member may own the unit and
			// run its next instants. It ends at once, and says so.
			p.Stop(0)
			<-p.Done()
			if !req.Proc {
				cl.Ended(c, req.Start, s.opts.Now(), "fenced: "+errStaleStart.Error())
			}
			done <- result{c: c, err: claimError{errStaleStart}}
			return
		}
		done <- result{p: p, c: c, err: err}
	}()
	return func() (Process, error) {
		res := <-done
		if res.err == nil && !req.Proc {
			r.claim = &res.c
		}
		return res.p, res.err
	}
}

// claimEnv is what a run learns of its claim: its fence token, the
// instant, the owner's epoch and the member.
func claimEnv(c cluster.Claim, member string) []string {
	env := []string{
		"KOPF_FENCE=" + strconv.FormatInt(c.Fence, 10),
		"KOPF_EPOCH=" + strconv.FormatInt(c.Epoch, 10),
		"KOPF_MEMBER=" + member,
	}
	if !c.At.IsZero() {
		env = append(env, "KOPF_INSTANT="+c.At.UTC().Format(time.RFC3339Nano))
	}
	if !c.Deadline.IsZero() {
		env = append(env, "KOPF_FENCE_DEADLINE="+c.Deadline.UTC().Format(time.RFC3339Nano))
	}
	return env
}

// claimRequest is the claim a job's run needs.
func claimRequest(name string, run job.Run, now time.Time) cluster.Request {
	return cluster.Request{Unit: name, Instants: run.Fires, CatchUp: run.CatchUp, Start: now}
}

// claimNow claims a run of a job without a command, which runs on the
// loop: there is no process to wait for, only the claim.
func (s *Supervisor) claimNow(name string, run job.Run, now time.Time) (cluster.Claim, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.opts.Cluster.Claim(ctx, claimRequest(name, run, now), now)
}

// pushUnits tells the cluster the units of placement "one" the config
// has, off the loop and in order: the latest list wins.
func (s *Supervisor) pushUnits() {
	if s.opts.Cluster == nil {
		return
	}
	var units []cluster.Unit
	for _, u := range s.ordered() {
		if u.removed || !s.clustered(u.cfg) {
			continue
		}
		cu := cluster.Unit{Name: u.cfg.Name, Fingerprint: u.kind.fingerprint(), Prefer: u.cfg.Placement().Prefer}
		if j, ok := u.kind.(*jobUnit); ok && len(j.cfg.Schedules) > 0 {
			scs := j.cfg.Schedules
			cu.Fires = func(after, until time.Time, limit int) []time.Time {
				d := missedFires(scs, after, until, limit)
				out := make([]time.Time, 0, len(d.last))
				for _, f := range d.last {
					out = append(out, f.at)
				}
				return out
			}
		}
		units = append(units, cu)
	}
	if s.pushing == nil {
		s.pushing = make(chan []cluster.Unit, 1)
		cl := s.opts.Cluster
		go func() {
			for us := range s.pushing {
				cl.SetUnits(us)
			}
		}()
	}
	select {
	case <-s.pushing: // a list not yet taken is out of date
	default:
	}
	s.pushing <- units
}

// OwnerChanged is runtime/cluster's Owner callback: this member gained or
// lost a unit. It returns once the loop has acted on it.
func (s *Supervisor) OwnerChanged(c cluster.Change) {
	err := s.call(func(now time.Time) error {
		if c.Owned {
			s.gained(c, now)
		} else {
			s.lost(c, now)
		}
		return nil
	})
	if errors.Is(err, ErrStopped) && !c.Owned && c.Release {
		s.opts.Cluster.Release(c.Unit, c.Epoch)
	}
}

// gained makes the unit run here: a job's schedules count from the
// instant the cluster handed it over (c.Since), the instants recorded
// missed before it take the job's catch-up; a proc starts.
func (s *Supervisor) gained(c cluster.Change, now time.Time) {
	if s.owned == nil {
		s.owned = map[string]int64{}
	}
	s.owned[c.Unit] = c.Epoch
	u := s.units[c.Unit]
	if u == nil || u.removed || !s.clustered(u.cfg) {
		return
	}
	u.away = false
	s.touch(u)
	switch k := u.kind.(type) {
	case *jobUnit:
		spec := jobSpec(k.cfg, s.seed, sourceName)
		spec.RunOnStart = false // the cluster's units change hands; they do not start anew
		since := c.Since
		if since.IsZero() || since.After(now) {
			since = now
		}
		k.core = job.Supersede(k.core, spec, since, s.opts.Rand)
		s.clusterCatchUp(k, c.Missed, now)
	case *procUnit:
		if u.run == nil && !u.stopped {
			u.startAt = now
		}
	}
	s.log.Info(fmt.Sprintf("%s runs on this member from now (epoch %d): %s", u.cfg.Title, c.Epoch, c.Reason), "unit", c.Unit)
}

// lost stops the unit running here: a proc is stopped, a job's run
// finishes (or is stopped, on-lease-loss "kill"), and nothing starts until
// the unit is owned here again. A unit handed off is released once its run
// has ended.
func (s *Supervisor) lost(c cluster.Change, now time.Time) {
	delete(s.owned, c.Unit)
	u := s.units[c.Unit]
	if u == nil || !s.clustered(u.cfg) {
		if c.Release {
			go s.opts.Cluster.Release(c.Unit, c.Epoch)
		}
		return
	}
	u.away = true
	u.startAt = time.Time{}
	if k, ok := u.kind.(*jobUnit); ok {
		// A run that triggers queued here goes to the new owner as a
		// trigger; one that schedule fires queued is the new owner's to
		// run or record missed. Then a fresh core, which counts as
		// running while the run finishes.
		if args, reasons, fires, waiting := k.core.Waiting(); waiting && len(fires) == 0 {
			s.forward(c.Unit, args, "this member, which lost the job with the run queued ("+strings.Join(reasons, "; ")+")")
		} else if waiting {
			s.record(now, journal.Event{Type: journal.Skipped, Unit: c.Unit, Kind: journal.KindJob, At: fires[0],
				Reason: "queued when this member lost the job: its instants are the new owner's, which runs them or records them missed"})
		}
		spec := jobSpec(k.cfg, s.seed, sourceName)
		spec.RunOnStart = false
		k.core = job.Supersede(k.core, spec, now, s.opts.Rand)
	}
	s.touch(u)
	if r := u.run; r != nil {
		_, isProc := u.kind.(*procUnit)
		if isProc || u.cfg.Placement().KillOnLoss {
			s.stopRun(r, causeLeaseLoss, "this member no longer owns it: "+c.Reason)
		} else {
			s.log.Info(fmt.Sprintf("%s: this member no longer owns it (%s); its run finishes, and its instant is never run again", u.cfg.Title, c.Reason), "unit", c.Unit)
		}
	}
	if c.Release {
		if u.run == nil {
			go s.opts.Cluster.Release(c.Unit, c.Epoch)
		} else {
			if s.releasing == nil {
				s.releasing = map[string]int64{}
			}
			s.releasing[c.Unit] = c.Epoch
		}
	}
}

// clusterEnded writes a run's outcome into its claim, and releases a unit
// handed off once its run has ended.
func (s *Supervisor) clusterEnded(u *unit, r *running, how string, now time.Time) {
	if s.opts.Cluster == nil {
		return
	}
	if r.claim != nil {
		c, cl, start := *r.claim, s.opts.Cluster, r.start
		go cl.Ended(c, start, now, how)
	}
	if epoch, ok := s.releasing[r.unit]; ok && (u == nil || u.run == nil) {
		delete(s.releasing, r.unit)
		go s.opts.Cluster.Release(r.unit, epoch)
	}
}

// clusterCatchUp applies a job's catch-up to the instants the cluster
// recorded missed when this member took the job: the runs catch-up asks
// for claim those instants (only this member may: it recorded them);
// the others are journaled missed.
func (s *Supervisor) clusterCatchUp(j *jobUnit, missed []time.Time, now time.Time) {
	if len(missed) == 0 {
		return
	}
	var runs []time.Time
	within := func(at time.Time) bool {
		return j.cfg.CatchUpWithin <= 0 || !at.Before(now.Add(-j.cfg.CatchUpWithin))
	}
	switch j.cfg.CatchUp {
	case config.CatchUpLast:
		if at := missed[len(missed)-1]; within(at) {
			runs = []time.Time{at}
		}
	case config.CatchUpAll:
		for _, at := range missed[max(0, len(missed)-maxCatchUpRuns):] {
			if within(at) {
				runs = append(runs, at)
			}
		}
	}
	listed := 0
	for _, at := range missed {
		if len(runs) > 0 && !at.Before(runs[0]) {
			break // runs are the newest, in order: the rest run
		}
		if listed < maxMissedEvents {
			s.record(now, journal.Event{Type: journal.Missed, Unit: j.cfg.Name, Kind: journal.KindJob, At: at,
				Reason: fmt.Sprintf("no member of the cluster ran it: its owner was gone or fenced (catch-up %s)", j.cfg.CatchUp)})
		}
		listed++
	}
	if listed > maxMissedEvents {
		s.record(now, journal.Event{Type: journal.Missed, Unit: j.cfg.Name, Kind: journal.KindJob, Count: listed - maxMissedEvents,
			Reason: fmt.Sprintf("%d more instants no member ran (the first %d are listed one by one)", listed-maxMissedEvents, maxMissedEvents)})
	}
	for _, at := range runs {
		sc := scheduleAt(j.cfg.Schedules, at)
		reason := fmt.Sprintf("catch-up: %s fired at %s while no member of the cluster ran the job", sourceName(sc), at.Format(time.RFC3339))
		s.record(now, journal.Event{Type: journal.CatchUp, Unit: j.cfg.Name, Kind: journal.KindJob, Source: sourceName(sc), At: at})
		s.log.Info(j.core.CatchUp(now, at, sc.Args, reason), "unit", j.cfg.Name)
	}
}

// scheduleAt is the schedule of scs that fires at at (the first, when
// several do).
func scheduleAt(scs []config.Schedule, at time.Time) config.Schedule {
	for _, sc := range scs {
		if n, ok := sc.Compiled.Next(at.Add(-time.Nanosecond)); ok && n.Equal(at) {
			return sc
		}
	}
	return scs[0]
}

// forward sends a trigger for a job this member does not own to its
// owner, off the loop.
func (s *Supervisor) forward(name string, args []string, by string) {
	cl, log := s.opts.Cluster, s.log
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cl.Forward(ctx, name, args, by); err != nil {
			log.Warn("forwarding a trigger of "+name+" to its owner failed: "+err.Error(), "unit", name)
		}
	}()
}

// ClusterTrigger is runtime/cluster's Trigger callback: a trigger another
// member forwarded for a job this member owns.
func (s *Supervisor) ClusterTrigger(name string, args []string, by string) {
	s.call(func(now time.Time) error {
		u, j, err := s.job(name)
		if err != nil {
			s.log.Warn("a forwarded trigger names "+name+": "+err.Error(), "unit", name)
			return nil
		}
		s.triggerJob(u, j, args, by, "triggered by "+by, now)
		s.tick(now)
		return nil
	})
}

// elsewhere is the answer to kopf start, stop and restart of a unit
// another member owns.
func (s *Supervisor) elsewhere(u *unit) error {
	return fmt.Errorf("%s runs on another member of the cluster (kopf cluster members says which); ask that member, or kopf cluster handoff %s to this one", u.cfg.Name, u.cfg.Name)
}

// isAway reports whether a unit of this config belongs to another member
// now: of placement "one", and not owned here.
func (s *Supervisor) isAway(c *config.Unit) bool {
	if !s.clustered(c) {
		return false
	}
	_, ok := s.owned[c.Name]
	return !ok
}
