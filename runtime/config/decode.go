package config

import (
	"fmt"
	"math"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/job"
)

// topKeys are the keys of the file's top level; those of a job or proc
// are in the table of settings (settings.go).
var topKeys = []string{"cluster", "jitter-seed", "jobs", "mail", "procs", "protos"}

// Expected types, as messages name them.
const (
	wantDuration = `a duration: seconds as a number, or a string like "90s", "1h30m" or "2d"`
	wantArgs     = "an argument string or an array of them"
)

func (l *loader) config(root *node) *Config {
	cfg := &Config{}
	if root.kind != kindObject {
		l.errorf(root.pos, "expected an object with \"jobs\" and/or \"procs\", found %s", root.found())
		return cfg
	}
	var jobs, procs, protos *node
	for _, m := range root.members {
		switch m.key.text {
		case "jobs":
			jobs = m.val
		case "procs":
			procs = m.val
		case "protos":
			protos = m.val
		case "mail":
			cfg.Mail = l.mail(m.val)
		case "cluster":
			cfg.Cluster = l.cluster(m.val)
		case "jitter-seed":
			cfg.JitterSeed = l.str("jitter-seed", m.val)
		default:
			l.unknownTopKey(m.key)
		}
	}
	// Protos are resolved first, whatever their place in the file: each
	// unit's settings are then its protos' and its own, merged into one
	// object that job and proc read as if it were written out.
	ps := l.protos(protos)
	jobMembers, procMembers := l.section("jobs", jobs), l.section("procs", procs)
	l.defs = slices.Grow(l.defs, len(jobMembers)+len(procMembers))
	cfg.Jobs = readUnits(l, cfg, ps, jobMembers, true, l.job)
	cfg.Procs = readUnits(l, cfg, ps, procMembers, false, l.proc)
	procNames := map[string]*node{} // those whose settings are an object
	for _, m := range procMembers {
		if m.val.kind == kindObject {
			procNames[m.key.text] = m.key
		}
	}
	ps.warnUnused()
	sortByName(cfg.Jobs)
	sortByName(cfg.Procs)
	// A clash between entries that are not even objects (kopf.md's own
	// example has "command" in both) would only add noise.
	if len(procNames) > 0 {
		for _, m := range jobMembers {
			if p := procNames[m.key.text]; p != nil && m.val.kind == kindObject {
				l.errorf(p.pos, "%s is the name of a job (at %d:%d) and of a proc; names must differ", quote(m.key.text), m.key.pos.Line, m.key.pos.Col)
			}
		}
	}
	return cfg
}

// sortByName sorts units by name, and costs one pass when they are (a
// generated file's often are).
func sortByName[U interface{ name() string }](us []U) {
	byName := func(a, b U) int { return strings.Compare(a.name(), b.name()) }
	if !slices.IsSortedFunc(us, byName) {
		slices.SortFunc(us, byName)
	}
}

func (u *Unit) name() string { return u.Name }

// reused records a unit that Reparse took from the file's previous
// version: the protos it takes are used, as when it was read.
func (l *loader) reused(cfg *Config, ps *protoSet, name string) {
	uses := l.reuse.protosOf(name)
	for _, p := range uses {
		ps.use(p)
	}
	cfg.tookProtos(name, uses)
}

// tookProtos records the protos a unit takes itself.
func (c *Config) tookProtos(name string, protos []string) {
	if len(protos) == 0 {
		return
	}
	if c.protoUses == nil {
		c.protoUses = map[string][]string{}
	}
	c.protoUses[name] = protos
}

func (l *loader) unknownTopKey(key *node) {
	switch {
	case key.text == "proto":
		l.errorf(key.pos, "unknown top-level key \"proto\" (did you mean \"protos\"?); \"proto\" goes inside a job or proc and names protos defined under \"protos\"")
	case slices.Contains(procKeys, key.text) || slices.Contains(jobKeys, key.text):
		l.errorf(key.pos, "unknown top-level key %s: settings go inside a named job or proc, like {\"jobs\": {\"NAME\": {%s: …}}}", quote(key.text), quote(key.text))
	default:
		hint := "; expected \"jobs\", \"procs\", \"protos\" or \"mail\""
		if s := closestKey(key.text, topKeys); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
		}
		l.errorf(key.pos, "unknown top-level key %s%s", quote(key.text), hint)
	}
}

