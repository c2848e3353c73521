package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/alert"
	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/mail"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
	"github.com/kopf/kopf/runtime/stream"
	"github.com/kopf/kopf/runtime/supervise"
	"github.com/kopf/kopf/runtime/watch"
	"github.com/kopf/kopf/runtime/web"
)

var runCmd = &command{
	name:     "run",
	synopsis: "[--services DIR]... [--scripts DIR]... [--crontab FILE]... [--cron-dir DIR]... [--crontab-env cron|inherit] [--journal PATH] [--socket PATH] [--cgroup PATH|none] [--log-format text|json] [--log-level L] [--health ADDR] [--http ADDR [--http-token FILE] [--http-host NAME]...] [--cluster URL[,URL]... [--cluster-name NAME] [--member NAME]] [FILE]",
	summary:  "run the jobs and procs of a config file and config directories",
	help: `Runs procs (always running, restarted after every exit) and jobs (run on
schedules, periods and triggers, never twice at once) from these kinds of
source, in any combination (see docs/config.md and docs/crontab.md):
  FILE              a kopf config file, JSON or YAML
  --services DIR    a directory of service files in service-manager's
                    layout, one *.json file per job or proc
  --scripts DIR     a directory of executables in cronmon's layout, each
                    one a proc
  --crontab FILE    a crontab, each line a job, with cronie's rules
  --cron-dir DIR    system crontabs (/etc/cron.d, /etc/crontab), whose
                    lines name the user they run as
With no FILE and no directory, kopf runs the scripts of
$XDG_CONFIG_HOME/kopf/scripts (~/.config/kopf/scripts when unset). A name
defined in two sources is an error that names both places.

kopf watches every source and applies changes without a signal, once the
files have been quiet for 250ms: a new service starts, a removed one stops
(SIGTERM, its stop-time, SIGKILL), a changed one restarts, and one whose
content did not change (a touch, an editor's save of the same text) keeps
running. A file that becomes invalid is reported with file:line:col and
its running version keeps running. A directory that does not exist yet is
watched for.

Every decision kopf acts on is a line of its journal (see docs/operations.md
and kopf journal). One daemon holds a journal at a time: a second kopf run
on the same journal exits 1 and names the holder's pid. At start kopf reads
what the previous daemon wrote: the processes of its runs that still run
(it was SIGKILLed, and what its children forked outlived it) are stopped
before anything starts — by cgroup where kopf has cgroups, else by session,
process group and KOPF_RUN, confirmed by start time so that a reused pid is
never touched; and jobs with catch-up: last run once if a schedule fired
while kopf was down.

Signals:
  SIGTERM, SIGINT  stop every proc and running job (SIGTERM, then SIGKILL
                   after its stop-time), stop orphans left behind, exit 0
  SIGHUP           read every source again now

kopf's own log goes to stderr: text when stderr is a terminal, JSON lines
otherwise.

Flags:
  --services DIR  a services directory; repeat for more
  --scripts DIR   a scripts directory; repeat for more
  --crontab FILE  a user crontab, run with cronie's rules (docs/crontab.md);
                  repeat for more
  --cron-dir DIR  a directory of system crontabs like /etc/cron.d, or a
                  system crontab like /etc/crontab (lines name their user);
                  repeat for more
  --crontab-env E  cron (the default): a crontab's lines get cron's
                  environment, their crontab's variables over PATH
                  /usr/bin:/bin, SHELL, HOME, USER and LOGNAME; inherit:
                  the lines that run as kopf's own user get kopf's
                  environment too, as supercronic gives (in a container,
                  the container's). A line run as another user never
                  gets kopf's environment (docs/crontab.md)
  --journal PATH  the journal (default $XDG_STATE_HOME/kopf/journal.jsonl,
                  ~/.local/state/kopf/journal.jsonl when unset)
  --socket PATH   the control socket for kopf status, trigger, start, stop,
                  restart, reload and next --job (default $KOPF_SOCKET, else
                  $XDG_RUNTIME_DIR/kopf.sock, else kopf.sock beside the
                  journal); see docs/control.md
  --cgroup PATH   the cgroup v2 directory (like /sys/fs/cgroup/kopf, created
                  if missing) below which kopf makes one cgroup per run
                  (default: below kopf's own cgroup); "none" tracks runs by
                  session and process group instead (docs/operations.md)
  --log-format F  text or json, whatever stderr is
  --log-level L   debug, info (the default), warn or error: the least
                  severe records logged (the journal records everything)
  --http ADDR     serve a status page on http://ADDR/, Prometheus metrics
                  on /metrics and /healthz, like 127.0.0.1:9100
                  (docs/observability.md); an address beyond loopback
                  needs --http-token
  --http-token FILE  the token (the file's content) that allows the page's
                  actions — trigger, start, stop, restart — as a bearer
                  token or by logging in on the page; without it the page
                  is read-only. The file must be private to its owner
                  (chmod 600) and the token at least 16 bytes long
  --http-host NAME  a name requests to --http and --health may carry in
                  their Host header besides localhost, 127.0.0.1, [::1] and
                  the listen address (others get 421: DNS rebinding); NAME
                  takes any port, NAME:PORT only that one; repeat for more
  --health ADDR   serve kopf's own liveness on http://ADDR/healthz, like
                  127.0.0.1:8081: 200 "ok" while its loop answers within 5s,
                  503 otherwise (a container orchestrator's probe)

Cluster (docs/cluster.md): daemons that run the same config with the same
etcd are one: each unit of placement "one" runs on one member at a time,
and each instant of a job starts at most once in the whole cluster.
  --cluster URLS  etcd's client URLs, comma-separated (default
                  $KOPF_CLUSTER); without, nothing talks to etcd
  --cluster-name NAME  the cluster, under /kopf/NAME/ in etcd (default
                  "default")
  --member NAME   this member (default the host name)
  --cluster-lease D  the member's lease (default 10s, at least 5s): a member
                  whose keep-alives go unanswered stops acting 1s before
                  another may take its units
  --cluster-retention D  how long claims are kept (default 7d)

Exit status: 0 after a signal stopped kopf, 1 when FILE is invalid, the
sources do not fit together, another kopf holds the journal, or kopf cannot
supervise, 2 for a usage error.
`,
	run: runRun,
}

