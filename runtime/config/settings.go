package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/job"
)

// forKind says which units a setting is for.
type forKind int

const (
	forJobs forKind = 1 << iota
	forProcs
	forBoth = forJobs | forProcs
)

func (f forKind) String() string {
	switch f {
	case forJobs:
		return "jobs"
	case forProcs:
		return "procs"
	}
	return "both"
}

// of is a job or a proc as a setting sees it: the shared Unit, and Job or
// Proc by kind (the other nil).
type of struct {
	*Unit
	j *Job
	p *Proc
}

func (x of) kind() forKind {
	if x.j != nil {
		return forJobs
	}
	return forProcs
}

// entry is a unit being read: what it is, its name, its settings object
// (in file order) and its settings by key.
type entry struct {
	of
	key, val *node
	set      keyed
	shell    []string // `shell` as an argv, for command
}

// keyed is an entry's settings, known keys only, looked up by key: an
// entry has a few, which a map would cost more to build than to search.
type keyed []member

// get returns the value of key, or nil.
func (k keyed) get(key string) *node {
	for _, m := range k {
		if m.key.text == key {
			return m.val
		}
	}
	return nil
}

// setting is one key of a job's or proc's settings. The table below is the
// one place a key is defined: the decoder reads it from there, the lists
// of keys each kind takes (which protos and services files use too) are
// made from it, Fingerprint is the sum of its settings' parts, the table
// of settings in docs/config.md is generated from it, and the fingerprint
// test changes each setting in turn from its examples. A new setting is an
// entry here and the code that acts on it.
type setting struct {
	key   string
	kinds forKind
	// typ and def are the type and the default, as docs/config.md's table
	// gives them; doc is the section there, "" for the key's own.
	typ, def, doc string
	// read decodes the key's value n into x; n is nil when the key is
	// absent, and read then sets the default. Settings are read in table
	// order, so a setting may use those above it. nil for a key another
	// setting reads with its own (scheduling and cron with schedule).
	read func(l *loader, x *entry, n *node)
	// check runs once every setting is read, for what needs a setting
	// below this one; nil for none.
	check func(l *loader, x *entry, n *node)
	// value is the setting's part of the fingerprint (written by canon):
	// equal values leave a unit running across a reload. Lists that are
	// sets are sorted. nil for a key another setting's value covers, or
	// that does not change how a unit runs.
	value func(x of) any
	// examples are two values of the key that value must tell apart, for
	// the fingerprint test; an alias gives the key it stands for instead
	// (aliasOf), and is tested under it.
	examples [2]string
	aliasOf  string
}

func (s *setting) isFor(k forKind) bool { return s.kinds&k != 0 }

// one names a unit of the kind: "job" or "proc".
func (f forKind) one() string {
	if f == forJobs {
		return "job"
	}
	return "proc"
}

// leftovers reads `leftovers`: whether what a run leaves when its
// process ends is kept ("keep") rather than stopped ("stop").
func (l *loader) leftovers(key string, n *node) bool {
	switch v := l.str(key, n); v {
	case "keep":
		return true
	case "stop":
	default:
		l.errorf(n.pos, "%s must be \"stop\" or \"keep\", found %s", quote(key), quote(v))
	}
	return false
}

