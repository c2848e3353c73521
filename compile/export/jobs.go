package export

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/runtime/config"
)

// Jobs writes every scheduled job of a config for target ("crontab",
// "kubernetes", "nomad" or "systemd"): systemd .timer and .service pairs
// into dir, or one crontab, CronJob list (each with image) or set of
// Nomad periodic blocks on w. Each job ends with its fidelity; a job the
// target cannot run on a schedule (no schedule: a period or triggers) is
// named with why. It reports whether every job was exact.
func Jobs(w io.Writer, jobs []*config.Job, target, dir, image string) (bool, error) {
	allExact := true
	for i, j := range jobs {
		if len(j.Schedules) == 0 {
			fmt.Fprintf(w, "# job %s: not exported: it has no schedule (a period, a pause or triggers), which %s cannot say\n", j.Name, target)
			allExact = false
			continue
		}
		var parts []*compile.Schedule
		for _, sc := range j.Schedules {
			parts = append(parts, sc.Compiled)
		}
		s := compile.Union(parts...)
		lines, f := compile.ExportCron(s)
		if target == "systemd" {
			lines, f = compile.ExportSystemd(s)
			if f.Level != "impossible" {
				f = CheckSystemd(lines, s, f)
			}
		} else if f.Level == "exact" && target != "crontab" {
			f = CheckLibrary(target, lines, s, time.Now())
		}
		allExact = allExact && f.Level == "exact"
		command := shellCommand(j)
		zone := s.Location().String()
		switch target {
		case "crontab":
			fmt.Fprintf(w, "# job %s: %s\n", j.Name, f)
			if len(lines) > 0 {
				fmt.Fprintf(w, "CRON_TZ=%s\n", zone)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "%s %s\n", l, command)
			}
		case "kubernetes":
			for k, l := range lines {
				if i > 0 || k > 0 {
					fmt.Fprintln(w, "---")
				}
				name := j.Name
				if len(lines) > 1 {
					name = fmt.Sprintf("%s-%d", j.Name, k+1)
				}
				fmt.Fprintf(w, "# %s\n", f)
				writeJobCronJob(w, name, l, zone, image, command, j)
			}
			if len(lines) == 0 {
				fmt.Fprintf(w, "# job %s: %s\n", j.Name, f)
			}
		case "nomad":
			fmt.Fprintf(w, "# job %s: %s\n", j.Name, f)
			if len(lines) > 0 {
				quoted := make([]string, len(lines))
				for k, l := range lines {
					quoted[k] = strconv.Quote(l)
				}
				fmt.Fprintf(w, "job %q {\n  type = \"batch\"\n  periodic {\n    crons            = [%s]\n    time_zone        = %q\n    prohibit_overlap = true\n  }\n  group %q {\n    task %q {\n      driver = \"raw_exec\"\n      config {\n        command = \"/bin/sh\"\n        args    = [\"-c\", %q]\n      }\n    }\n  }\n}\n",
					j.Name, strings.Join(quoted, ", "), zone, j.Name, j.Name, command)
			}
		case "systemd":
			if len(lines) == 0 {
				fmt.Fprintf(w, "# job %s: %s\n", j.Name, f)
				continue
			}
			if err := writeUnits(dir, j, lines, f); err != nil {
				return false, err
			}
			fmt.Fprintf(w, "# job %s: kopf-%s.timer, kopf-%s.service: %s\n", j.Name, j.Name, j.Name, f)
		}
	}
	return allExact, nil
}

// shellCommand is a job's command as one shell command line.
func shellCommand(j *config.Job) string {
	if j.Command == nil {
		return "true"
	}
	if j.Shell {
		return j.Command[len(j.Command)-1]
	}
	quoted := make([]string, len(j.Command))
	for i, a := range j.Command {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// writeJobCronJob writes a job's CronJob for one cron line: its overlap
// as the concurrency policy, catch-up none as a starting deadline, and its
// environment.
func writeJobCronJob(w io.Writer, name, line, zone, image, command string, j *config.Job) {
	policy := map[string]string{"queue": "Forbid", "skip": "Forbid", "replace": "Replace"}[j.Overlap.String()]
	if policy == "" {
		policy = "Forbid"
	}
	WriteCronJob(w, name, line, zone, policy, j.CatchUp == config.CatchUpNone, image, command, j.Env)
}

// writeUnits writes a job's kopf-NAME.timer and kopf-NAME.service.
func writeUnits(dir string, j *config.Job, lines []string, f compile.Fidelity) error {
	var timer, service strings.Builder
	fmt.Fprintf(&timer, "# kopf export of job %s: %s\n[Unit]\nDescription=kopf job %s\n\n[Timer]\n", j.Name, f, j.Name)
	for _, l := range lines {
		fmt.Fprintf(&timer, "OnCalendar=%s\n", l)
	}
	if j.Jitter > 0 {
		// kopf's jitter is a stable offset: systemd's fixed random delay
		fmt.Fprintf(&timer, "RandomizedDelaySec=%d\nFixedRandomDelay=true\n", int(j.Jitter.Seconds()))
	}
	if j.CatchUp != config.CatchUpNone {
		timer.WriteString("Persistent=true\n")
	}
	timer.WriteString("AccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n")
	fmt.Fprintf(&service, "# kopf export of job %s\n[Unit]\nDescription=kopf job %s\n\n[Service]\nType=oneshot\n", j.Name, j.Name)
	argv := j.Command
	if argv == nil {
		argv = []string{"/bin/true"}
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = strconv.Quote(strings.ReplaceAll(a, "%", "%%"))
	}
	fmt.Fprintf(&service, "ExecStart=%s\n", strings.Join(quoted, " "))
	for _, kv := range j.Env {
		if strings.Contains(kv, "=") {
			fmt.Fprintf(&service, "Environment=%s\n", strconv.Quote(kv))
		}
	}
	if j.Dir != "" {
		fmt.Fprintf(&service, "WorkingDirectory=%s\n", j.Dir)
	}
	if as := j.As(); as != nil {
		if as.User != "" {
			fmt.Fprintf(&service, "User=%s\n", as.User)
		}
		if as.Group != "" {
			fmt.Fprintf(&service, "Group=%s\n", as.Group)
		}
	}
	if j.Timeout > 0 {
		fmt.Fprintf(&service, "TimeoutStartSec=%d\n", int(j.Timeout.Seconds()))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kopf-"+j.Name+".timer"), []byte(timer.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "kopf-"+j.Name+".service"), []byte(service.String()), 0o644)
}