// dirs is a repeatable directory flag.
type dirs []string

func (d *dirs) String() string { return strings.Join(*d, ", ") }
func (d *dirs) Type() string   { return "DIR" }
func (d *dirs) Set(v string) error {
	if v == "" {
		return errors.New("empty directory name")
	}
	*d = append(*d, v)
	return nil
}

// sourceDirs are the flags that name a daemon's sources besides its
// config file: directories and crontabs.
type sourceDirs struct {
	services, scripts, crontabs, cronDirs dirs
}

// sourceFlags adds the flags that name a daemon's directories and
// crontabs to fs.
func sourceFlags(fs *pflag.FlagSet) *sourceDirs {
	d := &sourceDirs{}
	fs.Var(&d.services, "services", "")
	fs.Var(&d.scripts, "scripts", "")
	fs.Var(&d.crontabs, "crontab", "")
	fs.Var(&d.cronDirs, "cron-dir", "")
	return d
}

// given reports whether any flag was.
func (d *sourceDirs) given() bool {
	return len(d.services)+len(d.scripts)+len(d.crontabs)+len(d.cronDirs) > 0
}

// spec is the sources with the config file (FILE; "" for none).
func (d *sourceDirs) spec(file string) sources.Spec {
	return sources.Spec{File: file, Services: d.services, Scripts: d.scripts, Crontabs: d.crontabs, CronDirs: d.cronDirs}
}

