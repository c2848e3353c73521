// Package daemon is kopf run as a package: Run takes a resolved Config —
// what kopf run's flags and config come to — and runs a kopf daemon until
// its context is done. The daemon is an ordered list of parts, each
// started in turn and stopped in reverse, also after a start that failed
// part way (Caddy's apps, oklog/run's actors):
//
//	web listener     --http's port, taken first: a port in use refuses the start
//	journal          the lock, the event stream and its subscribers; quit last
//	sources          the config, read and refused when invalid
//	host             the process host (cgroups)
//	control          the control socket
//	leftovers        the previous daemon's processes, stopped before anything starts
//	guard            the process that stops this daemon's runs if it dies
//	health           --health's port
//	advertise        the link at the clients' default socket path
//	deliveries       mail and alerts; their last deliveries get 10 s at the end
//	notify           sd_notify
//	cluster          the etcd member (--cluster)
//	supervisor       the loop that runs everything
//	serve            the control socket, the page and /healthz answer
//	watch            the sources' watcher and SIGHUP, the journal's check
//
// A program that wants a kopf daemon of its own:
//
//	err := daemon.Run(ctx, daemon.Config{
//		Sources: sources.Spec{File: "/etc/kopf/kopf.yaml"},
//		Journal: "/var/lib/kopf/journal.jsonl",
//		Socket:  "/run/kopf/kopf.sock",
//		Log:     slog.Default(),
//	})
//	if errors.Is(err, daemon.ErrRefused) {
//		// the log says why it would not start
//	}
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kopf/kopf/runtime/alert"
	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/mail"
	"github.com/kopf/kopf/runtime/metrics"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
	"github.com/kopf/kopf/runtime/stream"
	"github.com/kopf/kopf/runtime/supervise"
	"github.com/kopf/kopf/runtime/web"
)

// Config is what a daemon runs: kopf run's flags, resolved.
type Config struct {
	// Sources are the config file, directories and crontabs to run.
	Sources sources.Spec
	// Journal is the journal's path, Socket the control socket's.
	Journal, Socket string
	// Advertise, when set and not Socket, is where clients look for a
	// daemon by default: a link to Socket is left there while no other
	// daemon answers at it (control.Advertise).
	Advertise string
	// Host configures the process host; its Name is made from Journal.
	Host proc.Options
	// Log is kopf's own log; its warnings that are about no unit are
	// journaled too. nil discards.
	Log *slog.Logger
	// RawOutput passes on the output lines of units with log-output
	// "raw"; nil logs them as records.
	RawOutput func(unit, title, stream, line string)
	// HTTP serves the status page, /metrics and /healthz; nil without.
	HTTP *HTTP
	// Health serves /healthz alone, for a container's probe; "" without.
	Health string
	// Hosts are more names the HTTP servers answer to (--http-host).
	Hosts []string
	// Cluster makes the daemon a member of a cluster on etcd; its
	// Endpoints empty without. What it leaves unset, the config's
	// "cluster" section gives.
	Cluster Cluster
	// Build names this kopf in its metrics and its member record.
	Build metrics.Build
	// Guard is the program to start as kopf's guard (GuardMain): kopf
	// itself, as it was started (os.Args[0]). When the daemon dies, the
	// guard stops its runs at once. "" starts none: a dead daemon's runs
	// are stopped at its next start.
	Guard string
}

// HTTP is the --http server.
type HTTP struct {
	Addr string
	// Token allows the page's actions; "" is read-only.
	Token string
}

// Errors Run returns.
var (
	// ErrRefused: the daemon would not start, and its log says why.
	ErrRefused = errors.New("kopf run refused to start")
	// ErrJournal: it would not start because its journal cannot be used
	// (also ErrRefused).
	ErrJournal = errors.Join(ErrRefused, errors.New("the journal cannot be used"))
)

// UsageError is a Config that does not make sense, like cluster flags
// without a cluster; kopf run reports it as a usage error.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// errStopped: a part saw ctx done while it started, and said so.
var errStopped = errors.New("stopped while starting")

