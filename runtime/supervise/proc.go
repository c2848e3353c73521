package supervise

import (
	"fmt"
	"time"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/restart"
)

// procUnit is what a proc decides for itself: it always runs, restarted by
// its restart policy after every end, with health checks and file watches.
type procUnit struct {
	cfg   *config.Proc
	files *fileWatch // restart-on-change and hup-on-change; nil without
}

func (p *procUnit) journalKind() journal.Kind { return journal.KindProc }
func (p *procUnit) fingerprint() string       { return p.cfg.Fingerprint() }
func (p *procUnit) adopt(c any)               { p.cfg = c.(*config.Proc) }

func (p *procUnit) unload() {
	p.files.stop()
	p.files = nil
}

// newProcRestart is a proc's restart policy, fresh: at a load and at an
// operator's start.
func (s *Supervisor) newProcRestart(p *config.Proc) *restart.Tracker {
	return restart.New(restart.Policy{Always: true, Backoff: p.Backoff, Idle: p.Idle, Jitter: s.opts.RestartJitter}, s.opts.Rand)
}

// load starts the proc now, or once the run of its previous config has
// ended, unless kopf stop stopped it.
func (p *procUnit) load(s *Supervisor, u *unit, _ unitKind, now time.Time) {
	u.restart = s.newProcRestart(p.cfg)
	p.files = s.watchFiles(p.cfg)
	switch {
	case u.run != nil:
		u.startAt = time.Time{} // started again once the old one has exited
	case !u.stopped:
		u.startAt = now
	}
}

func (p *procUnit) wake(u *unit) time.Time {
	switch r := u.run; {
	case r == nil && u.away:
		return time.Time{}
	case r == nil:
		return u.startAt
	case r.checks != nil && !r.checks.running && !r.stopSent:
		return r.checks.t.Due()
	}
	return time.Time{}
}

func (p *procUnit) tick(s *Supervisor, u *unit, now time.Time) {
	if u.run == nil && !u.startAt.IsZero() && !u.startAt.After(now) && !u.away {
		s.startProc(u, p, now)
	}
	s.checkDue(u, p.cfg, now)
}

func (s *Supervisor) startProc(u *unit, p *procUnit, now time.Time) {
	r := newRun(u, now)
	u.startAt = time.Time{}
	if s.clustered(&p.cfg.Unit) {
		r.req = &cluster.Request{Unit: p.cfg.Name, Proc: true, Start: now}
	}
	if err := s.spawn(r, p.cfg.Command, job.Run{}); err != nil {
		d := u.restart.StartFailed(now, err)
		u.startAt = d.At
		msg := fmt.Sprintf("start %s failed: %v; next try at %s (%s)", r.title, err, d.At.Format(time.RFC3339), d.Text)
		if d.Reason == restart.StartError {
			msg = fmt.Sprintf("start %s failed: %v; %s", r.title, err, d.Text)
		}
		if d.Say {
			s.log.Error(msg, "unit", r.unit, "argv", p.cfg.Command)
		} else {
			s.log.Debug(msg, "unit", r.unit, "argv", p.cfg.Command)
		}
		return
	}
	u.run = r
	u.restart.Started()
	s.startChecks(r, p.cfg, now)
	if p.cfg.LogStart {
		s.log.Info("start "+r.title, "unit", r.unit, "pid", r.p.Pid())
	}
}

func (p *procUnit) ended(s *Supervisor, u *unit, r *running, ex proc.Exit, now time.Time) {
	switch {
	case s.stopping, u.stopped:
	case r.by != p, r.stopSent && r.cause != journal.StoppedUnhealthy:
		u.startAt = now // restarted with its new config, or by kopf restart
	default:
		d := u.restart.Ended(r.start, now, ex.Code != 0 || ex.Signal != 0)
		u.startAt = d.At
		s.log.Info(fmt.Sprintf("restart %s at %s: %s", r.title, d.At.Format(time.RFC3339), d.Text), "unit", r.unit)
	}
}

// start starts the proc now, with a fresh restart policy, unless it runs;
// verb names the command.
func (p *procUnit) start(s *Supervisor, u *unit, now time.Time, verb string) string {
	if u.run != nil && !u.run.stopSent {
		return fmt.Sprintf("%s is already running since %s (pid %d)", p.cfg.Name, u.run.start.Format(time.RFC3339), u.run.p.Pid())
	}
	u.stopped = false
	u.restart = s.newProcRestart(p.cfg) // an operator's start is a fresh start
	s.touch(u)
	if u.run != nil {
		u.startAt = time.Time{} // started once the old process has ended
		return fmt.Sprintf("%s starts once its process (pid %d) has ended", p.cfg.Name, u.run.p.Pid())
	}
	u.startAt = now
	s.touch(u)
	s.tick(now)
	if u.run == nil {
		return fmt.Sprintf("%s could not %s; kopf tries again at %s (see kopf's log)", p.cfg.Name, verb, u.startAt.Format(time.RFC3339))
	}
	return fmt.Sprintf("started %s (pid %d)", p.cfg.Name, u.run.p.Pid())
}

func (p *procUnit) status(s *Supervisor, u *unit, now time.Time, st *control.Unit) {
	switch {
	case u.run != nil:
		if c := u.run.checks; c != nil {
			st.Health, st.LastCheck = c.t.State(), c.last
		}
	case u.stopped:
	case u.lastExit != nil:
		st.State, st.Since, st.RestartAt = control.BackingOff, u.lastExit.At, u.startAt
	default:
		st.State, st.Since, st.RestartAt = control.Starting, u.loaded, u.startAt
	}
}