func runRun(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	format := fs.String("log-format", "", "")
	level := fs.String("log-level", "info", "")
	healthAddr := fs.String("health", "", "")
	httpAddr := fs.String("http", "", "")
	httpToken := fs.String("http-token", "", "")
	httpHosts := fs.StringArray("http-host", nil, "")
	journalPath := fs.String("journal", "", "")
	cgroup := fs.String("cgroup", "", "")
	socketPath := socketFlag(fs)
	srcs := sourceFlags(fs)
	crontabEnv := fs.String("crontab-env", "cron", "")
	cl := clusterFlags(fs)
	return func(ctx context.Context, pos []string) error {
		var err error
		if err := cl.resolve(e); err != nil {
			return err
		}
		if len(pos) > 1 {
			return usagef("expected at most one config FILE, got %d arguments", len(pos))
		}
		log, err := e.logger(*format, *level)
		if err != nil {
			return err
		}
		file := ""
		if len(pos) == 1 {
			file = pos[0]
		}
		spec := srcs.spec(file)
		switch *crontabEnv {
		case "cron":
		case "inherit":
			spec.InheritCrontabEnv = true
		default:
			return usagef("--crontab-env %q: expected cron or inherit", *crontabEnv)
		}
		if len(spec.Paths()) == 0 {
			spec.Scripts = []string{e.defaultScripts()}
		}
		defaultJournal := *journalPath == ""
		if defaultJournal {
			// In a container there may be no home to keep the journal in:
			// say so rather than write it below the working directory.
			if !filepath.IsAbs(e.getenv("XDG_STATE_HOME")) && !filepath.IsAbs(e.getenv("HOME")) {
				return usagef("no place for the journal: $HOME and $XDG_STATE_HOME are unset (or not absolute paths); give --journal PATH, on a volume in a container (--journal /var/lib/kopf/journal.jsonl), or set XDG_STATE_HOME")
			}
			*journalPath = journal.DefaultPath(e.getenv)
		}
		givenSocket := *socketPath != ""
		if !givenSocket {
			*socketPath = control.DefaultPath(e.getenv, *journalPath)
		}
		hostOpts := proc.Options{Cgroup: *cgroup}
		switch {
		case *cgroup == "none":
			hostOpts.Cgroup, hostOpts.NoCgroups = "", true
		case *cgroup != "" && !filepath.IsAbs(*cgroup):
			return usagef("--cgroup %q: expected an absolute path in the cgroup v2 file system, like /sys/fs/cgroup/kopf, or none", *cgroup)
		}
		// From here on SIGTERM and SIGINT stop kopf cleanly, also one that
		// comes while it is still starting (stopping an earlier daemon's
		// leftovers can take their stop-time).
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		// --http listens before anything starts: a port in use refuses
		// the start, and the metrics see every event from the first.
		var web *webServer
		if *httpAddr == "" && *httpToken != "" {
			return usagef("--http-token is for --http ADDR; give it too")
		}
		if *httpAddr == "" && *healthAddr == "" && len(*httpHosts) > 0 {
			return usagef("--http-host is for --http ADDR or --health ADDR; give one")
		}
		if *httpAddr != "" {
			token := ""
			if *httpToken != "" {
				if token, err = readToken(*httpToken); err != nil {
					log.Error(fmt.Sprintf("refusing to start: --http-token: %v", err))
					return errFailed
				}
			}
			if web, err = newWebServer(*httpAddr, token, *httpHosts, log); err != nil {
				log.Error(fmt.Sprintf("refusing to start: --http %s: %v", *httpAddr, err))
				return errFailed
			}
		}
		d, err := startDaemon(ctx, log, spec, *journalPath, *socketPath, hostOpts, web)
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			if errors.Is(err, errJournal) && defaultJournal {
				log.Error(fmt.Sprintf("the default journal %s cannot be used; give --journal PATH in a writable directory, or set XDG_STATE_HOME", *journalPath))
			}
			return err
		}
		d.raw = e.rawOutput(*format == "json" || *format == "" && !e.terminal, log)
		cl.fromConfig(d.cfg.Cluster)
		if err := cl.orphans(); err != nil {
			done, cancel := context.WithCancel(ctx)
			cancel()
			d.srv.Serve(done, nil) // removes the socket
			d.close()
			return err
		}
		d.cluster = cl
		if *healthAddr != "" {
			if d.health, err = listenHealth(*healthAddr, *httpHosts, log); err != nil {
				log.Error(fmt.Sprintf("refusing to start: --health %s: %v", *healthAddr, err))
				return errFailed
			}
		}
		defer d.close()
		// Clients without flags look at the default socket: leave a link
		// there to this daemon's, when another --journal put it elsewhere and
		// no other daemon answers there (a --socket given is known already).
		if link := control.DefaultPath(e.getenv, journal.DefaultPath(e.getenv)); !givenSocket && link != *socketPath {
			remove, err := control.Advertise(link, *socketPath)
			if err != nil {
				d.log.Warn(fmt.Sprintf("control socket: cannot link %s to %s: %v; clients need --socket %s", link, *socketPath, err, *socketPath))
			}
			defer remove()
		}
		if ctx.Err() != nil {
			d.log.Info("stopped by a signal while starting; nothing was started")
			d.srv.Serve(ctx, nil) // removes the socket
			return nil
		}
		return d.run(ctx)
	}
}

// jobAlert is a job's alert settings and title.
type jobAlert struct {
	alert *config.Alert
	title string
}

