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
	help: `Writes SCHEDULE, in either dialect, in another scheduler's format, and ends
with a fidelity report as a comment — computed, not asserted: the written
lines are compiled back and compared with SCHEDULE exactly (kopf diff):
  # fidelity: exact
  # fidelity: approximate (subset; only A at 2026-12-06T10:30:00Z)
  # fidelity: impossible (it fires on a cycle of 14 days, …)
Targets:
  crontab     CRON_TZ and one line per part of the schedule, with CMD
  systemd     a [Timer] section's OnCalendar= lines, with the zone; kopf
              compares the first 200 times systemd-analyze calendar gives
              for them with its own, when systemd-analyze is installed
  kubernetes  a batch/v1 CronJob per line (schedule, timeZone,
              concurrencyPolicy Forbid, as kopf never runs a job twice)
  nomad       a periodic block (crons, time_zone, prohibit_overlap)
A crontab line has no seconds, no cycles of days (every 2w) and no
day-of-month AND weekday: such schedules are impossible. Kubernetes and
Nomad read their lines with their own cron libraries — robfig/cron v3 and
hashicorp/cronexpr — so kopf asks those libraries for a year of the lines'
fires and compares them with its own: they part at DST changes, where
cronie's rule is not theirs (docs/algebra.md).

Flags:
  --to T          the target: crontab, systemd, kubernetes or nomad
  --tz ZONE       the zone of a schedule that names none (default UTC)
  --name NAME     the CronJob's name (default kopf-job)
  --command CMD   the command of a crontab line or CronJob (default COMMAND)
  --image IMAGE   the CronJob's image (default busybox)
  --config FILE   export every scheduled job of a config file instead:
                  its command, env, dir, user, overlap (concurrencyPolicy),
                  catch-up (Persistent=, startingDeadlineSeconds) and jitter
                  (RandomizedDelaySec= with FixedRandomDelay=) where the
                  target has them; each job with its fidelity
  --out DIR       with --to systemd --config: where the kopf-JOB.timer and
                  kopf-JOB.service files go

Exit status: 0 when the export is exact, 1 when it is approximate or
impossible, 2 for a usage error or an invalid schedule.
`,
	run: runExport,
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
