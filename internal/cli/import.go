package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"os"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
)

var importCmd = &command{
	name:     "import",
	synopsis: "crontab [--format yaml|json] [--system] FILE",
	summary:  "turn a crontab into a kopf config",
	help: `Prints a kopf config equivalent to a crontab on stdout: one job per line,
named by its "# name:" comment or its program, with the comments above it.
Environment lines become each job's "env"; SHELL "shell"; MAILTO and MAILFROM
"mail-to" and "mail-from"; CRON_TZ (or the machine's zone) "timezone";
RANDOM_DELAY "jitter"; the text after '%' "stdin"; @reboot
"run-on-start": "once-per-boot"; a system crontab's user "user". Each job
also gets "log-output": true and "overlap": "skip", as kopf runs a crontab's
lines (docs/crontab.md). A line kopf cannot read is left out and kept as a
comment that says why, and its error is printed on stderr.
  kopf import crontab /var/spool/cron/crontabs/me > kopf.yaml
  kopf import crontab --system --format json /etc/cron.d/app > app.json
Flags:
  --format F  yaml (the default) or json (with comments, as kopf reads it)
  --system    FILE is a system crontab (/etc/crontab, /etc/cron.d): each
              line names its user after the time fields
Exit status: 0 when every line was imported, 1 when a line was left out or
FILE cannot be read, 2 for a usage error.
`,
	run: runImport,
}

func runImport(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	format := fs.String("format", "yaml", "")
	system := fs.Bool("system", false, "")
	return func(ctx context.Context, pos []string) error {
		var err error
		switch {
		case len(pos) == 0 || pos[0] != "crontab":
			return usagef("expected what to import: crontab")
		case len(pos) != 2:
			return usagef("expected one crontab FILE, got %d arguments", len(pos)-1)
		case *format != "yaml" && *format != "json":
			return usagef("--format %q: expected yaml or json", *format)
		}
		file := pos[1]
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(e.stderr, "kopf import: %v\n", err)
			return errFailed
		}
		kind := config.UserCrontab
		if *system {
			kind = config.SystemCrontab
		}
		out, err := config.ImportCrontab(file, src, kind, *format)
		if out == nil {
			fmt.Fprintf(e.stderr, "kopf import: %v\n", err)
			return errFailed
		}
		e.stdout.Write(out)
		if err != nil {
			var list lang.ErrorList
			if errors.As(err, &list) {
				for _, le := range list {
					e.message("", string(src), le.Pos, le.Error())
				}
			}
			return errFailed
		}
		return nil
	}
}
