package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/job"
)

// Config is the jobs and procs of one config file, of one file of a
// services directory, of a scripts directory's scripts, or of all of a
// daemon's sources merged.
type Config struct {
	File  string  // the file it was loaded from; "" for a merged config
	Jobs  []*Job  // sorted by name
	Procs []*Proc // sorted by name
	// Mail is the top-level `mail` section: how mail is delivered. nil
	// when the file has none (delivery then uses DefaultMail).
	Mail *Mail
	// JitterSeed is the top-level `jitter-seed`: with a job's name, the
	// key of its stable jitter offset; "" by default.
	JitterSeed string
	// Cluster is the top-level `cluster` section; nil without.
	Cluster *Cluster

	// protoUses names the protos each unit takes itself, for the units
	// that take any: Reparse marks them used for a unit it takes as it
	// was, whose settings it does not read again.
	protoUses map[string][]string
}

// def is an entry's name and where it is defined.
type def struct {
	name string
	job  bool
	pos  lang.Pos
}

// Unit is what jobs and procs share.
type Unit struct {
	Name    string
	Pos     lang.Pos // of the entry's name in its file; a script's has only the file name
	Command []string // argv; a string command becomes the shell's argv and s (["/bin/sh", "-c", s] by default); nil for a job without command
	Dir     string   // as written; "" = kopf's working directory
	Env     []string // "KEY=value", sorted by key, added to kopf's own environment; "KEY" alone unsets KEY
	// Extra holds the settings few units have — `stdin`, `user` and
	// `group`, `alert` — behind one pointer (a daemon may hold 100k
	// units); nil when none is set. Read them with Stdin, As and Alert.
	Extra    *Extra
	Title    string        // the name in logs: `title`, or Name when unset
	Idle     time.Duration // jobs: default 0; procs: default 10s
	StopTime time.Duration // `stop-time`, default 10s
	MailTo   []string      // validated with net/mail
	MailFrom string        // validated with net/mail
	// MailPartialAfter is `mail-partial-after`: a run still going after
	// this long mails its output so far, then again after each further
	// interval, each mail holding only what is new; 0 mails at the end.
	MailPartialAfter time.Duration
	Location         *time.Location // `timezone` (default UTC), the zone of the unit's schedules
	// Digest is a hash of a script's content, for a proc from a scripts
	// directory: a changed script restarts its proc. "" otherwise.
	Digest string
	// Ports are the names of `ports`, in file order: each gets a free port
	// at every start, substituted for {{ports[NAME]}} in the command, its
	// arguments, env values and a proc's health check, and exported as
	// KOPF_PORT_NAME (upper case, '-' as '_'). Every {{ports[NAME]}} in
	// those names one of them; other {{…}} text is left as it is.
	Ports []string

	// The flags are together, in one word rather than one each: a daemon
	// may hold a Unit for each of 100k jobs.
	Shell     bool // command was written as a string
	LogStart  bool // default true
	LogOutput bool // default false
	// LogRaw is `log-output: "raw"`: each output line is passed through
	// as it is, not as "TITLE: line" (LogOutput is set too).
	LogRaw bool
	// KeepLeftovers is `leftovers: "keep"`: what a run leaves when its
	// process ends runs on, instead of being stopped.
	KeepLeftovers bool
	// CleanEnv is `inherit-env: false` (a crontab line's default): the
	// command does not get kopf's environment, only Env over cron's few
	// variables (runtime/supervise). A unit that runs as another user
	// never gets kopf's environment, whatever this says.
	CleanEnv bool

	entry entryDigest // what it was decoded from (SameEntry); zero when not known
}

// Extra holds the settings few units have.
type Extra struct {
	// Stdin is `stdin`: the text the run reads on its standard input
	// ("" gives it /dev/null).
	Stdin string
	// As is `user` and `group`: whom the run runs as; nil runs it as
	// kopf.
	As *Identity
	// Alert is `alert`: whom to tell of failures and missed fires; nil
	// for none.
	Alert *Alert
	// Placement is `placement`, `prefer` and `on-lease-loss`, for a
	// cluster; nil for the defaults.
	Placement *Placement
	// LogMax is `log-output-max` when it is not the default: the bytes
	// of a run's output its log may take, -1 for no bound; read it with
	// LogOutputMax.
	LogMax int64
	// MaxTriggerArgs is a job's `max-trigger-args` when it is not the
	// default, -1 for no bound; read it with Job.MaxTriggerArgs.
	MaxTriggerArgs int32
}