// alerter sends the jobs' alerts (runtime/alert), following events.
func (d *daemon) alerter(events *stream.Stream) {
	host, _ := os.Hostname()
	a := alert.New(alert.Options{
		Lookup: func(job string) (*config.Alert, string) {
			if m := d.alerts.Load(); m != nil {
				if ja, ok := (*m)[job]; ok {
					return ja.alert, ja.title
				}
			}
			return nil, ""
		},
		Record:   events.Publish,
		Hostname: host,
	})
	a.Subscribe(events)
	d.alert = a
}

// setAlerts takes the alert settings of cfg's jobs.
func (d *daemon) setAlerts(cfg *config.Config) {
	m := map[string]jobAlert{}
	for _, j := range cfg.Jobs {
		if a := j.Alert(); a != nil {
			m[j.Name] = jobAlert{a, j.Title}
		}
	}
	d.alerts.Store(&m)
}

// errJournal says kopf run could not open its journal (and said why).
var errJournal = fmt.Errorf("%w: the journal", errFailed)

// errStopped says a signal stopped kopf run while it started, before
// anything ran: a clean stop, exit status 0.
var errStopped = errors.New("stopped while starting")

// daemon is kopf run once it has started: what start set up, in order, and
// what run and close undo.
type daemon struct {
	log *slog.Logger
	jnl *journal.Journal
	// events is where everything the daemon does is published: the
	// journal first and synchronously, then any other subscriber.
	events *stream.Stream
	prev   *journal.Previous
	set    *sources.Set
	cfg    *config.Config
	host   *proc.Host
	srv    *control.Server
	// raw passes on the output lines of units with log-output "raw".
	raw func(unit, title, stream, line string)
	// health serves kopf's own liveness checks (--health); nil without.
	health *web.Server
	// web serves --http: metrics; nil without.
	web *webServer
	// alerts are the jobs' alert settings in the config that runs, by
	// job name, for the alerter (which reads them off the loop).
	alerts atomic.Pointer[map[string]jobAlert]
	// alert sends them; its last deliveries get the mails' seconds.
	alert *alert.Alerter
	// cluster is --cluster and the rest; its endpoints are empty without.
	cluster *clusterOpts
	member  *cluster.Member // nil without a cluster
}

// startDaemon takes what kopf run needs, in an order that is the contract:
// the journal's lock first, so that a second daemon changes nothing, not
// even reads the config, before it gives up; then the config, refused
// when invalid; the process host and the control socket; and the previous
// daemon's leftovers stopped before anything starts. It returns errFailed
// after logging why it refused, and errStopped when ctx was done (a signal)
// while it read the sources, which can take seconds.
func startDaemon(ctx context.Context, log *slog.Logger, spec sources.Spec, journalPath, socketPath string, hostOpts proc.Options, web *webServer) (*daemon, error) {
	jnl, prev, err := journal.Open(journalPath, journal.Options{
		OnError: func(err error) {
			log.Error(fmt.Sprintf("journal: %v; kopf carries on without it", err), "journal", journalPath)
		},
		OnWait: func(msg string) { log.Warn(msg, "journal", journalPath) },
		// The journal has its own warning event of it already.
		OnReopen: func(msg string) { log.Warn(msg, "journal", journalPath) },
	})
	if err != nil {
		log.Error(fmt.Sprintf("refusing to start: %v", err), "journal", journalPath)
		if !errors.As(err, new(*journal.LockedError)) {
			return nil, errJournal
		}
		return nil, errFailed
	}
	events := stream.New()
	events.Sync("journal", jnl.Record) // the daemon's memory: before anything acts on an event
	if web != nil {
		// The runs the daemons before this one journaled, then this
		// one's as they come.
		if err := web.history.Load(journalPath, time.Now()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn(fmt.Sprintf("status page: reading the journal's runs: %v", err))
		}
		web.metrics.Subscribe(events)
		web.history.Subscribe(events)
	}
	d := &daemon{jnl: jnl, events: events, prev: prev}
	d.alerter(events)
	d.log = slog.New(journalWarnings{log.Handler(), events.Publish})
	fail := func(err error) (*daemon, error) {
		d.close()
		return nil, err
	}
	d.set = sources.New(spec, d.log)
	if d.cfg, err = d.set.Load(ctx); ctx.Err() != nil {
		d.log.Info("stopped by a signal while reading the sources; nothing was started")
		return fail(errStopped)
	} else if err != nil {
		sources.LogErrors(d.log, spec.File, "refusing to start", err)
		return fail(errFailed)
	}
	if d.web = web; web != nil {
		web.metrics.Applied(true, true, time.Now())
	}
	d.setAlerts(d.cfg)
	hostOpts.Name = hostName(journalPath) // now that its directory exists
	if d.host, err = proc.NewHost(hostOpts); err != nil {
		return fail(fmt.Errorf("cannot supervise processes: %w", err))
	}
	if tr := d.host.Tracking(); !tr.Cgroups {
		d.log.Warn(fmt.Sprintf("no cgroups for kopf's runs: %s; each run is tracked by its session, process group and KOPF_RUN instead, "+
			"so a process that leaves its session and clears its environment can outlive a crashed kopf (docs/operations.md)", tr.Why))
	}
	if d.srv, err = control.Listen(socketPath, control.Options{Logger: d.log}); err != nil {
		d.log.Error(fmt.Sprintf("refusing to start: %v", err), "socket", socketPath)
		return fail(errFailed)
	}
	stopLeftovers(d.log, events.Publish, d.host, prev, d.cfg)
	return d, nil
}

