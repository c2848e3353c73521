package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/compile/export"
)

var exportCmd = &command{
	name:     "export",
	synopsis: "--to crontab|systemd|kubernetes|nomad [--tz ZONE] [--name NAME] [--command CMD] [--image IMAGE] SCHEDULE | --config FILE [--out DIR]",
	summary:  "write a schedule for another scheduler, with a fidelity report",
	run:      runExport,
}

func runExport(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	to := fs.String("to", "", "")
	tz := fs.String("tz", "UTC", "")
	name := fs.String("name", "kopf-job", "")
	command := fs.String("command", "COMMAND", "")
	image := fs.String("image", "busybox", "")
	cfgFile := fs.String("config", "", "")
	out := fs.String("out", "", "")
	return func(_ context.Context, pos []string) error {
		switch {
		case *to != "crontab" && *to != "systemd" && *to != "kubernetes" && *to != "nomad":
			return usagef("--to %q: expected crontab, systemd, kubernetes or nomad", *to)
		case *cfgFile != "" && len(pos) > 0:
			return usagef("give --config FILE or a SCHEDULE, not both")
		case *cfgFile != "":
			exact, err := e.exportConfig(*to, *cfgFile, *out, *image)
			if err != nil {
				return err
			}
			if !exact {
				return errFailed
			}
			return nil
		case len(pos) != 1:
			return usagef("expected one SCHEDULE, got %d arguments; quote a schedule that has spaces", len(pos))
		}
		loc, err := compile.LoadLocation(*tz)
		if err != nil {
			return usagef("unknown zone %q for --tz; expected an IANA name like America/New_York, UTC or Local", *tz)
		}
		s := e.lint("", pos[0], loc, *name)
		if s == nil {
			return errSchedule
		}
		lines, f := compile.ExportCron(s)
		if *to == "systemd" {
			lines, f = compile.ExportSystemd(s)
			if f.Level != "impossible" {
				f = export.CheckSystemd(lines, s, f)
			}
		}
		zone := s.Location().String()
		if f.Level == "exact" && (*to == "kubernetes" || *to == "nomad") {
			f = export.CheckLibrary(*to, lines, s, time.Now())
		}
		w := e.stdout
		switch *to {
		case "systemd":
			if len(lines) > 0 {
				fmt.Fprintln(w, "[Timer]")
			}
			for _, l := range lines {
				fmt.Fprintf(w, "OnCalendar=%s\n", l)
			}
		case "crontab":
			if len(lines) > 0 {
				fmt.Fprintf(w, "CRON_TZ=%s\n", zone)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "%s %s\n", l, *command)
			}
		case "kubernetes":
			for i, l := range lines {
				n := *name
				if len(lines) > 1 {
					n = fmt.Sprintf("%s-%d", *name, i+1)
					if i > 0 {
						fmt.Fprintln(w, "---")
					}
				}
				export.WriteCronJob(w, n, l, zone, "Forbid", false, *image, *command, nil)
			}
		case "nomad":
			if len(lines) > 0 {
				quoted := make([]string, len(lines))
				for i, l := range lines {
					quoted[i] = strconv.Quote(l)
				}
				fmt.Fprintf(w, "periodic {\n  crons            = [%s]\n  time_zone        = %s\n  prohibit_overlap = true\n}\n", strings.Join(quoted, ", "), strconv.Quote(zone))
			}
		}
		fmt.Fprintf(w, "# %s\n", f)
		if f.Level != "exact" {
			return errFailed
		}
		return nil
	}
}