// Run runs the daemon until ctx is done (SIGTERM, SIGINT), and returns nil
// once everything it started has stopped — also when ctx was done while
// it started. It returns ErrRefused (ErrJournal) when it would not start,
// after logging why, or a *UsageError.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &daemon{cfg: cfg, log: cfg.Log, ready: make(chan struct{}), supDone: make(chan struct{})}
	return d.run(ctx, d.parts())
}

// part is one piece of the daemon. Start may leave what it started behind
// when it fails: Stop is called for it too. Stop is called once, in
// reverse order, after Start.
type part interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context)
}

// run starts the parts in order, waits for the supervisor to stop (ctx
// done), and stops them in reverse: each part that started, or began to.
func (d *daemon) run(ctx context.Context, parts []part) error {
	started := 0
	var err error
	for _, p := range parts {
		started++
		if err = p.Start(ctx); err != nil {
			break
		}
		if ctx.Err() != nil && d.jnl != nil && d.sup == nil {
			// The journal records that this daemon was stopped as it
			// started; once the supervisor runs, it is the one that stops.
			d.log.Info("stopped by a signal while starting; nothing was started")
			err = errStopped
			break
		}
	}
	if err == nil {
		<-d.supDone
		err = d.supErr
	}
	// The stops that wait (the last mails, the cluster's leave) have their
	// own bounds.
	stopCtx := context.WithoutCancel(ctx)
	for i := started - 1; i >= 0; i-- {
		parts[i].Stop(stopCtx)
	}
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// daemon is what the parts share.
type daemon struct {
	cfg Config
	log *slog.Logger // cfg.Log, then with its warnings journaled

	jnl    *journal.Journal
	guard  *proc.Process  // the guard (Config.Guard); nil without
	events *stream.Stream // the journal first, then every other subscriber
	prev   *journal.Previous
	set    *sources.Set
	conf   *config.Config // the config last applied
	host   *proc.Host
	srv    *control.Server
	web    *webServer  // --http; nil without
	health *web.Server // --health; nil without

	// alerts are the jobs' alert settings in the config that runs, by
	// job name, for the alerter (which reads them off the loop).
	alerts  atomic.Pointer[map[string]jobAlert]
	alerter *alert.Alerter
	mailer  *mail.Mailer
	notify  *notifier

	cluster Cluster         // cfg.Cluster with the config's section
	member  *cluster.Member // nil without a cluster
	// ready is closed once the supervisor exists, which the member's
	// callbacks need.
	ready chan struct{}

	sup      *supervise.Supervisor
	reloader *reloader
	supDone  chan struct{} // closed when the supervisor's Run returned, with supErr
	supErr   error
}

// funcPart is a part made of two functions; a nil Stop stops nothing.
type funcPart struct {
	start func(ctx context.Context) error
	stop  func(ctx context.Context)
}

func (p funcPart) Start(ctx context.Context) error { return p.start(ctx) }

func (p funcPart) Stop(ctx context.Context) {
	if p.stop != nil {
		p.stop(ctx)
	}
}

// parts are the daemon's parts in the order they start (the package
// comment lists them).
func (d *daemon) parts() []part {
	return []part{
		funcPart{d.startWebListener, d.stopWeb},
		funcPart{d.startJournal, d.stopJournal},
		funcPart{d.startSources, nil},
		funcPart{d.startHost, d.stopHost},
		funcPart{d.startControl, d.stopControl},
		funcPart{d.startLeftovers, nil},
		funcPart{d.startGuard, d.stopGuard},
		funcPart{d.startHealth, d.stopHealth},
		&advertisePart{d: d},
		funcPart{d.startDeliveries, d.stopDeliveries},
		&notifyPart{d: d},
		&clusterPart{d: d},
		funcPart{d.startSupervisor, d.stopSupervisor},
		&servePart{d: d},
		&watchPart{d: d},
	}
}

// lastDeliveries is how long the mails and alerts of the last runs may
// take when kopf stops.
const lastDeliveries = 10 * time.Second
