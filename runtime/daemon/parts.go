package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
	"github.com/kopf/kopf/runtime/stream"
	"github.com/kopf/kopf/runtime/supervise"
)

// refuse logs why the daemon will not start and returns ErrRefused.
func (d *daemon) refuse(msg string, args ...any) error {
	d.log.Error("refusing to start: "+msg, args...)
	return ErrRefused
}

// startWebListener takes --http's port before anything else: a port in
// use refuses the start before the journal is touched, and the metrics
// see every event from the first.
func (d *daemon) startWebListener(context.Context) error {
	h := d.cfg.HTTP
	if h == nil {
		return nil
	}
	w, err := newWebServer(h.Addr, h.Token, d.cfg.Hosts, d.cfg.Build, d.log)
	if err != nil {
		return d.refuse(fmt.Sprintf("--http %s: %v", h.Addr, err))
	}
	d.web = w
	return nil
}

func (d *daemon) stopWeb(context.Context) {
	if d.web != nil {
		d.web.srv.Close()
	}
}

// startJournal takes the journal's lock — so that a second daemon changes
// nothing, not even reads the config, before it gives up — and reads what
// the previous daemon left. The event stream's first subscriber is the
// journal, then the page, the metrics and the alerts.
func (d *daemon) startJournal(context.Context) error {
	path, log := d.cfg.Journal, d.cfg.Log
	jnl, prev, err := journal.Open(path, journal.Options{
		OnError: func(err error) {
			log.Error(fmt.Sprintf("journal: %v; kopf carries on without it", err), "journal", path)
		},
		OnWait: func(msg string) { log.Warn(msg, "journal", path) },
		// The journal has its own warning event of it already.
		OnReopen: func(msg string) { log.Warn(msg, "journal", path) },
	})
	if err != nil {
		log.Error(fmt.Sprintf("refusing to start: %v", err), "journal", path)
		if errors.As(err, new(*journal.LockedError)) {
			return ErrRefused
		}
		return ErrJournal
	}
	d.jnl, d.prev = jnl, prev
	d.events = stream.New()
	d.events.Sync("journal", jnl.Record) // the daemon's memory: before anything acts on an event
	if w := d.web; w != nil {
		// The runs the daemons before this one journaled, then this one's
		// as they come.
		if err := w.history.Load(path, time.Now()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn(fmt.Sprintf("status page: reading the journal's runs: %v", err))
		}
		w.metrics.Subscribe(d.events)
		w.history.Subscribe(d.events)
	}
	d.startAlerter()
	d.log = slog.New(journalWarnings{log.Handler(), d.events.Publish})
	return nil
}

// stopJournal ends the journal with quit, once every other part has
// stopped: every subscriber has had every event then.
func (d *daemon) stopJournal(context.Context) {
	if d.jnl == nil {
		return
	}
	d.events.Publish(journal.Event{Type: journal.Quit})
	d.events.Close()
	d.jnl.Close()
}

// startSources reads the config: an invalid one refuses the start. Reading
// a large crontab takes seconds, and a signal meanwhile stops there.
func (d *daemon) startSources(ctx context.Context) error {
	d.set = sources.New(d.cfg.Sources, d.log)
	cfg, err := d.set.Load(ctx)
	switch {
	case ctx.Err() != nil:
		d.log.Info("stopped by a signal while reading the sources; nothing was started")
		return errStopped
	case err != nil:
		sources.LogErrors(d.log, d.cfg.Sources.File, "refusing to start", err)
		return ErrRefused
	}
	d.conf = cfg
	d.events.Publish(journal.Event{Type: journal.Reloaded, Time: time.Now(), Reason: journal.ReloadStart})
	d.setAlerts(cfg)
	d.cluster = d.cfg.Cluster.with(cfg.Cluster)
	return d.cluster.orphans()
}