// section returns the entries of "jobs", "procs" or "protos"; null is
// none.
func (l *loader) section(name string, n *node) []member {
	switch {
	case n == nil || n.kind == kindNull:
		return nil
	case n.kind != kindObject:
		l.errorf(n.pos, "%s must be an object from names to settings, found %s", quote(name), n.found())
		return nil
	}
	return n.members
}

// settings checks that an entry is an object of known keys and returns
// them by key; kind is "job" or "proc".
func (l *loader) settings(kind string, key, val *node) keyed {
	if key.text == "" {
		l.errorf(key.pos, "a %s needs a name; \"\" is none", kind)
		return nil
	}
	if val.kind != kindObject {
		hint := ""
		if slices.Contains(jobKeys, key.text) || slices.Contains(procKeys, key.text) {
			hint = fmt.Sprintf("; %s is a setting: put it inside a named %s, like {\"%ss\": {\"NAME\": {%s: …}}}", quote(key.text), kind, kind, quote(key.text))
		}
		l.errorf(val.pos, "%s %s must be an object of settings, found %s%s", kind, quote(key.text), val.found(), hint)
		return nil
	}
	own, other := jobKeys, procKeys
	if kind == "proc" {
		own, other = procKeys, jobKeys
	}
	set := make(keyed, 0, len(val.members))
	for _, m := range val.members {
		k := m.key.text
		switch {
		case slices.Contains(own, k):
			set = append(set, m)
		case slices.Contains(other, k) && kind == "proc":
			l.errorf(m.key.pos, "%s is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move %s under \"jobs\")", quote(k), quote(key.text))
		case slices.Contains(other, k):
			l.errorf(m.key.pos, "%s is only for procs: jobs are not kept running (a job that should always run is a proc; move %s under \"procs\")", quote(k), quote(key.text))
		default:
			hint := ""
			if s := closestKey(k, own); s != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
			}
			l.errorf(m.key.pos, "unknown key %s in %s %s%s", quote(k), kind, quote(key.text), hint)
		}
	}
	return set
}

// closestKey suggests a key for a misspelt one: the same key with
// underscores or capitals (stop_time, Log-Start), or the closest by edits.
func closestKey(k string, keys []string) string {
	if norm := strings.ToLower(strings.ReplaceAll(k, "_", "-")); slices.Contains(keys, norm) {
		return norm
	}
	return lang.Closest(k, keys)
}

// loadable is a job or a proc, as readUnits reads them.
type loadable interface {
	*Job | *Proc
	unit() *Unit
}

func (u *Unit) unit() *Unit { return u }

// readUnits reads the entries of a section as units of one kind, with
// their protos; an entry whose text is the same as in the config it was
// read with before is taken as it was (Reparse). Every entry's name is
// defined, also one too broken to load, so that a trigger to it is not a
// second error.
func readUnits[T loadable](l *loader, cfg *Config, ps *protoSet, members []member, job bool, read func(key, val *node) T) []T {
	out := make([]T, 0, len(members))
	for _, m := range members {
		l.defs = append(l.defs, def{name: m.key.text, job: job, pos: m.key.pos})
		if u, ok := m.val.reused().(T); ok {
			out = append(out, u)
			l.reused(cfg, ps, u.unit().Name)
			continue
		}
		val, inherited, uses := ps.unit(m.val)
		l.inherited = inherited
		var none T
		if u := read(m.key, val); u != none {
			u.unit().entry = m.val.digest()
			out = append(out, u)
			cfg.tookProtos(u.unit().Name, uses)
		}
		l.inherited = nil
	}
	return out
}