// settings is the table of every setting, in the order they are read.
var settings = []setting{
	{key: "shell", kinds: forBoth, typ: "string, or array of strings", def: "`\"/bin/sh\"`",
		read: func(l *loader, x *entry, n *node) {
			x.shell = defaultShell
			if n != nil {
				x.shell = l.shell(n)
			}
		},
		// Its value is in the command's.
		examples: [2]string{`"/bin/sh"`, `["/bin/bash", "-e", "-c"]`}},
	{key: "command", kinds: forBoth, typ: "string, or array of strings", def: "none (required for procs)",
		read: func(l *loader, x *entry, n *node) {
			switch {
			case n != nil:
				x.Command, x.Shell = l.command(n, x.shell)
			case x.p != nil:
				l.errorf(x.key.pos, "proc %s has no \"command\"; a proc needs one to run", quote(x.Name))
			}
		},
		check: func(l *loader, x *entry, n *node) {
			checkPortRefs(l, x, n)
			checkProgramInDir(l, x, n)
		},
		value: func(x of) any {
			if x.j != nil {
				// A job's extra arguments reach a string command as "$@"
				// and an argv as more argv entries, so for a job the two
				// forms differ; for a proc a string is exactly its
				// /bin/sh -c argv.
				return fmt.Sprintf("%q shell %t", x.Command, x.Shell)
			}
			return x.Command
		},
		examples: [2]string{`"backup --all"`, `["backup", "--all"]`}},
	{key: "dir", kinds: forBoth, typ: "string", def: "kopf's working directory",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.Dir = l.str("dir", n)
				l.noNUL("dir", n, x.Dir)
			}
		},
		value:    func(x of) any { return x.Dir },
		examples: [2]string{`"/tmp"`, `"/var/tmp"`}},
	{key: "env", kinds: forBoth, typ: "object of strings, numbers, booleans", def: "none",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.Env = l.env(n)
			}
		},
		check:    checkPortRefs,
		value:    func(x of) any { return x.Env },
		examples: [2]string{`{"A": "1", "B": 2}`, `{"A": "1", "B": 3}`}},
	{key: "inherit-env", kinds: forBoth, typ: "boolean", def: "`true` (crontab lines: `false`)", doc: "user",
		read:     func(l *loader, x *entry, n *node) { x.CleanEnv = !l.boolean("inherit-env", n, true) },
		value:    func(x of) any { return x.CleanEnv },
		examples: [2]string{`true`, `false`}},
	{key: "stdin", kinds: forBoth, typ: "string", def: "none (`/dev/null`)",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				if s := l.str("stdin", n); s != "" {
					x.extra().Stdin = s
				}
			}
		},
		value:    func(x of) any { return x.Stdin() },
		examples: [2]string{`"yes\n"`, `"no\n"`}},
	{key: "placement", kinds: forBoth, typ: "`\"one\"` or `\"each\"`", def: "`\"one\"`", doc: "cluster",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			switch v := l.str("placement", n); v {
			case "one":
			case "each":
				x.extra().placement().Each = true
			default:
				l.errorf(n.pos, "\"placement\" must be \"one\" or \"each\", found %s", quote(v))
			}
		},
		value:    func(x of) any { return x.Placement().Each },
		examples: [2]string{`"one"`, `"each"`}},
	{key: "prefer", kinds: forBoth, typ: "string, or array of strings", def: "none", doc: "cluster",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			if names := texts(l.stringList("prefer", n, "a member's name or an array of them")); len(names) > 0 {
				x.extra().placement().Prefer = names
			}
		},
		value:    func(x of) any { return x.Placement().Prefer },
		examples: [2]string{`"a"`, `["b", "a"]`}},
	{key: "on-lease-loss", kinds: forJobs, typ: "`\"finish\"` or `\"kill\"`", def: "`\"finish\"`", doc: "cluster",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			switch v := l.str("on-lease-loss", n); v {
			case "kill":
				x.extra().placement().KillOnLoss = true
			case "finish":
			default:
				l.errorf(n.pos, "\"on-lease-loss\" must be \"kill\" or \"finish\", found %s", quote(v))
			}
		},
		value:    func(x of) any { return x.Placement().KillOnLoss },
		examples: [2]string{`"finish"`, `"kill"`}},
	{key: "user", kinds: forBoth, typ: "string or whole number", def: "kopf's user", doc: "user",
		// with group
		read: func(l *loader, x *entry, n *node) {
			if g := x.set.get("group"); n != nil || g != nil {
				if id := l.identity(n, g); id != nil {
					x.extra().As = id
				}
			}
		},
		value: func(x of) any {
			as := x.As()
			if as == nil {
				return ""
			}
			return fmt.Sprintf("%q:%q", as.User, as.Group)
		},
		examples: [2]string{`"root"`, `0`}},
	{key: "group", kinds: forBoth, typ: "string or whole number", def: "the user's group", doc: "user",
		// read and valued with user
		examples: [2]string{`"root"`, `0`}},
	{key: "title", kinds: forBoth, typ: "string", def: "the name",
		read: func(l *loader, x *entry, n *node) {
			x.Title = x.Name
			if n == nil {
				return
			}
			if x.Title = l.str("title", n); x.Title == "" && n.kind == kindString {
				l.errorf(n.pos, "\"title\" is empty; leave it out to use the name")
			}
		},
		value:    func(x of) any { return x.Title },
		examples: [2]string{`"the backup"`, `"backup"`}},
	{key: "log-start", kinds: forBoth, typ: "boolean", def: "`true`",
		read:     func(l *loader, x *entry, n *node) { x.LogStart = l.boolean("log-start", n, true) },
		value:    func(x of) any { return x.LogStart },
		examples: [2]string{`true`, `false`}},
	{key: "log-output", kinds: forBoth, typ: "boolean, or `\"raw\"`", def: "`false`",
		read: func(l *loader, x *entry, n *node) {
			if n != nil && n.kind == kindString {
				if n.text != "raw" {
					l.errorf(n.pos, "\"log-output\" must be true, false or \"raw\", found %s", quote(n.text))
					return
				}
				x.LogOutput, x.LogRaw = true, true
				return
			}
			x.LogOutput = l.boolean("log-output", n, false)
		},
		value:    func(x of) any { return fmt.Sprint(x.LogOutput, x.LogRaw) },
		examples: [2]string{`true`, `"raw"`}},
	{key: "log-output-max", kinds: forBoth, typ: "size", def: "`\"4MiB\"`",
		read: func(l *loader, x *entry, n *node) {
			switch b := l.size("log-output-max", n); {
			case b == 0:
				x.extra().LogMax = -1 // no bound
			case b > 0 && b != DefaultLogOutputMax:
				x.extra().LogMax = b
			}
			if n != nil && !x.LogOutput && l.own("log-output-max") {
				l.warnf(n.pos, "\"log-output-max\" has no effect without \"log-output\"")
			}
		},
		value:    func(x of) any { return x.LogOutputMax() },
		examples: [2]string{`"4MiB"`, `1024`}},
	{key: "idle", kinds: forBoth, typ: "duration", def: "jobs `0`, procs `10s`",
		read: func(l *loader, x *entry, n *node) {
			if x.Idle = 0; x.p != nil {
				x.Idle = defaultProcIdle
			}
			if n != nil {
				x.Idle = l.duration("idle", n)
			}
		},
		value:    func(x of) any { return x.Idle },
		examples: [2]string{`0`, `5`}},
	{key: "stop-time", kinds: forBoth, typ: "duration", def: "`10s`",
		read: func(l *loader, x *entry, n *node) {
			x.StopTime = defaultStopTime
			if n != nil {
				x.StopTime = l.duration("stop-time", n)
			}
		},
		value:    func(x of) any { return x.StopTime },
		examples: [2]string{`10`, `20`}},
	{key: "leftovers", kinds: forBoth, typ: "`\"stop\"` or `\"keep\"`", def: "`\"stop\"` (crontab lines: `\"keep\"`)",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.KeepLeftovers = l.leftovers("leftovers", n)
			}
		},
		value:    func(x of) any { return x.KeepLeftovers },
		examples: [2]string{`"stop"`, `"keep"`}},
	{key: "keep-leftovers", kinds: forBoth, typ: "boolean (the old name of `leftovers`)", def: "`false`", doc: "leftovers", aliasOf: "leftovers",
		read: func(l *loader, x *entry, n *node) {
			switch {
			case n == nil:
			case x.set.get("leftovers") != nil:
				l.errorf(n.pos, "\"keep-leftovers\" is the old name of \"leftovers\", which this %s has too; keep only \"leftovers\"", x.kind().one())
			case n.kind == kindBool:
				x.KeepLeftovers = l.boolean("keep-leftovers", n, false)
			default:
				x.KeepLeftovers = l.leftovers("keep-leftovers", n)
			}
		}},
	{key: "mail-to", kinds: forBoth, typ: "string, or array of strings", def: "none",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			for _, e := range l.stringList("mail-to", n, "an email address or an array of them") {
				if a := l.address("mail-to", e); a != "" {
					x.MailTo = append(x.MailTo, a)
				}
			}
		},
		value:    func(x of) any { return x.MailTo },
		examples: [2]string{`"a@example.com"`, `["a@example.com", "b@example.com"]`}},
	{key: "mail-from", kinds: forBoth, typ: "string", def: "none",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			if l.str("mail-from", n); n.kind == kindString {
				x.MailFrom = l.address("mail-from", n)
			}
			if x.set.get("mail-to") == nil && n.kind == kindString && l.own("mail-from") {
				l.warnf(n.pos, "\"mail-from\" has no effect without \"mail-to\"")
			}
		},
		value:    func(x of) any { return x.MailFrom },
		examples: [2]string{`"k@example.com"`, `"kopf@example.com"`}},
	{key: "mail-partial-after", kinds: forBoth, typ: "duration", def: "`0` (mail at the end only)",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			x.MailPartialAfter = l.duration("mail-partial-after", n)
			if x.set.get("mail-to") == nil && l.own("mail-partial-after") {
				l.warnf(n.pos, "\"mail-partial-after\" has no effect without \"mail-to\"")
			}
		},
		value:    func(x of) any { return x.MailPartialAfter },
		examples: [2]string{`"1h"`, `"2h"`}},
	{key: "timezone", kinds: forBoth, typ: "string", def: "`UTC`",
		read: func(l *loader, x *entry, n *node) {
			x.Location = time.UTC
			if n != nil {
				x.Location = l.timezone(n)
			}
		},
		value:    func(x of) any { return x.Location.String() },
		examples: [2]string{`"Europe/Berlin"`, `"UTC"`}},
	{key: "ports", kinds: forBoth, typ: "string, or array of strings", def: "none",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.Ports = l.ports(n)
			}
		},
		value:    func(x of) any { return sorted(x.Ports) },
		examples: [2]string{`["http", "admin"]`, `["http"]`}},
	// proto is resolved before the unit is read (protos.go), and tested
	// there.
	{key: "proto", kinds: forBoth, typ: "string, or array of strings", def: "none", doc: "protos"},
	{key: "backoff", kinds: forBoth, typ: "array of durations", def: "`[0, \"5s\", \"15s\", \"1m\"]`",
		read: func(l *loader, x *entry, n *node) {
			b := defaultBackoff
			if n != nil {
				b = l.backoff(n)
			}
			if x.j != nil {
				x.j.Backoff = b
			} else {
				x.p.Backoff = b
			}
		},
		check: func(l *loader, x *entry, n *node) {
			if n != nil && x.j != nil && x.j.MaxFailures == 0 && l.own("backoff") {
				l.warnf(n.pos, "\"backoff\" has no effect without \"max-failures\": a job's backoff is the wait before retrying a failed run")
			}
		},
		value: func(x of) any {
			switch {
			case x.p != nil:
				return x.p.Backoff
			case x.j.MaxFailures > 0:
				return x.j.Backoff
			}
			return nil // never used while failed runs are not retried
		},
		examples: [2]string{`[1, "5s"]`, `[1, "6s"]`}},
	{key: "period", kinds: forJobs, typ: "duration", def: "`0` (none)",
		read:     func(l *loader, x *entry, n *node) { x.j.Period = l.duration("period", n) },
		value:    func(x of) any { return x.j.Period },
		examples: [2]string{`3600`, `3601`}},
	{key: "pause", kinds: forJobs, typ: "duration", def: "`0` (none)",
		read:     func(l *loader, x *entry, n *node) { x.j.Pause = l.duration("pause", n) },
		value:    func(x of) any { return x.j.Pause },
		examples: [2]string{`0`, `1`}},
	{key: "random", kinds: forJobs, typ: "duration", def: "`0`",
		read: func(l *loader, x *entry, n *node) {
			x.j.Random = l.duration("random", n)
			if n != nil && x.j.Random > 0 && x.j.Period == 0 && x.j.Pause == 0 && l.own("random") {
				l.warnf(n.pos, "\"random\" has no effect without \"period\" or \"pause\"")
			}
		},
		value:    func(x of) any { return x.j.Random },
		examples: [2]string{`60`, `61`}},
	{key: "timeout", kinds: forJobs, typ: "duration", def: "`0` (no limit)",
		read: func(l *loader, x *entry, n *node) {
			x.j.Timeout = l.duration("timeout", n)
			if n != nil && x.j.Timeout > 0 && x.j.Timeout < x.StopTime {
				l.warnf(n.pos, "timeout %s is shorter than stop-time %s: a run that times out may go on for longer than it was allowed to run while it stops", formatDuration(x.j.Timeout), formatDuration(x.StopTime))
			}
		},
		value:    func(x of) any { return x.j.Timeout },
		examples: [2]string{`"2h"`, `"3h"`}},
	{key: "run-on-start", kinds: forJobs, typ: "boolean, or `\"once-per-boot\"`", def: "`true` with `period` or `pause`, else `false`",
		read: func(l *loader, x *entry, n *node) {
			if n != nil && n.kind == kindString {
				if n.text != "once-per-boot" {
					l.errorf(n.pos, "\"run-on-start\" must be true, false or \"once-per-boot\", found %s", quote(n.text))
					return
				}
				x.j.RunOnStart, x.j.OncePerBoot = true, true
				return
			}
			x.j.RunOnStart = l.boolean("run-on-start", n, x.j.Period > 0 || x.j.Pause > 0)
		},
		value:    func(x of) any { return fmt.Sprint(x.j.RunOnStart, x.j.OncePerBoot) },
		examples: [2]string{`true`, `"once-per-boot"`}},
	{key: "catch-up", kinds: forJobs, typ: "`\"none\"`, `\"last\"` or `\"all\"`", def: "`\"none\"`",
		read: func(l *loader, x *entry, n *node) {
			x.j.CatchUp = CatchUpNone
			if n != nil {
				x.j.CatchUp = l.catchUp(n)
			}
		},
		check: func(l *loader, x *entry, n *node) {
			if n != nil && x.j.CatchUp != CatchUpNone && len(x.j.Schedules) == 0 && l.own("catch-up") {
				l.warnf(n.pos, "\"catch-up\" has no effect without a schedule")
			}
		},
		value:    func(x of) any { return x.j.CatchUp },
		examples: [2]string{`"last"`, `"all"`}},
	{key: "catch-up-within", kinds: forJobs, typ: "duration", def: "`0` (no bound)",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			x.j.CatchUpWithin = l.duration("catch-up-within", n)
			if x.j.CatchUp == CatchUpNone && l.own("catch-up-within") {
				l.warnf(n.pos, "\"catch-up-within\" has no effect without \"catch-up\": \"last\" or \"all\"")
			}
		},
		value:    func(x of) any { return x.j.CatchUpWithin },
		examples: [2]string{`"6h"`, `"7h"`}},
	{key: "overlap", kinds: forJobs, typ: "`\"queue\"`, `\"skip\"` or `\"replace\"`", def: "`\"queue\"`",
		read: func(l *loader, x *entry, n *node) { x.j.Overlap = l.overlap(n) },
		check: func(l *loader, x *entry, n *node) {
			if n != nil && x.j.Overlap != job.Queue && len(x.j.Schedules) == 0 && l.own("overlap") {
				l.warnf(n.pos, "\"overlap\" has no effect without a schedule: it decides what a schedule fire does while the job runs")
			}
		},
		value:    func(x of) any { return x.j.Overlap },
		examples: [2]string{`"queue"`, `"skip"`}},
	{key: "jitter", kinds: forJobs, typ: "duration", def: "`0` (none)",
		read: func(l *loader, x *entry, n *node) { x.j.Jitter = l.duration("jitter", n) },
		check: func(l *loader, x *entry, n *node) {
			if n != nil && x.j.Jitter > 0 && len(x.j.Schedules) == 0 && l.own("jitter") {
				l.warnf(n.pos, "\"jitter\" has no effect without a schedule: it moves schedule fires")
			}
		},
		value:    func(x of) any { return x.j.Jitter },
		examples: [2]string{`"10m"`, `"11m"`}},
	{key: "dst", kinds: forJobs, typ: "object", def: "cronie's rule",
		// Read before the schedules, which it compiles into.
		read: func(l *loader, x *entry, n *node) { x.j.DST = l.dst(n) },
		check: func(l *loader, x *entry, n *node) {
			if n != nil && len(x.j.Schedules) == 0 && l.own("dst") {
				l.warnf(n.pos, "\"dst\" has no effect without a schedule")
			}
		},
		value:    func(x of) any { return x.j.DST.String() },
		examples: [2]string{`{"gap": "skip"}`, `{"gap": "skip", "overlap": "both"}`}},
	{key: "schedule", kinds: forJobs, typ: "string, or array of strings", def: "none",
		// schedule, scheduling and cron, in file order, in the job's zone
		// and with its dst.
		read: func(l *loader, x *entry, n *node) { l.schedules(x.j, x.val) },
		value: func(x of) any {
			var lines []string
			for _, s := range x.j.Schedules {
				lines = append(lines, fmt.Sprintf("%q in %q args %q", s.Compiled, s.Compiled.Location(), s.Args))
			}
			return sorted(lines)
		},
		examples: [2]string{`["every 1h30m", "0 4"]`, `["every 1h30m", "0 5"]`}},
	{key: "scheduling", kinds: forJobs, typ: "the same as `schedule`", def: "none", doc: "schedule", aliasOf: "schedule"},
	{key: "cron", kinds: forJobs, typ: "string, array, or object", def: "none",
		// read and fingerprinted with schedule
		examples: [2]string{`{"0 17": ["--x"]}`, `{"0 17": ["--z"]}`}},
	{key: "trigger", kinds: forJobs, typ: "string, array, or object", def: "none",
		read: func(l *loader, x *entry, n *node) { l.jobTriggers(x.j, n) },
		value: func(x of) any {
			var lines []string
			for _, t := range x.j.Triggers {
				lines = append(lines, fmt.Sprintf("%q args %q", t.Job, t.Args))
			}
			return sorted(lines)
		},
		examples: [2]string{`{"k": ["--y"]}`, `"k"`}},
	{key: "max-failures", kinds: forJobs, typ: "whole number", def: "`0` (no retries)",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.j.MaxFailures = l.count("max-failures", n, 0)
			}
		},
		value:    func(x of) any { return x.j.MaxFailures },
		examples: [2]string{`3`, `4`}},
	{key: "max-trigger-args", kinds: forJobs, typ: "whole number", def: "`1000`",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			switch v := l.count("max-trigger-args", n, 0); v {
			case 0:
				x.extra().MaxTriggerArgs = -1 // no bound
			case DefaultMaxTriggerArgs:
			default:
				x.extra().MaxTriggerArgs = int32(v)
			}
		},
		value:    func(x of) any { return x.j.MaxTriggerArgs() },
		examples: [2]string{`1000`, `10`}},
	{key: "alert", kinds: forJobs, typ: "object", def: "none",
		read: func(l *loader, x *entry, n *node) {
			if n == nil {
				return
			}
			if a := l.alert(n); a != nil {
				x.extra().Alert = a
				if a.MailOn != MailAlways && len(x.MailTo) == 0 && x.set.get("mail-to") == nil {
					l.warnf(n.pos, "\"mail-on\" has no effect without \"mail-to\": it chooses which runs mail their output")
				}
			}
		},
		value:    func(x of) any { return x.Alert().String() },
		examples: [2]string{`{"mail-on": "failure"}`, `{"ping": "https://hc.example/ping/1"}`}},
	{key: "health", kinds: forProcs, typ: "object", def: "none (no checks)",
		read: func(l *loader, x *entry, n *node) {
			if n != nil {
				x.p.Health = l.health(n, x.Ports)
			}
		},
		value: func(x of) any {
			h := x.p.Health
			if h == nil {
				return nil
			}
			return fmt.Sprintf("http %q expect-body %q command %q interval %v timeout %v initial-interval %v max-consecutive-failures %d min-consecutive-successes %d",
				h.HTTP, h.ExpectBody, h.Command, h.Interval, h.Timeout, h.InitialInterval, h.MaxConsecutiveFailures, h.MinConsecutiveSuccesses)
		},
		examples: [2]string{`{"http": "/health", "interval": 5}`, `{"http": "/healthz", "interval": 5}`}},
	{key: "restart-on-change", kinds: forProcs, typ: "string, or array of strings", def: "none",
		// with hup-on-change, since a file may not be in both
		read: func(l *loader, x *entry, n *node) {
			restart := l.paths("restart-on-change", n)
			hup := l.paths("hup-on-change", x.set.get("hup-on-change"))
			if len(restart) > 0 {
				x.p.RestartOnChange = texts(restart)
			}
			if len(hup) > 0 {
				x.p.HUPOnChange = texts(hup)
			}
			l.inBoth(restart, hup)
		},
		value:    func(x of) any { return sorted(x.p.RestartOnChange) },
		examples: [2]string{`["tor.bin", "lib.so"]`, `"tor.bin"`}},
	{key: "hup-on-change", kinds: forProcs, typ: "string, or array of strings", def: "none",
		// read with restart-on-change
		value:    func(x of) any { return sorted(x.p.HUPOnChange) },
		examples: [2]string{`"tor.rc"`, `"torrc"`}},
}

