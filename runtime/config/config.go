package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// Config is one config file: its jobs and procs.
type Config struct {
	File  string
	Jobs  []*Job  // sorted by name
	Procs []*Proc // sorted by name
}

// Unit is what jobs and procs share.
type Unit struct {
	Name      string
	Pos       lang.Pos       // of the entry's name in the file
	Command   []string       // argv; a string command becomes ["/bin/sh", "-c", s]; nil for a job without command
	Shell     bool           // command was written as a string
	Dir       string         // as written; "" = kopf's working directory
	Env       []string       // "KEY=value", sorted by key, added to kopf's own environment
	Title     string         // the name in logs: `title`, or Name when unset
	LogStart  bool           // default true
	LogOutput bool           // default false
	Idle      time.Duration  // jobs: default 0; procs: default 10s
	StopTime  time.Duration  // `stop-time`, default 10s
	MailTo    []string       // validated with net/mail; delivery comes later
	MailFrom  string         // validated with net/mail
	Location  *time.Location // `timezone` (default UTC), the zone of the unit's schedules
}

// Job is something expected to end, started by schedules, a period or
// pause, or triggers.
type Job struct {
	Unit
	Period, Pause, Random, Timeout time.Duration
	// RunOnStart is `run-on-start`; it defaults to true when Period or
	// Pause is set (there is no previous start to keep a distance from),
	// false otherwise.
	RunOnStart bool
	Schedules  []Schedule // from `schedule` / `scheduling` and `cron`, in file order
	Triggers   []Trigger  // from `trigger`, in file order
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
}

// Defaults, from kopf.md, service-manager.md and cronmon.
var (
	defaultProcIdle = 10 * time.Second
	defaultStopTime = 10 * time.Second
	defaultBackoff  = []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute}
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
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, readError(path, err)
	}
	return Parse(path, src)
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
	if err := checkExt(filename); err != nil {
		return nil, nil, err
	}
	s := newSource(filename, src)
	var root *node
	var errs lang.ErrorList
	if ext := strings.ToLower(filepath.Ext(filename)); ext == ".json" {
		root, errs = parseJSON(s)
	} else {
		root, errs = parseYAML(s)
	}
	l := &loader{src: s, errs: errs}
	var cfg *Config
	if root != nil {
		cfg = l.config(root)
	}
	warnings := l.sortedWarnings()
	if err := l.sortedErrors().Err(); err != nil {
		return nil, warnings, err
	}
	cfg.File = filename
	return cfg, warnings, nil
}

// loader turns the config tree into a Config, collecting every problem.
type loader struct {
	src      *source
	errs     lang.ErrorList
	warnings []compile.Warning
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