func (l *loader) job(key, val *node) *Job {
	set := l.settings("job", key, val)
	if set == nil {
		return nil
	}
	j := &Job{}
	l.read(&entry{of: of{Unit: &j.Unit, j: j}, key: key, val: val, set: set})
	if j.Command == nil && set.get("trigger") == nil && set.get("command") == nil {
		l.warnf(key.pos, "job %s has neither \"command\" nor \"trigger\": it does nothing", quote(j.Name))
	}
	return j
}

func (l *loader) proc(key, val *node) *Proc {
	set := l.settings("proc", key, val)
	if set == nil {
		return nil
	}
	p := &Proc{}
	l.read(&entry{of: of{Unit: &p.Unit, p: p}, key: key, val: val, set: set})
	return p
}

// catchUp reads catch-up: "none", "last" or "all".
func (l *loader) catchUp(n *node) CatchUp {
	v := l.str("catch-up", n)
	if n.kind != kindString {
		return CatchUpNone
	}
	if i := slices.Index(catchUpNames[:], v); i >= 0 {
		return CatchUp(i)
	}
	l.errorf(n.pos, "\"catch-up\" must be \"none\", \"last\" or \"all\", found %s", quote(v))
	return CatchUpNone
}

// overlap reads overlap: "queue", "skip" or "replace"; absent is queue.
func (l *loader) overlap(n *node) job.Overlap {
	if n == nil {
		return job.Queue
	}
	v := l.str("overlap", n)
	if n.kind != kindString {
		return job.Queue
	}
	o, err := job.ParseOverlap(v)
	if err != nil {
		l.errorf(n.pos, "\"overlap\" must be \"queue\", \"skip\" or \"replace\", found %s", quote(v))
	}
	return o
}

func (l *loader) str(key string, n *node) string {
	if n.kind != kindString {
		l.errorf(n.pos, "%s must be a string, found %s", quote(key), n.found())
		return ""
	}
	return n.text
}

// boolean returns n's value, or def when n is absent or not a boolean.
func (l *loader) boolean(key string, n *node, def bool) bool {
	switch {
	case n == nil:
		return def
	case n.kind != kindBool:
		l.errorf(n.pos, "%s must be true or false, found %s", quote(key), n.found())
		return def
	}
	return strings.EqualFold(n.text, "true")
}

// count reads a whole number of at least least, 0 or 1; it returns least
// after an error.
func (l *loader) count(key string, n *node, least int) int {
	switch {
	case n.kind != kindNumber:
		l.errorf(n.pos, "%s must be a whole number, found %s", quote(key), n.found())
	case n.num != math.Trunc(n.num): // also NaN
		l.errorf(n.pos, "%s must be a whole number, found %s", quote(key), n.text)
	case n.num < 0 && least == 0:
		l.errorf(n.pos, "%s must not be negative, found %s", quote(key), n.text)
	case n.num < float64(least):
		l.errorf(n.pos, "%s must be at least %d, found %s", quote(key), least, n.text)
	case n.num > math.MaxInt32:
		l.errorf(n.pos, "%s is too large: %s", quote(key), n.text)
	default:
		return int(n.num)
	}
	return least
}

// duration reads a duration; absent is 0.
func (l *loader) duration(key string, n *node) time.Duration {
	if n == nil {
		return 0
	}
	var d time.Duration
	var problem string
	switch n.kind {
	case kindNumber:
		d, problem = secondsDuration(n.num)
	case kindString:
		d, problem = parseDuration(n.text)
	default:
		l.errorf(n.pos, "%s must be %s; found %s", quote(key), wantDuration, n.found())
		return 0
	}
	switch problem {
	case "":
		return d
	case "negative":
		l.errorf(n.pos, "%s must not be negative, found %s", quote(key), n.text)
	case "too long", "not a number":
		l.errorf(n.pos, "%s is %s: %s", quote(key), problem, n.text)
	default:
		l.errorf(n.pos, "invalid duration %s for %s: %s", quote(n.text), quote(key), problem)
	}
	return 0
}

