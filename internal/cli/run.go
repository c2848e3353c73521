package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/daemon"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/metrics"
	"github.com/kopf/kopf/runtime/sources"
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

// runFlags are kopf run's flags.
type runFlags struct {
	format, level, health, http, token *string
	hosts                              *[]string
	journal, cgroup, socket, crontab   *string
	srcs                               *sourceDirs
	cluster                            *clusterOpts
}

func runRun(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	f := runFlags{
		format: fs.String("log-format", "", ""), level: fs.String("log-level", "info", ""),
		health: fs.String("health", "", ""), http: fs.String("http", "", ""), token: fs.String("http-token", "", ""),
		hosts: fs.StringArray("http-host", nil, ""), journal: fs.String("journal", "", ""), cgroup: fs.String("cgroup", "", ""),
		socket: socketFlag(fs), srcs: sourceFlags(fs), crontab: fs.String("crontab-env", "cron", ""), cluster: clusterFlags(fs),
	}
	return func(ctx context.Context, pos []string) error {
		cfg, err := f.resolve(e, pos)
		if err != nil {
			return err
		}
		// From here on SIGTERM and SIGINT stop kopf cleanly, also one that
		// comes while it is still starting (stopping an earlier daemon's
		// leftovers can take their stop-time).
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		err = daemon.Run(ctx, cfg)
		var usage *daemon.UsageError
		switch {
		case errors.As(err, &usage):
			return usagef("%s", usage.Msg)
		case errors.Is(err, daemon.ErrJournal):
			if *f.journal == "" {
				cfg.Log.Error(fmt.Sprintf("the default journal %s cannot be used; give --journal PATH in a writable directory, or set XDG_STATE_HOME", cfg.Journal))
			}
			return errFailed
		case err != nil:
			return errFailed
		}
		return nil
	}
}

// resolve turns the flags and FILE into the daemon's config: usage
// errors for what cannot be, and the --http-token file read (refused and
// logged when it is not private).
func (f *runFlags) resolve(e *env, pos []string) (daemon.Config, error) {
	var cfg daemon.Config
	cluster, err := f.cluster.resolve(e)
	if err != nil {
		return cfg, err
	}
	if len(pos) > 1 {
		return cfg, usagef("expected at most one config FILE, got %d arguments", len(pos))
	}
	log, err := e.logger(*f.format, *f.level)
	if err != nil {
		return cfg, err
	}
	cfg = daemon.Config{Sources: f.srcs.spec(first(pos)), Log: log, Hosts: *f.hosts, Health: *f.health, Cluster: cluster}
	switch *f.crontab {
	case "cron":
	case "inherit":
		cfg.Sources.InheritCrontabEnv = true
	default:
		return cfg, usagef("--crontab-env %q: expected cron or inherit", *f.crontab)
	}
	if len(cfg.Sources.Paths()) == 0 {
		cfg.Sources.Scripts = []string{e.defaultScripts()}
	}
	if err := f.paths(e, &cfg); err != nil {
		return cfg, err
	}
	if err := f.web(&cfg); err != nil {
		return cfg, err
	}
	v := readVersion()
	cfg.Build = metrics.Build{Version: v.Version, Revision: v.Revision, GoVersion: v.Go}
	cfg.RawOutput = e.rawOutput(*f.format == "json" || *f.format == "" && !e.terminal, log)
	return cfg, nil
}

// first is the first of a command's arguments, "" for none.
func first(pos []string) string {
	if len(pos) == 0 {
		return ""
	}
	return pos[0]
}

// paths resolves the journal, the socket and the cgroup.
func (f *runFlags) paths(e *env, cfg *daemon.Config) error {
	cfg.Journal = *f.journal
	if cfg.Journal == "" {
		// In a container there may be no home to keep the journal in: say
		// so rather than write it below the working directory.
		if !filepath.IsAbs(e.getenv("XDG_STATE_HOME")) && !filepath.IsAbs(e.getenv("HOME")) {
			return usagef("no place for the journal: $HOME and $XDG_STATE_HOME are unset (or not absolute paths); give --journal PATH, on a volume in a container (--journal /var/lib/kopf/journal.jsonl), or set XDG_STATE_HOME")
		}
		cfg.Journal = journal.DefaultPath(e.getenv)
	}
	cfg.Socket = *f.socket
	if cfg.Socket == "" {
		cfg.Socket = control.DefaultPath(e.getenv, cfg.Journal)
		// Clients without flags look at the default socket: leave a link
		// there to this daemon's, when another --journal put it elsewhere
		// (a --socket given is known already).
		cfg.Advertise = control.DefaultPath(e.getenv, journal.DefaultPath(e.getenv))
	}
	switch cg := *f.cgroup; {
	case cg == "none":
		cfg.Host.NoCgroups = true
	case cg != "" && !filepath.IsAbs(cg):
		return usagef("--cgroup %q: expected an absolute path in the cgroup v2 file system, like /sys/fs/cgroup/kopf, or none", cg)
	default:
		cfg.Host.Cgroup = cg
	}
	return nil
}

// web resolves --http, --http-token and --http-host.
func (f *runFlags) web(cfg *daemon.Config) error {
	switch {
	case *f.http == "" && *f.token != "":
		return usagef("--http-token is for --http ADDR; give it too")
	case *f.http == "" && *f.health == "" && len(*f.hosts) > 0:
		return usagef("--http-host is for --http ADDR or --health ADDR; give one")
	case *f.http == "":
		return nil
	}
	cfg.HTTP = &daemon.HTTP{Addr: *f.http}
	if *f.token != "" {
		token, err := readToken(*f.token)
		if err != nil {
			cfg.Log.Error(fmt.Sprintf("refusing to start: --http-token: %v", err))
			return errFailed
		}
		cfg.HTTP.Token = token
	}
	return nil
}

// defaultScripts is cronmon's scripts directory under kopf's name.
func (e *env) defaultScripts() string {
	base := e.getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) { // the XDG spec: a relative value is invalid
		base = filepath.Join(e.getenv("HOME"), ".config")
	}
	return filepath.Join(base, "kopf", "scripts")
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
