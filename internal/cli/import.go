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
	run:      runImport,
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
