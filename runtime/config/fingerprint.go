package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Fingerprint is a canonical text of everything that affects how the job
// runs: equal fingerprints mean a reload leaves it running untouched.
// Positions, the key a schedule came from (schedule, scheduling or cron)
// and how it was written (every 90m or every 1h30m) do not count, nor do
// the order of its schedules, triggers and ports, which are sets, nor
// whether a setting was written in the job or in a proto. Backoff counts
// only when failed runs are retried.
func (j *Job) Fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %q\n", j.Name)
	j.Unit.fingerprint(&b)
	// A job's extra arguments reach a string command as "$@" and an argv
	// as more argv entries, so for a job the two forms differ.
	fmt.Fprintf(&b, "shell %t\nperiod %v\npause %v\nrandom %v\ntimeout %v\nrun-on-start %t\ncatch-up %s within %v\noverlap %s\n",
		j.Shell, j.Period, j.Pause, j.Random, j.Timeout, j.RunOnStart, j.CatchUp, j.CatchUpWithin, j.Overlap)
	fmt.Fprintf(&b, "max-failures %d\ndst %s\njitter %v\n", j.MaxFailures, j.DST, j.Jitter)
	if j.MaxFailures > 0 {
		fmt.Fprintf(&b, "backoff %v\n", j.Backoff)
	}
	var lines []string
	for _, s := range j.Schedules {
		lines = append(lines, fmt.Sprintf("schedule %q in %q args %q", s.Compiled, s.Compiled.Location(), s.Args))
	}
	for _, t := range j.Triggers {
		lines = append(lines, fmt.Sprintf("trigger %q args %q", t.Job, t.Args))
	}
	sort.Strings(lines)
	for _, line := range lines {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Fingerprint is a canonical text of everything that affects how the proc
// runs: equal fingerprints mean a reload leaves it running untouched. The
// files it watches are sets; a health check counts whole, and its URL as
// made from a path or a health port, however it was written.
func (p *Proc) Fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proc %q\n", p.Name)
	p.Unit.fingerprint(&b)
	fmt.Fprintf(&b, "backoff %v\n", p.Backoff)
	if h := p.Health; h != nil {
		fmt.Fprintf(&b, "health http %q command %q interval %v timeout %v initial-interval %v max-consecutive-failures %d min-consecutive-successes %d\n",
			h.HTTP, h.Command, h.Interval, h.Timeout, h.InitialInterval, h.MaxConsecutiveFailures, h.MinConsecutiveSuccesses)
	}
	fmt.Fprintf(&b, "restart-on-change %q\nhup-on-change %q\n", sorted(p.RestartOnChange), sorted(p.HUPOnChange))
	return b.String()
}

// fingerprint writes the shared settings. Shell is left out: for a proc a
// string command is exactly its /bin/sh -c argv.
func (u *Unit) fingerprint(b *strings.Builder) {
	fmt.Fprintf(b, "command %q\ndir %q\nenv %q\ntitle %q\nlog-start %t\nlog-output %t\n",
		u.Command, u.Dir, u.Env, u.Title, u.LogStart, u.LogOutput)
	fmt.Fprintf(b, "idle %v\nstop-time %v\nmail-to %q\nmail-from %q\nmail-partial-after %v\ntimezone %q\ndigest %q\n",
		u.Idle, u.StopTime, u.MailTo, u.MailFrom, u.MailPartialAfter, u.Location, u.Digest)
	fmt.Fprintf(b, "ports %q\nkeep-leftovers %t\n", sorted(u.Ports), u.KeepLeftovers)
}

// sorted returns a sorted copy of a list that is a set.
func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
