package daemon

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// reloader reads the sources again and hands a changed config to the
// supervisor, one reload at a time, for the watcher, SIGHUP and kopf
// reload alike.
type reloader struct {
	mu sync.Mutex
	d  *daemon
}

// reload says what it changed, and returns what is wrong with the sources
// now (each invalid file runs its last valid version). When ctx is done
// (kopf is stopping) it stops reading and changes nothing.
func (r *reloader) reload(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.d
	cfg, problems := d.set.Rescan(ctx)
	if cfg == nil {
		return "nothing changed", problems
	}
	// systemd hears of a reload that changes something: RELOADING=1
	// while the supervisor applies it, READY=1 once it has.
	d.notify.reloading()
	if !reflect.DeepEqual(withoutPos(cfg.Cluster), withoutPos(d.conf.Cluster)) {
		d.log.Warn("the config's \"cluster\" section changed; kopf takes it at its next start")
	}
	sum, err := d.sup.Reload(cfg)
	if err != nil {
		d.events.Publish(journal.Event{Type: journal.Reloaded, Time: time.Now(), Error: err.Error()})
		d.notify.ready("reload failed: " + err.Error())
		return "", err
	}
	d.events.Publish(journal.Event{Type: journal.Reloaded, Time: time.Now(), Reason: sum.String()})
	d.conf = cfg
	d.setAlerts(cfg)
	d.notify.ready(status(cfg))
	return "reloaded: " + sum.String(), problems
}

// daemonControl answers the control socket's requests, and the page's,
// with the supervisor and the reloader.
type daemonControl struct{ d *daemon }

func (c daemonControl) Handle(ctx context.Context, req control.Request) control.Response {
	var resp control.Response
	var err error
	s := c.d.sup
	switch req.Cmd {
	case control.CmdStatus:
		resp.Units, err = s.Status()
		resp.Message = fmt.Sprintf("%d jobs and procs", len(resp.Units))
		resp.Tracking = c.d.host.Tracking().String()
	case control.CmdTrigger:
		resp.Message, err = s.Trigger(req.Name, req.Args, "control")
	case control.CmdStart:
		resp.Message, err = s.Start(req.Name)
	case control.CmdStop:
		resp.Message, err = s.Stop(ctx, req.Name)
	case control.CmdRestart:
		resp.Message, err = s.Restart(ctx, req.Name)
	case control.CmdReload:
		resp.Message, err = c.d.reloader.reload(ctx)
	case control.CmdCluster, control.CmdClaims, control.CmdHandoff:
		resp, err = c.clusterRequest(ctx, req)
	case control.CmdNext:
		var times []time.Time
		times, err = s.Next(req.Name, req.N)
		for _, t := range times {
			resp.Times = append(resp.Times, t.Format(time.RFC3339))
		}
	default:
		err = fmt.Errorf("unknown command %q", req.Cmd)
	}
	if err != nil {
		resp.Error = err.Error()
		return resp
	}
	resp.OK = true
	return resp
}
