// Package export checks and writes what compile's exports (ExportCron,
// ExportSystemd) give for other schedulers: the fidelity of an export,
// computed by reading it back with the target's own semantics —
// systemd-analyze calendar for systemd, robfig/cron for Kubernetes'
// controller, hashicorp/cronexpr for Nomad — and a Kubernetes CronJob
// for a cron line.
//
//	lines, f := compile.ExportSystemd(s)
//	f = export.CheckSystemd(lines, s, f) // approximate, with where they part
package export

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
	robfig "github.com/robfig/cron/v3"

	"github.com/kopf/kopf/compile"
)

// systemdChecks is how many of systemd-analyze's times kopf compares.
const systemdChecks = 200

// CheckSystemd asks systemd-analyze calendar, when it is installed, for
// the next times of the OnCalendar= lines and compares them with s's: a
// difference makes the export approximate, with the first instant where
// they part. Without systemd-analyze the report says it is unchecked.
func CheckSystemd(lines []string, s *compile.Schedule, f compile.Fidelity) compile.Fidelity {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		f.Why = strings.TrimPrefix(f.Why+"; not checked: systemd-analyze is not installed", "; ")
		return f
	}
	now := time.Now().Truncate(time.Second)
	args := append([]string{"calendar", fmt.Sprintf("--iterations=%d", systemdChecks), fmt.Sprintf("--base-time=@%d", now.Unix())}, lines...)
	cmd := exec.Command(analyze, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("systemd-analyze calendar refused the lines: %v", err)}
	}
	var theirs []time.Time
	for _, l := range strings.Split(string(out), "\n") {
		_, at, ok := strings.Cut(l, ": ")
		if !strings.Contains(l, "Next elapse:") && !strings.Contains(l, "Iter. #") || !ok {
			continue
		}
		if t, err := time.Parse("Mon 2006-01-02 15:04:05 MST", strings.TrimSpace(at)); err == nil {
			theirs = append(theirs, t)
		}
	}
	slices.SortFunc(theirs, time.Time.Compare)
	theirs = slices.CompactFunc(theirs, time.Time.Equal)
	at := now
	for i := 0; i < systemdChecks && i < len(theirs); i++ {
		ours, ok := s.Next(at)
		if !ok || !ours.Equal(theirs[i]) {
			w := theirs[i]
			kind := "only systemd"
			if ok && ours.Before(w) {
				w, kind = ours, "only kopf"
			}
			return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("systemd-analyze calendar differs: %s at %s", kind, w.In(s.Location()).Format(time.RFC3339))}
		}
		at = ours
	}
	return f
}

// libraryFires bounds the fires CheckLibrary compares.
const libraryFires = 50_000

// CheckLibrary compares a year of the fires that the target's own cron
// library gives for lines — robfig/cron v3 for Kubernetes' controller,
// hashicorp/cronexpr for Nomad — with s's, and reports the first where
// they part.
func CheckLibrary(target string, lines []string, s *compile.Schedule, from time.Time) compile.Fidelity {
	loc := s.Location()
	end := from.AddDate(1, 0, 0)
	var nexts []func(time.Time) time.Time
	for _, l := range lines {
		switch target {
		case "kubernetes":
			sched, err := robfig.ParseStandard("CRON_TZ=" + loc.String() + " " + l)
			if err != nil {
				return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("robfig/cron refuses %q: %v", l, err)}
			}
			nexts = append(nexts, sched.Next)
		case "nomad":
			expr, err := cronexpr.Parse(l)
			if err != nil {
				return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("hashicorp/cronexpr refuses %q: %v", l, err)}
			}
			nexts = append(nexts, func(t time.Time) time.Time { return expr.Next(t.In(loc)) })
		}
	}
	theirs := func(after time.Time) time.Time {
		var best time.Time
		for _, next := range nexts {
			if n := next(after); !n.IsZero() && (best.IsZero() || n.Before(best)) {
				best = n
			}
		}
		return best
	}
	who := map[string]string{"kubernetes": "robfig/cron (Kubernetes)", "nomad": "hashicorp/cronexpr (Nomad)"}[target]
	at := from
	for range libraryFires {
		ours, ok := s.Next(at)
		them := theirs(at)
		switch {
		case !ok && them.IsZero():
			return compile.Fidelity{Level: "exact"}
		case ok && (them.IsZero() || ours.Before(them)):
			if ours.After(end) {
				return compile.Fidelity{Level: "exact", Why: "checked against " + who + " for a year"}
			}
			return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("%s differs: only kopf at %s", who, ours.In(loc).Format(time.RFC3339))}
		case !ours.Equal(them):
			if them.After(end) {
				return compile.Fidelity{Level: "exact", Why: "checked against " + who + " for a year"}
			}
			return compile.Fidelity{Level: "approximate", Why: fmt.Sprintf("%s differs: only %s at %s", who, target, them.In(loc).Format(time.RFC3339))}
		}
		if ours.After(end) {
			return compile.Fidelity{Level: "exact", Why: "checked against " + who + " for a year"}
		}
		at = ours
	}
	return compile.Fidelity{Level: "exact", Why: fmt.Sprintf("checked against %s for the next %d fires", who, libraryFires)}
}

// WriteCronJob writes a Kubernetes CronJob that runs command in sh -c on
// line's schedule; deadline drops fires missed while the controller was
// down.
func WriteCronJob(w io.Writer, name, line, zone, policy string, deadline bool, image, command string, env []string) {
	fmt.Fprintf(w, `apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
spec:
  schedule: %s
  timeZone: %s
  concurrencyPolicy: %s
`, name, strconv.Quote(line), strconv.Quote(zone), policy)
	if deadline {
		fmt.Fprintln(w, "  startingDeadlineSeconds: 60")
	}
	fmt.Fprintf(w, `  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: %s
              image: %s
              command: ["/bin/sh", "-c", %s]
`, name, image, strconv.Quote(command))
	if len(env) > 0 {
		fmt.Fprintln(w, "              env:")
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				fmt.Fprintf(w, "                - {name: %s, value: %s}\n", strconv.Quote(k), strconv.Quote(v))
			}
		}
	}
}
