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
)

// Job is what an export needs of a job of kopf's config.
type Job struct {
	Name string
	// Schedule is the union of the job's schedules; nil for a job that
	// has none (a period, or triggers only), which no target can say.
	Schedule *compile.Schedule
	// Argv is the command (nil for none); Shell says it is a shell's
	// argv, whose last element is the command line.
	Argv  []string
	Shell bool
	Env   []string // NAME=VALUE
	Dir   string
	// User and Group are whom it runs as; "" for kopf's own.
	User, Group     string
	Jitter, Timeout time.Duration
	// CatchUp says a fire missed while kopf was down runs later.
	CatchUp bool
	// Replace says a fire while a run goes on replaces that run (overlap
	// "replace"); else it waits or is skipped, which targets call Forbid.
	Replace bool
}

// Jobs writes every scheduled job for target ("crontab",
// "kubernetes", "nomad" or "systemd"): systemd .timer and .service pairs
// into dir, or one crontab, CronJob list (each with image) or set of
// Nomad periodic blocks on w. Each job ends with its fidelity; a job the
// target cannot run on a schedule (no schedule: a period or triggers) is
// named with why. It reports whether every job was exact.
func Jobs(w io.Writer, jobs []Job, target, dir, image string) (bool, error) {
	allExact := true
	for i, j := range jobs {
		if j.Schedule == nil {
			fmt.Fprintf(w, "# job %s: not exported: it has no schedule (a period, a pause or triggers), which %s cannot say\n", j.Name, target)
			allExact = false
			continue
		}
		s := j.Schedule
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
func shellCommand(j Job) string {
	if j.Argv == nil {
		return "true"
	}
	if j.Shell {
		return j.Argv[len(j.Argv)-1]
	}
	quoted := make([]string, len(j.Argv))
	for i, a := range j.Argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// writeJobCronJob writes a job's CronJob for one cron line: its overlap
// as the concurrency policy, catch-up none as a starting deadline, and its
// environment.
func writeJobCronJob(w io.Writer, name, line, zone, image, command string, j Job) {
	policy := "Forbid"
	if j.Replace {
		policy = "Replace"
	}
	WriteCronJob(w, name, line, zone, policy, !j.CatchUp, image, command, j.Env)
}

// writeUnits writes a job's kopf-NAME.timer and kopf-NAME.service.
func writeUnits(dir string, j Job, lines []string, f compile.Fidelity) error {
	var timer, service strings.Builder
	fmt.Fprintf(&timer, "# kopf export of job %s: %s\n[Unit]\nDescription=kopf job %s\n\n[Timer]\n", j.Name, f, j.Name)
	for _, l := range lines {
		fmt.Fprintf(&timer, "OnCalendar=%s\n", l)
	}
	if j.Jitter > 0 {
		// kopf's jitter is a stable offset: systemd's fixed random delay
		fmt.Fprintf(&timer, "RandomizedDelaySec=%d\nFixedRandomDelay=true\n", int(j.Jitter.Seconds()))
	}
	if j.CatchUp {
		timer.WriteString("Persistent=true\n")
	}
	timer.WriteString("AccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n")
	fmt.Fprintf(&service, "# kopf export of job %s\n[Unit]\nDescription=kopf job %s\n\n[Service]\nType=oneshot\n", j.Name, j.Name)
	argv := j.Argv
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
	if j.User != "" {
		fmt.Fprintf(&service, "User=%s\n", j.User)
	}
	if j.Group != "" {
		fmt.Fprintf(&service, "Group=%s\n", j.Group)
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