// Placement is where a unit runs in a cluster (runtime/cluster).
type Placement struct {
	// Each is `placement: "each"`: every member runs the unit; otherwise
	// one member owns it.
	Each bool
	// Prefer are the members to own it first, in order.
	Prefer []string
	// KillOnLoss is a job's `on-lease-loss: "kill"`: a run its member
	// stops owning is stopped; a proc's always is.
	KillOnLoss bool
}

var defaultPlacement = &Placement{}

func (e *Extra) placement() *Placement {
	if e.Placement == nil {
		e.Placement = &Placement{}
	}
	return e.Placement
}

// Placement is the unit's placement in a cluster; never nil.
func (u *Unit) Placement() *Placement {
	if u.Extra == nil || u.Extra.Placement == nil {
		return defaultPlacement
	}
	return u.Extra.Placement
}

// extra returns u's Extra, made when u has none.
func (u *Unit) extra() *Extra {
	if u.Extra == nil {
		u.Extra = &Extra{}
	}
	return u.Extra
}

// Stdin is the unit's `stdin`, "" for none.
func (u *Unit) Stdin() string {
	if u.Extra == nil {
		return ""
	}
	return u.Extra.Stdin
}

// As is whom the unit runs as (`user`, `group`); nil for kopf's own user.
func (u *Unit) As() *Identity {
	if u.Extra == nil {
		return nil
	}
	return u.Extra.As
}

// DefaultLogOutputMax is `log-output-max` by default: 4 MiB a run.
const DefaultLogOutputMax = 4 << 20

// LogOutputMax is `log-output-max`: how much of a run's output kopf's
// log takes at most, counted as the log records it writes (each line's
// bytes and its record's own); 0 for no bound.
func (u *Unit) LogOutputMax() int64 {
	switch {
	case u.Extra == nil || u.Extra.LogMax == 0:
		return DefaultLogOutputMax
	case u.Extra.LogMax < 0:
		return 0
	}
	return u.Extra.LogMax
}

// Alert is the unit's `alert`; nil for none.
func (u *Unit) Alert() *Alert {
	if u.Extra == nil {
		return nil
	}
	return u.Extra.Alert
}

// Identity is the user and group a unit runs as, as written: names or
// numbers. Group "" is the user's own group.
type Identity struct {
	User, Group string
}

// DefaultMaxTriggerArgs is `max-trigger-args` by default.
const DefaultMaxTriggerArgs = 1000

// MaxTriggerArgs is `max-trigger-args`: the most extra arguments one run
// collects from triggers, the rest dropped; 0 for no bound.
func (j *Job) MaxTriggerArgs() int {
	switch {
	case j.Extra == nil || j.Extra.MaxTriggerArgs == 0:
		return DefaultMaxTriggerArgs
	case j.Extra.MaxTriggerArgs < 0:
		return 0
	}
	return int(j.Extra.MaxTriggerArgs)
}

// JitterOffset is the stable offset by which the job's schedule fires
// start later: a hash of the config's jitter-seed and the job's name, in
// [0, Jitter).
func (j *Job) JitterOffset(seed string) time.Duration {
	return compile.JitterOffset(seed+"/"+j.Name, j.Jitter)
}

// CatchUp is what a job does at start with the schedule fires missed while
// kopf was down.
type CatchUp uint8

const (
	CatchUpNone CatchUp = iota // none runs
	CatchUpLast                // one run, for the latest
	CatchUpAll                 // each runs, oldest first, one after another
)

var catchUpNames = [...]string{CatchUpNone: "none", CatchUpLast: "last", CatchUpAll: "all"}

// String is the value as written: "none", "last" or "all".
func (c CatchUp) String() string { return catchUpNames[c] }