// stringList reads a string or an array of strings, the way kopf.md
// writes lists; it returns the string nodes.
func (l *loader) stringList(key string, n *node, want string) []*node {
	switch n.kind {
	case kindString:
		return []*node{n}
	case kindArray:
		var out []*node
		for _, e := range n.elems {
			if e.kind != kindString {
				l.errorf(e.pos, "the elements of %s must be strings, found %s", quote(key), e.found())
				continue
			}
			out = append(out, e)
		}
		return out
	}
	l.errorf(n.pos, "%s must be %s, found %s", quote(key), want, n.found())
	return nil
}

func texts(ns []*node) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.text)
	}
	return out
}

// noNUL refuses a NUL character in s, n's text, at the character: in the
// string's source, an escape (\u0000, "\0") or a raw byte.
func (l *loader) noNUL(key string, n *node, s string) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		l.errorf(n.atByte(l.src, i), "%s contains a NUL character, which no command line or path can hold", quote(key))
	}
}

// command reads a string (run by /bin/sh -c) or an array of strings (run
// directly).
func (l *loader) command(n *node, shell []string) ([]string, bool) {
	switch n.kind {
	case kindString:
		if strings.TrimSpace(n.text) == "" {
			l.errorf(n.pos, "\"command\" is empty")
			return nil, true
		}
		l.noNUL("command", n, n.text)
		return append(slices.Clip(shell), n.text), true
	case kindArray:
		if len(n.elems) == 0 {
			l.errorf(n.pos, "\"command\" is an empty array; it needs at least the program to run")
			return nil, false
		}
		argv := texts(l.stringList("command", n, ""))
		if len(argv) < len(n.elems) {
			return nil, false
		}
		if argv[0] == "" {
			l.errorf(n.elems[0].pos, "the program in \"command\" is empty")
		}
		for i, a := range argv {
			l.noNUL("command", n.elems[i], a)
		}
		return argv, false
	}
	l.errorf(n.pos, "\"command\" must be a string (run by /bin/sh -c) or an array of strings (run directly), found %s", n.found())
	return nil, false
}

// env reads an object of variables; numbers and booleans are their text.
func (l *loader) env(n *node) []string {
	if n.kind != kindObject {
		l.errorf(n.pos, "\"env\" must be an object from variable names to values, found %s", n.found())
		return nil
	}
	ms := slices.Clone(n.members)
	sort.SliceStable(ms, func(i, k int) bool { return ms[i].key.text < ms[k].key.text })
	var out []string
	for _, m := range ms {
		name, v := m.key.text, m.val
		switch {
		case name == "":
			l.errorf(m.key.pos, "an environment variable needs a name; \"\" is none")
			continue
		case strings.ContainsAny(name, "=\x00"):
			l.errorf(m.key.pos, "invalid environment variable name %s: it contains %s", quote(name), map[bool]string{true: "'='", false: "a NUL character"}[strings.Contains(name, "=")])
			continue
		}
		switch v.kind {
		case kindString, kindNumber, kindBool:
		case kindNull:
			out = append(out, name) // unset, also in kopf's own environment
			continue
		default:
			l.errorf(v.pos, "the value of %s in \"env\" must be a string, number, boolean or null (unset), found %s", quote(name), v.found())
			continue
		}
		l.noNUL("env", v, v.text)
		out = append(out, name+"="+v.text)
	}
	return out
}

// address validates an email address; it returns "" after an error.
func (l *loader) address(key string, n *node) string {
	if n.kind != kindString {
		return ""
	}
	if _, err := mail.ParseAddress(n.text); err != nil && !localName(n.text) {
		l.errorf(n.pos, "invalid email address %s in %s: %s", quote(n.text), quote(key), strings.TrimPrefix(err.Error(), "mail: "))
		return ""
	}
	return n.text
}

func (l *loader) timezone(n *node) *time.Location {
	name := l.str("timezone", n)
	if n.kind != kindString {
		return time.UTC
	}
	if name == "" {
		l.errorf(n.pos, "\"timezone\" is empty; expected an IANA name like Europe/Berlin, UTC or Local")
		return time.UTC
	}
	loc, err := compile.LoadLocation(name)
	if err != nil {
		l.errorf(n.pos, "unknown time zone %s; expected an IANA name like Europe/Berlin, UTC or Local", quote(name))
		return time.UTC
	}
	return loc
}