// startHost makes the process host, now that the journal's directory
// exists for its name.
func (d *daemon) startHost(context.Context) error {
	opts := d.cfg.Host
	opts.Name = hostName(d.cfg.Journal)
	h, err := proc.NewHost(opts)
	if err != nil {
		return d.refuse(fmt.Sprintf("cannot supervise processes: %v", err))
	}
	d.host = h
	if tr := h.Tracking(); !tr.Cgroups {
		d.log.Warn(fmt.Sprintf("no cgroups for kopf's runs: %s; each run is tracked by its session, process group and KOPF_RUN instead, "+
			"so a process that leaves its session and clears its environment can outlive a crashed kopf (docs/operations.md)", tr.Why))
	}
	return nil
}

func (d *daemon) stopHost(context.Context) {
	if d.host != nil {
		d.host.Close()
	}
}

// startControl opens the control socket; it answers once the supervisor
// exists (servePart).
func (d *daemon) startControl(context.Context) error {
	srv, err := control.Listen(d.cfg.Socket, control.Options{Logger: d.log})
	if err != nil {
		d.log.Error(fmt.Sprintf("refusing to start: %v", err), "socket", d.cfg.Socket)
		return ErrRefused
	}
	d.srv = srv
	return nil
}

// stopControl removes the socket of a daemon that never served it (its
// Serve removes it otherwise).
func (d *daemon) stopControl(ctx context.Context) {
	if d.srv == nil || d.sup != nil {
		return
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	d.srv.Serve(done, nil)
}

// startLeftovers stops the previous daemon's runs that still run, before
// anything starts.
func (d *daemon) startLeftovers(context.Context) error {
	stopLeftovers(d.log, d.events.Publish, d.host, d.prev, d.conf)
	return nil
}

// startHealth takes --health's port.
func (d *daemon) startHealth(context.Context) error {
	if d.cfg.Health == "" {
		return nil
	}
	srv, err := listenHealth(d.cfg.Health, d.cfg.Hosts, d.cfg.Log)
	if err != nil {
		return d.refuse(fmt.Sprintf("--health %s: %v", d.cfg.Health, err))
	}
	d.health = srv
	return nil
}

func (d *daemon) stopHealth(context.Context) {
	if d.health != nil {
		d.health.Close()
	}
}

// advertisePart leaves a link at the clients' default socket path to this
// daemon's, while no other daemon answers there.
type advertisePart struct {
	d      *daemon
	remove func()
}

func (p *advertisePart) Start(context.Context) error {
	d := p.d
	link, sock := d.cfg.Advertise, d.cfg.Socket
	if link == "" || link == sock {
		return nil
	}
	remove, err := control.Advertise(link, sock)
	if err != nil {
		d.log.Warn(fmt.Sprintf("control socket: cannot link %s to %s: %v; clients need --socket %s", link, sock, err, sock))
	}
	p.remove = remove
	return nil
}

func (p *advertisePart) Stop(context.Context) {
	if p.remove != nil {
		p.remove()
	}
}

// startDeliveries makes the mailer; the alerter began with the journal.
func (d *daemon) startDeliveries(context.Context) error {
	d.mailer = newMailer(d.conf.Mail, d.host, d.log, d.events.Publish)
	return nil
}

// stopDeliveries gives the mails and alerts of the last runs a few
// seconds, together.
func (d *daemon) stopDeliveries(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, lastDeliveries)
	defer cancel()
	var last sync.WaitGroup
	if d.mailer != nil {
		last.Go(func() { d.mailer.Close(ctx) })
	}
	if d.alerter != nil {
		last.Go(func() { d.alerter.Close(ctx) })
	}
	last.Wait()
}

// notifyPart tells systemd what the daemon does (sd_notify).
type notifyPart struct {
	d       *daemon
	stopped func() bool
}

func (p *notifyPart) Start(ctx context.Context) error {
	p.d.notify = newNotifier(p.d.log)
	p.stopped = context.AfterFunc(ctx, p.d.notify.stopping) // a signal: kopf stops everything
	return nil
}

func (p *notifyPart) Stop(context.Context) { p.stopped() }

// status words a config for systemd's STATUS=.
func status(cfg *config.Config) string {
	return fmt.Sprintf("running %d jobs and %d procs", len(cfg.Jobs), len(cfg.Procs))
}

