package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/supervise"
)

var runCmd = &command{
	name:     "run",
	synopsis: "[--log-format text|json] FILE",
	summary:  "run the jobs and procs of a config file",
	help: `Runs the procs (always running, restarted after every exit) and jobs (run
on schedules, periods and triggers, never twice at once) of FILE, a JSON or
YAML config; see docs/config.md.

Signals:
  SIGTERM, SIGINT  stop every proc and running job (SIGTERM, then SIGKILL
                   after its stop-time), stop orphans left behind, exit 0
  SIGHUP           reload FILE: unchanged jobs and procs keep running,
                   changed ones restart, removed ones stop, new ones start;
                   an invalid file is reported and the running set kept

kopf's own log goes to stderr: text when stderr is a terminal, JSON lines
otherwise.

Flags:
  --log-format F  text or json, whatever stderr is

Exit status: 0 after a signal stopped kopf, 1 when FILE is invalid or kopf
cannot supervise, 2 for a usage error.
`,
	run: runRun,
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("run")
	format := fs.String("log-format", "", "")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("expected one config FILE, got %d arguments", len(pos))
	}
	file := pos[0]
	log, err := e.logger(*format)
	if err != nil {
		return err
	}
	cfg, warnings, err := config.Load(file)
	if err != nil {
		logConfigError(log, "refusing to start", file, err)
		return errFailed
	}
	for _, w := range warnings {
		log.Warn(w.String(), "file", file)
	}
	host, err := proc.NewHost()
	if err != nil {
		return fmt.Errorf("cannot supervise processes: %w", err)
	}
	defer host.Close()

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	dir, _ := os.Getwd()
	s := supervise.New(supervise.Options{Host: supervise.ProcHost(host), Logger: log, Dir: dir})
	stopReloads := reloadOnHangup(ctx, log, file, s)
	defer stopReloads()
	log.Info(fmt.Sprintf("kopf running %s: %d jobs, %d procs", file, len(cfg.Jobs), len(cfg.Procs)), "file", file, "pid", os.Getpid())
	return s.Run(ctx, cfg)
}

// reloadOnHangup reloads file into s on every SIGHUP until ctx is done or
// the returned function is called.
func reloadOnHangup(ctx context.Context, log *slog.Logger, file string, s *supervise.Supervisor) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
			cfg, warnings, err := config.Load(file)
			if err != nil {
				logConfigError(log, "reload refused, keeping the running config", file, err)
				continue
			}
			for _, w := range warnings {
				log.Warn(w.String(), "file", file)
			}
			if s.Reload(cfg) != nil {
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// logConfigError logs each error of an invalid config as its own record,
// with file:line:col in the message text, so it reads the same in text and
// JSON logs.
func logConfigError(log *slog.Logger, what, file string, err error) {
	var list lang.ErrorList
	if !errors.As(err, &list) {
		log.Error(fmt.Sprintf("%s: %v", what, err), "file", file)
		return
	}
	noun := "errors"
	if len(list) == 1 {
		noun = "error"
	}
	log.Error(fmt.Sprintf("%s: %s has %d %s", what, file, len(list), noun), "file", file)
	for _, le := range list {
		log.Error(le.Error(), "file", file, "line", le.Pos.Line, "col", le.Pos.Col)
	}
}

// logger returns kopf's log on stderr: text on a terminal, JSON otherwise,
// unless format says which.
func (e *env) logger(format string) (*slog.Logger, error) {
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(e.stderr, nil)
	case "json":
		h = slog.NewJSONHandler(e.stderr, nil)
	case "":
		if e.terminal {
			h = slog.NewTextHandler(e.stderr, nil)
		} else {
			h = slog.NewJSONHandler(e.stderr, nil)
		}
	default:
		return nil, usagef("--log-format %q: expected text or json", format)
	}
	return slog.New(h), nil
}