// run supervises until a signal stops kopf: the supervisor's loop, the
// watcher and SIGHUP feeding it config changes, the control socket, and
// the mailer; then the last mails, and quit as the journal's last word.
// ctx is done at SIGTERM or SIGINT.
func (d *daemon) run(ctx context.Context) error {
	dir, _ := os.Getwd()
	mailer := newMailer(d.cfg.Mail, d.host, d.log, d.events.Publish)
	n := newNotifier(d.log)
	stopped := context.AfterFunc(ctx, n.stopping) // a signal: kopf stops everything
	defer stopped()
	status := func(cfg *config.Config) string {
		return fmt.Sprintf("running %d jobs and %d procs", len(cfg.Jobs), len(cfg.Procs))
	}
	opts := supervise.Options{
		Host: supervise.ProcHost(d.host), Logger: d.log, Dir: dir, Environ: childEnviron(),
		Events: d.events.Publish, Resume: d.prev, Mail: mailer.Send,
		RestartJitter: supervise.DefaultRestartJitter, RawOutput: d.raw,
		Ready:     func() { n.ready(status(d.cfg)) },
		Output:    d.outputTail(),
		Heartbeat: n.watchdog, HeartbeatEvery: n.watchdogEvery(),
		Now: d.cluster.now(),
	}
	var s *supervise.Supervisor
	if d.cluster.on() {
		member, leave, err := d.joinCluster(ctx, func() *supervise.Supervisor { return s })
		if err != nil {
			d.log.Error(fmt.Sprintf("refusing to start: %v", err))
			done, cancel := context.WithCancel(ctx)
			cancel()
			d.srv.Serve(done, nil) // removes the socket, at once
			return errFailed
		}
		defer leave()
		opts.Cluster = member
	}
	s = supervise.New(opts)
	if d.member != nil {
		close(d.cluster.ready)
	}
	r := &reloader{set: d.set, s: s, notify: n, status: status, cfg: d.cfg, d: d}
	if d.health != nil {
		stopHealth := serveHealth(d.log, d.health, s)
		defer stopHealth()
	}
	if d.web != nil {
		r.web = d.web
		stopWeb := d.web.serve(d.log, s, daemonControl{s, r, d.host.Tracking().String()}.Handle)
		defer stopWeb()
	}
	stopWatching := watchSources(ctx, d.log, d.set.Paths(), func() { r.reload(ctx) })
	stopChecking := checkJournal(ctx, d.jnl)
	serveCtx, stopServing := context.WithCancel(ctx)
	var serving sync.WaitGroup
	serving.Go(func() {
		if err := d.srv.Serve(serveCtx, daemonControl{s, r, d.host.Tracking().String()}); err != nil {
			d.log.Error(fmt.Sprintf("control socket: %v", err), "socket", d.srv.Path())
		}
	})
	paths := d.set.Paths()
	d.log.Info(fmt.Sprintf("kopf running %s: %d jobs, %d procs", strings.Join(paths, ", "), len(d.cfg.Jobs), len(d.cfg.Procs)),
		"sources", paths, "pid", os.Getpid(), "journal", d.jnl.Path(), "socket", d.srv.Path())
	err := s.Run(ctx, d.cfg)
	stopServing()
	serving.Wait()
	stopWatching()
	stopChecking()
	// The mails and alerts of the last runs get a few seconds, together.
	mailCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var last sync.WaitGroup
	last.Go(func() { mailer.Close(mailCtx) })
	last.Go(func() { d.alert.Close(mailCtx) })
	last.Wait()
	cancel()
	return err
}