// startSupervisor makes the supervisor and starts its loop, which runs
// until ctx is done and then stops every proc and job.
func (d *daemon) startSupervisor(ctx context.Context) error {
	dir, _ := os.Getwd()
	opts := supervise.Options{
		Host: supervise.ProcHost(d.host), Logger: d.log, Dir: dir, Environ: childEnviron(),
		Events: d.events.Publish, Resume: d.prev, Mail: d.mailer.Send,
		RestartJitter: supervise.DefaultRestartJitter, RawOutput: d.cfg.RawOutput,
		Ready:     func() { d.notify.ready(status(d.conf)) },
		Output:    d.outputTail(),
		Heartbeat: d.notify.watchdog, HeartbeatEvery: d.notify.watchdogEvery(),
		Now: d.cluster.now(),
	}
	if d.member != nil {
		opts.Cluster = d.member
	}
	d.sup = supervise.New(opts)
	close(d.ready)
	d.reloader = &reloader{d: d}
	go func() {
		d.supErr = d.sup.Run(ctx, d.conf)
		close(d.supDone)
	}()
	return nil
}

// stopSupervisor waits for the loop, which stops at ctx's end.
func (d *daemon) stopSupervisor(context.Context) {
	if d.sup != nil {
		<-d.supDone
	}
}

// servePart makes the control socket, the page and /healthz answer, once
// the supervisor exists; Stop stops them, the socket removed.
type servePart struct {
	d       *daemon
	cancel  context.CancelFunc
	serving sync.WaitGroup
}

func (p *servePart) Start(ctx context.Context) error {
	d := p.d
	handler := daemonControl{d}
	if d.health != nil {
		serveHealth(d.log, d.health, d.sup)
	}
	if d.web != nil {
		d.web.serve(d.log, d.sup, handler.Handle)
	}
	serveCtx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	p.serving.Go(func() {
		if err := d.srv.Serve(serveCtx, handler); err != nil {
			d.log.Error(fmt.Sprintf("control socket: %v", err), "socket", d.srv.Path())
		}
	})
	return nil
}

// Stop stops answering once the supervisor has stopped: kopf status
// answers while kopf stops its units.
func (p *servePart) Stop(context.Context) {
	<-p.d.supDone
	p.cancel()
	p.serving.Wait()
	p.d.stopHealth(nil)
	p.d.stopWeb(nil)
}

// watchPart feeds config changes — the watcher's, SIGHUP's — to the
// supervisor, and has the journal looked at every few seconds.
type watchPart struct {
	d                  *daemon
	stopWatch, stopJnl func()
}

func (p *watchPart) Start(ctx context.Context) error {
	d := p.d
	p.stopWatch = watchSources(ctx, d.log, d.set.Paths(), func() { d.reloader.reload(ctx) })
	p.stopJnl = checkJournal(ctx, d.jnl)
	paths := d.set.Paths()
	d.log.Info(fmt.Sprintf("kopf running %s: %d jobs, %d procs", strings.Join(paths, ", "), len(d.conf.Jobs), len(d.conf.Procs)),
		"sources", paths, "pid", os.Getpid(), "journal", d.jnl.Path(), "socket", d.srv.Path())
	return nil
}

func (p *watchPart) Stop(context.Context) {
	<-p.d.supDone
	p.stopWatch()
	p.stopJnl()
}

// hostName is the name of the cgroup that holds a daemon's runs and the
// first part of their KOPF_RUN: kopf-, then 12 hex digits of a hash of the
// journal's absolute path. One journal has one daemon at a time, so every
// daemon on a journal finds its predecessors' runs there, and no other
// daemon's.
func hostName(journalPath string) string {
	if abs, err := filepath.Abs(journalPath); err == nil {
		journalPath = abs
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(journalPath)); err == nil {
		journalPath = filepath.Join(dir, filepath.Base(journalPath))
	}
	return "kopf-" + shortHash(journalPath)
}