// Job is something expected to end, started by schedules, a period or
// pause, or triggers.
type Job struct {
	Unit
	Period, Pause, Random, Timeout time.Duration
	// The small settings come together, in one word rather than one
	// each (a daemon may hold a Job for each of 100k jobs).
	//
	// RunOnStart is `run-on-start`; it defaults to true when Period or
	// Pause is set (there is no previous start to keep a distance from),
	// false otherwise.
	RunOnStart bool
	// OncePerBoot is `run-on-start: "once-per-boot"` (a crontab's
	// @reboot): the start's run happens only when no run of the job has
	// started since the machine booted, by the boot id in the journal.
	OncePerBoot bool
	// CatchUp is `catch-up`: what runs at start of the schedule fires
	// missed while kopf was down; CatchUpWithin bounds how old a missed
	// fire may be and still run (0: no bound).
	CatchUp CatchUp
	// Overlap is `overlap`: what a schedule fire that comes while the job
	// runs does: queue (the default), skip or replace.
	Overlap job.Overlap
	// DST is `dst`, the policy of the job's schedules at DST changes;
	// its zero value is cronie's rule. The Compiled schedules have it.
	DST           compile.DST
	CatchUpWithin time.Duration
	// Jitter is `jitter`: every schedule fire starts later by a stable
	// offset in [0, Jitter), the same for the job at every fire
	// (JitterOffset).
	Jitter    time.Duration
	Schedules []Schedule // from `schedule` / `scheduling` and `cron`, in file order
	Triggers  []Trigger  // from `trigger`, in file order
	// MaxFailures is `max-failures`: a failed run (non-zero exit or
	// timeout) is retried up to this many times, waiting Backoff's steps;
	// 0 never retries.
	MaxFailures int
	// Backoff is `backoff`, the wait before each retry of a failed run,
	// counting failures in a row; the last one repeats. It defaults to a
	// proc's default, also when MaxFailures is 0 and it is never used.
	Backoff []time.Duration
}

// Schedule is one schedule of a job.
type Schedule struct {
	Key      string   // "schedule", "scheduling" or "cron": the key it came from
	Source   string   // the text as written
	Args     []string // extra arguments (the cron map form), nil otherwise
	Compiled *compile.Schedule
	Pos      lang.Pos // of the schedule text in the file
}

// Trigger is a job to trigger when a job ends, with the arguments to add
// to that job's next run.
type Trigger struct {
	Job  string
	Args []string
	Pos  lang.Pos // of the target's name in the file
}

// Proc is something expected to run all the time, restarted when it ends.
type Proc struct {
	Unit
	// Backoff is the wait before each restart after the proc ended,
	// counting restarts in a row; the last one repeats.
	Backoff []time.Duration
	// Health is `health`: how kopf checks that the running proc is
	// healthy; nil without checks.
	Health *Health
	// RestartOnChange and HUPOnChange are `restart-on-change` and
	// `hup-on-change`: files whose content changing restarts the proc, or
	// sends it SIGHUP. Relative paths are relative to Dir (resolved
	// against kopf's working directory when Dir is relative too), as
	// written.
	RestartOnChange []string
	HUPOnChange     []string
}

// Health is a proc's health check, aurora-services.md's HealthCheckConfig.
type Health struct {
	// HTTP is the URL to GET, on this machine (127.0.0.1, localhost or
	// [::1]), as written, or made from a path as
	// http://127.0.0.1:{{ports[health]}}/PATH (the port named "http" when
	// there is no "health"), or http://127.0.0.1:{{ports[health]}}/health
	// when neither `http` nor `command` is given. {{ports[NAME]}} is
	// substituted at each start. Empty when Command is set. Healthy is a
	// 2xx status, with the body ExpectBody when it is not "".
	HTTP string
	// ExpectBody is `expect-body`: the body an HTTP check wants, white
	// space around it ignored; "" takes any. The check a "health" port
	// implies wants "ok", as Aurora's.
	ExpectBody string
	// Command is run in the proc's dir and env (with its ports); exit 0
	// within Timeout is healthy. A string is ["/bin/sh", "-c", s].
	Command []string
	// Defaults are Aurora's: 10s, 1s, 15s, 0, 1.
	Interval, Timeout, InitialInterval              time.Duration
	MaxConsecutiveFailures, MinConsecutiveSuccesses int
	Pos                                             lang.Pos // of the `health` value
}

// Defaults, from kopf.md, service-manager.md and cronmon.
var (
	defaultProcIdle = 10 * time.Second
	defaultStopTime = 10 * time.Second
	// defaultBackoff is shared by every unit that does not set its own:
	// a loaded config is read, never written.
	defaultBackoff = []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute}
)

// Load reads a config file: JSON (with comments and trailing commas) or
// YAML, by its extension .json, .yaml or .yml. Errors are a lang.ErrorList
// with every problem found, each at its file:line:col; a file that cannot
// be read is a one-entry list that wraps the os error. Warnings come with
// positions too, also when there are errors.
func Load(path string) (*Config, []compile.Warning, error) {
	if err := checkExt(path); err != nil {
		return nil, nil, err
	}
	src, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, src)
}

// MaxFileSize is the largest config or service file kopf reads: 32 MiB,
// room for some 300,000 jobs, and a bound on what a file written by
// mistake (a log, a core dump) costs a running daemon before it is
// refused.
const MaxFileSize = 32 << 20