// close releases what startDaemon took, after quit in the journal. The
// control socket is not among them: Serve removes it when it returns.
func (d *daemon) close() {
	d.events.Publish(journal.Event{Type: journal.Quit})
	d.events.Close() // every subscriber has had every event, quit included
	if d.host != nil {
		d.host.Close()
	}
	d.jnl.Close()
}

// reloader reads the sources again and hands a changed config to the
// supervisor, one reload at a time, for the watcher, SIGHUP and kopf
// reload alike.
type reloader struct {
	mu  sync.Mutex
	set *sources.Set
	s   *supervise.Supervisor
	// notify tells systemd of the reload; status words cfg, the config
	// last applied.
	notify *notifier
	status func(*config.Config) string
	cfg    *config.Config
	web    *webServer // counts reloads in the metrics; nil without --http
	d      *daemon    // whose alert settings follow the config
}

// reload says what it changed, and returns what is wrong with the sources
// now (each invalid file runs its last valid version). When ctx is done
// (kopf is stopping) it stops reading and changes nothing.
func (r *reloader) reload(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, problems := r.set.Rescan(ctx)
	if cfg == nil {
		return "nothing changed", problems
	}
	// systemd hears of a reload that changes something: RELOADING=1
	// while the supervisor applies it, READY=1 once it has.
	if r.notify != nil {
		r.notify.reloading()
	}
	if r.d != nil && !reflect.DeepEqual(withoutPos(cfg.Cluster), withoutPos(r.cfg.Cluster)) {
		r.d.log.Warn("the config's \"cluster\" section changed; kopf takes it at its next start")
	}
	sum, err := r.s.Reload(cfg)
	if r.web != nil {
		r.web.metrics.Applied(err == nil, false, time.Now())
	}
	if err != nil {
		if r.notify != nil {
			r.notify.ready("reload failed: " + err.Error())
		}
		return "", err
	}
	r.cfg = cfg
	if r.d != nil {
		r.d.setAlerts(cfg)
	}
	if r.notify != nil {
		r.notify.ready(r.status(r.cfg))
	}
	return "reloaded: " + sum.String(), problems
}

// daemonControl answers the control socket's requests with the
// supervisor and the reloader.
type daemonControl struct {
	s        *supervise.Supervisor
	r        *reloader
	tracking string // how the runs' processes are tracked, for status
}

func (d daemonControl) member() *cluster.Member { return d.r.d.member }