// checkPortRefs checks the {{ports[NAME]}} in a setting's value against
// the unit's ports.
func checkPortRefs(l *loader, x *entry, n *node) {
	if n != nil {
		l.portRefs(n, x.Ports)
	}
}

// keysFor returns the keys of the settings for kind, in table order.
func keysFor(kind forKind) []string {
	var out []string
	for _, s := range settings {
		if s.isFor(kind) {
			out = append(out, s.key)
		}
	}
	return out
}

// keysOnlyFor returns the keys that only kind's units take.
func keysOnlyFor(kind forKind) []string {
	var out []string
	for _, s := range settings {
		if s.kinds == kind {
			out = append(out, s.key)
		}
	}
	return out
}

var (
	jobKeys  = keysFor(forJobs)
	procKeys = keysFor(forProcs)
	// jobOnlyKeys also make a services file a job (services.go).
	jobOnlyKeys  = keysOnlyFor(forJobs)
	procOnlyKeys = keysOnlyFor(forProcs)
)

// read reads every setting of x, in table order, then runs their checks.
func (l *loader) read(x *entry) {
	x.Name, x.Pos = x.key.text, x.key.pos
	kind := x.kind()
	for i := range settings {
		if s := &settings[i]; s.isFor(kind) && s.read != nil {
			s.read(l, x, x.set.get(s.key))
		}
	}
	for i := range settings {
		if s := &settings[i]; s.isFor(kind) && s.check != nil {
			s.check(l, x, x.set.get(s.key))
		}
	}
}

// fingerprint is the canonical text of x: its kind and name, a script's
// digest, and every setting's value.
func fingerprint(x of) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q\ndigest %q\n", map[forKind]string{forJobs: "job", forProcs: "proc"}[x.kind()], x.Name, x.Digest)
	for i := range settings {
		if s := &settings[i]; s.isFor(x.kind()) && s.value != nil {
			fmt.Fprintf(&b, "%s %s\n", s.key, canon(s.value(x)))
		}
	}
	return b.String()
}

// canon writes a setting's value for the fingerprint: strings quoted, so
// that no two lists read alike; a nil list and an empty one alike.
func canon(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%v", v)
}