// ReadFile reads a config or service file, refusing one larger than
// MaxFileSize before reading it in; errors are as Load's.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close()
	// Room for the whole file at once, as os.ReadFile makes: growing a
	// buffer to 6 MB by doubling copies and clears 12.
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 && fi.Size() <= MaxFileSize {
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil, readError(path, err)
	}
	src := buf.Bytes()
	if err := checkSize(path, len(src)); err != nil {
		return nil, err
	}
	return src, nil
}

// checkSize refuses a file of more than MaxFileSize bytes.
func checkSize(path string, n int) error {
	if n <= MaxFileSize {
		return nil
	}
	return lang.ErrorList{lang.Errorf(lang.Pos{Filename: path, Line: 1, Col: 1},
		"the file is larger than %d MiB, the most kopf reads of a config file; nothing of it was used", MaxFileSize>>20)}
}

// readError turns an error from reading a config file into the error Load
// returns: "FILE: no such file", or "FILE: " and what went wrong.
func readError(path string, err error) error {
	msg := "no such file"
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.As(err, &pe):
		msg = pe.Err.Error()
	default:
		msg = err.Error()
	}
	return lang.ErrorList{&lang.Error{Msg: path + ": " + msg, Err: err}}
}

func checkExt(filename string) error {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".json", ".yaml", ".yml":
		return nil
	}
	return lang.ErrorList{&lang.Error{Msg: fmt.Sprintf("%s: unknown config file type; expected a name ending in .json, .yaml or .yml", filename)}}
}

// Parse is Load for a file already read; filename decides the format and
// names the file in positions.
func Parse(filename string, src []byte) (*Config, []compile.Warning, error) {
	return parseFile(filename, src, true)
}

// ParsePart is Parse for a config file that is one of several sources of a
// daemon: a trigger's target may be in another source, so triggers are
// checked by Merge, not here.
func ParsePart(filename string, src []byte) (*Config, []compile.Warning, error) {
	return parseFile(filename, src, false)
}

// Reparse is ParsePart for a new version of a file whose previous version,
// as ParsePart or Reparse returned it, is prev: each job or proc written
// exactly as in prev is prev's (with its positions moved to where it now
// is), not decoded and compiled again, and its warnings are not said
// again. prev may be nil.
func Reparse(filename string, src []byte, prev *Config) (*Config, []compile.Warning, error) {
	if prev != nil && prev.File != filename {
		prev = nil
	}
	return parseWith(filename, src, false, newReuse(prev))
}

func parseFile(filename string, src []byte, whole bool) (*Config, []compile.Warning, error) {
	return parseWith(filename, src, whole, nil)
}

func parseWith(filename string, src []byte, whole bool, r *reuse) (*Config, []compile.Warning, error) {
	if err := checkExt(filename); err != nil {
		return nil, nil, err
	}
	if err := checkSize(filename, len(src)); err != nil {
		return nil, nil, err
	}
	s := newSource(filename, src)
	var root *node
	var errs lang.ErrorList
	if ext := strings.ToLower(filepath.Ext(filename)); ext == ".json" {
		root, errs = parseJSON(s, r)
	} else {
		root, errs = parseYAML(s)
	}
	l := &loader{src: s, errs: errs, reuse: r}
	var cfg *Config
	if root != nil {
		cfg = l.config(root)
		if whole {
			l.errs = append(l.errs, checkRefs(cfg, l.defs)...)
		}
	}
	return l.result(cfg)
}

// result returns what the loader made of its file: cfg, or nil and the
// errors sorted by position; the warnings in either case.
func (l *loader) result(cfg *Config) (*Config, []compile.Warning, error) {
	warnings := l.sortedWarnings()
	if err := l.sortedErrors().Err(); err != nil {
		return nil, warnings, err
	}
	cfg.File = l.src.file
	return cfg, warnings, nil
}