func (d daemonControl) Handle(ctx context.Context, req control.Request) control.Response {
	var resp control.Response
	var err error
	switch req.Cmd {
	case control.CmdStatus:
		resp.Units, err = d.s.Status()
		resp.Message = fmt.Sprintf("%d jobs and procs", len(resp.Units))
		resp.Tracking = d.tracking
	case control.CmdTrigger:
		resp.Message, err = d.s.Trigger(req.Name, req.Args, "control")
	case control.CmdStart:
		resp.Message, err = d.s.Start(req.Name)
	case control.CmdStop:
		resp.Message, err = d.s.Stop(ctx, req.Name)
	case control.CmdRestart:
		resp.Message, err = d.s.Restart(ctx, req.Name)
	case control.CmdReload:
		resp.Message, err = d.r.reload(ctx)
	case control.CmdCluster, control.CmdClaims, control.CmdHandoff:
		resp, err = d.clusterRequest(ctx, req)
	case control.CmdNext:
		var times []time.Time
		times, err = d.s.Next(req.Name, req.N)
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

// stopLeftovers stops the processes of the runs that the previous daemon
// started and did not see end, before anything starts: the same service
// never runs twice. Each run gets its unit's stop-time (10s for a unit no
// longer in the config). Processes of an earlier boot are not looked for,
// and a pid that now belongs to another process is left alone.
func stopLeftovers(log *slog.Logger, record func(...journal.Event), host *proc.Host, prev *journal.Previous, cfg *config.Config) {
	boot := journal.BootID()
	var recorded []proc.Leftover
	for _, p := range prev.Running {
		if p.BootID != "" && p.BootID != boot {
			record(journal.Event{Type: journal.Leftover, Unit: p.Unit, Kind: p.Kind, PID: p.PID, StartTicks: p.StartTicks,
				Run: p.Run, Cgroup: p.Cgroup, Action: proc.LeftoverGone, Reason: "the machine has rebooted since"})
			log.Info(fmt.Sprintf("%s %s (pid %d) of the previous kopf: gone: the machine has rebooted since", p.Kind, p.Unit, p.PID), "unit", p.Unit, "pid", p.PID)
			continue
		}
		recorded = append(recorded, proc.Leftover{Unit: p.Unit, Kind: string(p.Kind), PID: p.PID, StartTicks: p.StartTicks, Run: p.Run, Cgroup: p.Cgroup})
	}
	cleanups := host.StopLeftovers(recorded, func(unit string) time.Duration {
		// The units are sorted by name: no map of 100k units for the few
		// leftovers there may be.
		byName := func(u *config.Unit, name string) int { return strings.Compare(u.Name, name) }
		if i, ok := slices.BinarySearchFunc(cfg.Jobs, unit, func(j *config.Job, n string) int { return byName(&j.Unit, n) }); ok {
			return cfg.Jobs[i].StopTime
		}
		if i, ok := slices.BinarySearchFunc(cfg.Procs, unit, func(p *config.Proc, n string) int { return byName(&p.Unit, n) }); ok {
			return cfg.Procs[i].StopTime
		}
		return 10 * time.Second
	})
	for _, c := range cleanups {
		ev := journal.Event{Type: journal.Leftover, Unit: c.Unit, Kind: journal.Kind(c.Kind), PID: c.PID, StartTicks: c.StartTicks,
			Run: c.Run, Cgroup: c.Cgroup, Action: c.Action, Reason: c.Reason}
		for _, f := range c.Found {
			ev.Processes = append(ev.Processes, journal.Found{PID: f.PID, Command: f.Command})
		}
		record(ev)
		what := c.Kind + " " + c.Unit
		switch {
		case c.Unit == "":
			what = "run " + c.Run
		case c.PID != 0:
			what += fmt.Sprintf(" (pid %d)", c.PID)
		}
		msg := fmt.Sprintf("%s of the previous kopf: %s", what, c.Action)
		if n := len(c.Found); n > 0 {
			msg += fmt.Sprintf(", %s", plural(n, "process", "processes"))
		}
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		level := slog.LevelInfo
		if c.Action == proc.LeftoverFailed {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, msg, "unit", c.Unit, "pid", c.PID, "cgroup", c.Cgroup)
	}
}

// plural says n things: "1 process", "2 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
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
	sum := sha256.Sum256([]byte(journalPath))
	return "kopf-" + hex.EncodeToString(sum[:6])
}

// journalWarnings passes kopf's log on and copies its warnings and errors
// that are not about one unit (config errors, watch failures) to the
// journal; the supervisor journals what happens to units as events of
// their own.
type journalWarnings struct {
	slog.Handler
	record func(...journal.Event)
}

func (h journalWarnings) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		component, unit := "kopf", false
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "unit":
				unit = true
			case "file":
				component = "config"
			case "dir":
				component = "sources"
			}
			return true
		})
		if !unit {
			h.record(journal.Event{Time: r.Time, Type: journal.Warning, Component: component, Error: r.Message})
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h journalWarnings) WithAttrs(as []slog.Attr) slog.Handler {
	return journalWarnings{h.Handler.WithAttrs(as), h.record}
}

func (h journalWarnings) WithGroup(name string) slog.Handler {
	return journalWarnings{h.Handler.WithGroup(name), h.record}
}

// defaultScripts is cronmon's scripts directory under kopf's name.
func (e *env) defaultScripts() string {
	base := e.getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) { // the XDG spec: a relative value is invalid
		base = filepath.Join(e.getenv("HOME"), ".config")
	}
	return filepath.Join(base, "kopf", "scripts")
}

