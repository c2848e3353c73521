package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
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
	run:      runRun,
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
	log, raw, err := daemon.NewLog(e.stderr, daemon.LogFormat(*f.format), *f.level, e.terminal)
	if err != nil {
		return cfg, usagef("--%v", err)
	}
	cfg = daemon.Config{Sources: f.srcs.spec(first(pos)), Log: log, Hosts: *f.hosts, Health: *f.health, Cluster: cluster, Guard: os.Args[0]}
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
	cfg.RawOutput = raw
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