// Merge combines the parts of a daemon's config — its config file, the
// files of its services directories, its scripts — into one, and checks
// what spans them: each name is defined once, each trigger's target is a
// job, and no jobs trigger each other in a ring. A name defined twice is
// reported at the later part, naming the earlier place. The parts are not
// modified.
func Merge(parts ...*Config) (*Config, error) {
	out := &Config{}
	var errs lang.ErrorList
	type first struct {
		part int
		pos  lang.Pos
	}
	seen := map[string]first{}
	defined := func(i int, u *Unit) {
		f, dup := seen[u.Name]
		switch {
		case !dup:
			seen[u.Name] = first{i, u.Pos}
		case f.part != i: // inside one part, its loader has said so
			errs.Add(u.Pos, "%s is also defined at %s; a name must be unique across the config file and directories", quote(u.Name), f.pos)
		}
	}
	for i, p := range parts {
		if out.Mail == nil {
			out.Mail = p.Mail // only a config file has one
		}
		if out.JitterSeed == "" {
			out.JitterSeed = p.JitterSeed // the same
		}
		if out.Cluster == nil {
			out.Cluster = p.Cluster // the same
		}
		if len(parts) == 1 {
			// Its loader has checked its names, and sorted its units:
			// share its lists rather than hold a copy of 100k pointers.
			out.File, out.Jobs, out.Procs = p.File, p.Jobs, p.Procs
			continue
		}
		out.Jobs = append(out.Jobs, p.Jobs...)
		out.Procs = append(out.Procs, p.Procs...)
		for _, j := range p.Jobs {
			defined(i, &j.Unit)
		}
		for _, pr := range p.Procs {
			defined(i, &pr.Unit)
		}
	}
	if len(parts) > 1 {
		sortByName(out.Jobs)
		sortByName(out.Procs)
	}
	defs := make([]def, 0, len(out.Jobs)+len(out.Procs))
	for _, j := range out.Jobs {
		defs = append(defs, def{name: j.Name, job: true, pos: j.Pos})
	}
	for _, p := range out.Procs {
		defs = append(defs, def{name: p.Name, pos: p.Pos})
	}
	errs = append(errs, checkRefs(out, defs)...)
	errs.Sort()
	return out, errs.Err()
}

// loader turns the config tree into a Config, collecting every problem.
type loader struct {
	src      *source
	errs     lang.ErrorList
	warnings []compile.Warning
	// inherited names the keys the unit being read has from its protos
	// and does not set itself; nil when it has none.
	inherited map[string]bool
	// defs names every entry, in file order, also those too broken to
	// load, so that a trigger to a broken job is not a second error. A
	// Config that loaded has a unit for each, and Merge reads those.
	defs []def
	// reuse is the file's previous version, for Reparse; nil otherwise.
	reuse *reuse
}

// own reports whether the unit being read sets key itself, or does not
// have it at all. A setting that "has no effect" draws a warning only
// then: a proto may be shared by units that it fits only in part.
func (l *loader) own(key string) bool {
	return !l.inherited[key]
}

func (l *loader) errorf(pos lang.Pos, format string, args ...any) {
	l.errs.Add(pos, format, args...)
}

func (l *loader) warnf(pos lang.Pos, format string, args ...any) {
	l.warnings = append(l.warnings, compile.Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// sortedErrors sorts the errors by position and drops repeats, which a
// YAML alias used twice can cause.
func (l *loader) sortedErrors() lang.ErrorList {
	l.errs.Sort()
	var out lang.ErrorList
	seen := map[lang.Error]bool{}
	for _, e := range l.errs {
		if !seen[*e] {
			seen[*e] = true
			out = append(out, e)
		}
	}
	return out
}

func (l *loader) sortedWarnings() []compile.Warning {
	sort.SliceStable(l.warnings, func(i, j int) bool { return l.warnings[i].Pos.Offset < l.warnings[j].Pos.Offset })
	var out []compile.Warning
	seen := map[compile.Warning]bool{}
	for _, w := range l.warnings {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Mail is how kopf delivers mail: by SMTP, or with a sendmail command.
type Mail struct {
	SMTP     string // "host:port"; default localhost:25
	StartTLS bool   // require STARTTLS; without it, used when offered
	Username string // AUTH PLAIN when set
	Password string // `password`, or read from `password-file` at load
	// PasswordFile is `password-file` as written; the password is read
	// from it when the config is loaded.
	PasswordFile string
	Sendmail     []string // instead of SMTP: this command gets the message on stdin
	Pos          lang.Pos // of the `mail` value
}

// DefaultMail is delivery without a mail section and without a sendmail
// on the machine (LocalMail): SMTP to localhost:25.
var DefaultMail = Mail{SMTP: "localhost:25"}

// SendmailPath is where cron finds the local mailer; tests point it
// elsewhere.
var SendmailPath = "/usr/sbin/sendmail"

// LocalMail is delivery without a mail section: through the machine's
// sendmail, as cron delivers, when there is one (ok); otherwise
// DefaultMail, and ok is false.
func LocalMail() (m Mail, ok bool) {
	if info, err := os.Stat(SendmailPath); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
		return Mail{Sendmail: []string{SendmailPath}}, true
	}
	return DefaultMail, false
}