// watchSources calls rescan after each change to the paths and on every
// SIGHUP, until ctx is done or the returned function is called; that
// function returns once no call is running.
func watchSources(ctx context.Context, log *slog.Logger, paths []string, rescan func()) func() {
	ctx, cancel := context.WithCancel(ctx)
	once := func() {
		if ctx.Err() == nil {
			rescan()
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		err := watch.Watch(ctx, paths, watch.Options{Logger: log}, once)
		if err != nil && ctx.Err() == nil {
			log.Error(fmt.Sprintf("cannot watch the sources: %v; changes apply on SIGHUP only", err))
		}
	})
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	wg.Go(func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reading every source again")
				once()
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// journalCheck is how often a daemon looks whether its journal file was
// removed or replaced; each event it writes looks too.
const journalCheck = 5 * time.Second

// checkJournal opens the journal again when its file was removed or
// replaced, every journalCheck, until ctx is done or the returned function
// is called.
func checkJournal(ctx context.Context, jnl *journal.Journal) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(journalCheck)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				jnl.Check()
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// logger returns kopf's log on stderr: text on a terminal, JSON otherwise,
// unless format says which.
func (e *env) logger(format, level string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{ReplaceAttr: emptyNotNull}
	switch strings.ToLower(level) {
	case "debug":
		opts.Level = slog.LevelDebug
	case "", "info":
		opts.Level = slog.LevelInfo
	case "warn", "warning":
		opts.Level = slog.LevelWarn
	case "error":
		opts.Level = slog.LevelError
	default:
		return nil, usagef("--log-level %q: expected debug, info, warn or error", level)
	}
	// One lock for the handler's records and raw output lines, so that
	// neither cuts into the other.
	w := &lockedWriter{w: e.stderr}
	e.logOut = w
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "":
		if e.terminal {
			h = slog.NewTextHandler(w, opts)
		} else {
			h = slog.NewJSONHandler(w, opts)
		}
	default:
		return nil, usagef("--log-format %q: expected text or json", format)
	}
	return slog.New(h), nil
}

// rawOutput passes a unit's output line on unchanged, for log-output
// "raw": in a text log, the line itself, and in a JSON log a record whose
// message is the line — or, when the line is a JSON object (the unit's own
// structured log), a record with the object under "output", so that it
// stays an object.
func (e *env) rawOutput(jsonLog bool, log *slog.Logger) func(unit, title, stream, line string) {
	if !jsonLog {
		w := e.logOut
		return func(_, _, _, line string) { w.Write([]byte(line + "\n")) }
	}
	return func(unit, title, stream, line string) {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
			log.Info(title, "unit", unit, "title", title, "stream", stream, "output", json.RawMessage(t))
			return
		}
		log.Info(line, "unit", unit, "title", title, "stream", stream)
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// emptyNotNull writes a nil slice as an empty list: "kept": [] rather than
// null, so that a consumer of the JSON log need not tell the two apart.
func emptyNotNull(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := reflect.ValueOf(a.Value.Any())
	if v.Kind() == reflect.Slice && v.IsNil() {
		a.Value = slog.AnyValue(reflect.MakeSlice(v.Type(), 0, 0).Interface())
	}
	return a
}

// newMailer delivers runs' output as the config's mail section says
// (without one: the machine's sendmail, as cron, or SMTP to localhost:25
// where there is none), logging and journaling every outcome. A
// sendmail runs on the host, like every other child.
func newMailer(m *config.Mail, host *proc.Host, log *slog.Logger, record func(...journal.Event)) *mail.Mailer {
	if m == nil {
		local, _ := config.LocalMail()
		m = &local
	}
	env := os.Environ()
	return mail.New(mail.Options{
		Config: mail.Config{SMTP: m.SMTP, StartTLS: m.StartTLS, Username: m.Username, Password: m.Password, Sendmail: m.Sendmail},
		Start: func(argv, _ []string, stdin []byte) (func() (int, error), error) {
			p, err := host.Start(proc.Spec{Argv: argv, Env: env, Stdin: stdin, Label: "mail"})
			if err != nil {
				return nil, err
			}
			return func() (int, error) { return (<-p.Done()).Code, nil }, nil
		},
		Report: func(r mail.Report) {
			ev := journal.Event{Type: journal.Mail, Unit: r.Unit, To: r.To, Reason: r.Subject, Action: string(r.Outcome), Count: r.Attempt}
			msg := fmt.Sprintf("mail %q to %s: %s", r.Subject, strings.Join(r.To, ", "), r.Outcome)
			level := slog.LevelInfo
			if r.Err != nil {
				ev.Error = r.Err.Error()
				msg += ": " + r.Err.Error()
				level = slog.LevelWarn
			}
			record(ev)
			// unit is set: the journal has the event already, not as a warning.
			log.Log(context.Background(), level, msg, "unit", r.Unit, "attempt", r.Attempt)
		},
	})
}