func (l *loader) backoff(n *node) []time.Duration {
	if n.kind != kindArray {
		l.errorf(n.pos, "\"backoff\" must be an array of durations (seconds as numbers, or strings like \"5s\" or \"1m\"), found %s", n.found())
		return defaultBackoff
	}
	if len(n.elems) == 0 {
		l.errorf(n.pos, "\"backoff\" is empty; give at least one duration (the last one repeats)")
		return defaultBackoff
	}
	var out []time.Duration
	for _, e := range n.elems {
		out = append(out, l.duration("backoff", e))
	}
	return out
}

// schedules reads schedule, scheduling and cron in file order.
func (l *loader) schedules(j *Job, val *node) {
	given := false
	for _, m := range val.members {
		switch k := m.key.text; k {
		case "schedule", "scheduling":
			if given {
				l.errorf(m.key.pos, "\"schedule\" and \"scheduling\" are the same key; give one")
				continue
			}
			given = true
			for _, s := range l.stringList(k, m.val, "a schedule or an array of schedules") {
				l.schedule(j, k, s, nil, false)
			}
		case "cron":
			if m.val.kind != kindObject {
				for _, s := range l.stringList(k, m.val, "a crontab line, an array of them, or an object from crontab lines to extra arguments") {
					l.schedule(j, k, s, nil, true)
				}
				continue
			}
			for _, e := range m.val.members {
				args := l.args(e.val)
				l.schedule(j, k, e.key, args, true)
			}
		}
	}
}

// args reads the extra arguments of a cron or trigger map entry.
func (l *loader) args(n *node) []string {
	return texts(l.stringList("arguments", n, wantArgs))
}

// schedule compiles one schedule in the job's zone (or takes it from the
// cache), with its errors and warnings moved from the schedule text into
// the file.
func (l *loader) schedule(j *Job, key string, n *node, args []string, cronOnly bool) {
	c, cron, err := compileSchedule(n.text, j)
	if err != nil {
		l.scheduleErrors(n, err)
		return
	}
	if cronOnly && !cron {
		l.errorf(n.start(l.src), "%s is not a crontab line; write the every-language under \"schedule\"", quote(n.text))
		return
	}
	for _, w := range c.Warnings() {
		l.warnings = append(l.warnings, compile.Warning{Pos: n.at(l.src, w.Pos), Msg: w.Msg})
	}
	j.Schedules = append(j.Schedules, Schedule{Key: key, Source: n.text, Args: args, Compiled: c, Pos: n.start(l.src)})
}

func (l *loader) scheduleErrors(n *node, err error) {
	list, ok := err.(lang.ErrorList)
	if !ok {
		l.errorf(n.start(l.src), "%v", err)
		return
	}
	for _, e := range list {
		l.errs = append(l.errs, &lang.Error{Pos: n.at(l.src, e.Pos), Msg: e.Msg, Err: e.Err})
	}
}

// jobTriggers reads trigger: a job name, an array of them, or an object
// from job names to extra arguments. Whether each target is a job is
// checked once every source is loaded (checkRefs), since a job may trigger
// one defined in another file.
func (l *loader) jobTriggers(j *Job, n *node) {
	if n == nil {
		return
	}
	if n.kind == kindObject {
		for _, m := range n.members {
			j.Triggers = append(j.Triggers, Trigger{Job: m.key.text, Args: l.args(m.val), Pos: m.key.pos})
		}
		return
	}
	seen := map[string]*node{}
	for _, t := range l.stringList("trigger", n, "a job name, an array of them, or an object from job names to extra arguments") {
		if first, dup := seen[t.text]; dup {
			l.errorf(t.pos, "%s is triggered twice; the first is at %d:%d", quote(t.text), first.pos.Line, first.pos.Col)
			continue
		}
		seen[t.text] = t
		j.Triggers = append(j.Triggers, Trigger{Job: t.text, Pos: t.pos})
	}
}
