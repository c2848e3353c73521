package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/sources"
)

var checkCmd = &command{
	name:     "check",
	synopsis: "[--tz ZONE] [--after TIME] [--dst-gap P] [--dst-overlap P] [--name NAME] [-e SCHEDULE ...] [--services DIR]... [--scripts DIR]... [--crontab FILE]... [--cron-dir DIR]... [FILE ...]",
	summary:  "lint schedules and config files",
	run:      runCheck,
}

// schedules is a repeatable string flag.
type schedules []string

func (s *schedules) String() string     { return strings.Join(*s, "; ") }
func (s *schedules) Type() string       { return "SCHEDULE" }
func (s *schedules) Set(v string) error { *s = append(*s, v); return nil }

func runCheck(e *env, fs *pflag.FlagSet) func(ctx context.Context, files []string) error {
	var srcs schedules
	fs.VarP(&srcs, "e", "e", "")
	times := addTimeFlags(fs)
	dst := addDSTFlags(fs)
	name := fs.String("name", "", "")
	asJSON := fs.Bool("json", false, "")
	dirs := sourceFlags(fs)
	return func(ctx context.Context, files []string) (err error) {
		if *asJSON {
			report := checkReport{Messages: []checkMessage{}}
			e.messages, e.caret = &report.Messages, false
			defer func() {
				report.OK = !errors.Is(err, errFailed) && err == nil
				b, _ := json.MarshalIndent(report, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
			}()
		}
		daemon := dirs.given()
		switch {
		case len(files) == 0 && len(srcs) == 0 && !daemon:
			return usagef("missing -e SCHEDULE, FILE, a directory or a crontab")
		case daemon && len(files) > 1:
			return usagef("with --services, --scripts, --crontab or --cron-dir, give at most one FILE: together they are one daemon's sources")
		}
		loc, after, err := times.resolve(e)
		if err != nil {
			return err
		}
		policy, err := dst.resolve()
		if err != nil {
			return err
		}
		failed := false
		for i, src := range srcs {
			prefix := ""
			if len(srcs) > 1 || *asJSON {
				prefix = fmt.Sprintf("schedule %d: ", i+1)
			}
			s := e.lint(prefix, src, loc, *name)
			if s == nil {
				failed = true
				continue
			}
			if note := hashNote(s, *name); note != "" {
				e.message(prefix, src, lang.Pos{}, note)
			}
			for _, note := range s.WithDST(policy).DSTNotes(after) {
				e.message(prefix, src, lang.Pos{}, "note: "+note)
			}
		}
		if daemon {
			file := ""
			if len(files) == 1 {
				file = files[0]
			}
			failed = !e.checkSources(dirs.spec(file), after) || failed
		} else {
			for _, file := range files {
				if !e.checkFile(file, after) {
					failed = true
				}
			}
		}
		if failed {
			return errFailed
		}
		return nil
	}
}

// checkFile loads a config file and reports it; it reports whether the
// file is valid.
func (e *env) checkFile(path string, after time.Time) bool {
	cfg, warnings, err := config.Load(path)
	e.report(path, cfg, warnings, err, after)
	return err == nil
}

// report prints what loading a file found — its errors, warnings and DST
// notes in file order, each as "file:line:col: message" and, when e.caret
// is set, followed by the source line and a caret.
func (e *env) report(path string, cfg *config.Config, warnings []compile.Warning, err error, after time.Time) {
	type message struct {
		pos  lang.Pos
		text string
	}
	var msgs []message
	var list lang.ErrorList
	switch {
	case errors.As(err, &list):
		for _, le := range list {
			pos := le.Pos
			if pos.Filename == "" {
				pos.Filename = path // an error about the whole file
			}
			msgs = append(msgs, message{pos, le.Error()})
		}
	case err != nil:
		msgs = append(msgs, message{pos: lang.Pos{Filename: path}, text: err.Error()})
	}
	for _, w := range warnings {
		msgs = append(msgs, message{w.Pos, w.String()})
	}
	if cfg != nil {
		for _, j := range cfg.Jobs {
			for _, s := range j.Schedules {
				if note := hashNote(s.Compiled, j.Name); note != "" {
					msgs = append(msgs, message{s.Pos, s.Pos.String() + ": " + note})
				}
				for _, note := range s.Compiled.DSTNotes(after) {
					msgs = append(msgs, message{s.Pos, s.Pos.String() + ": note: " + note})
				}
			}
		}
	}
	// Errors came first, so at one position they stay first.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].pos.Offset < msgs[j].pos.Offset })
	for _, m := range msgs {
		e.message("", e.caretSource(m.pos.Filename), m.pos, m.text)
	}
}

// caretSource returns the text of file when carets are printed.
func (e *env) caretSource(file string) string {
	if !e.caret || file == "" {
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return string(b)
}

// checkSources checks a daemon's sources together, as kopf run would load
// them: each file on its own, then what spans them (a name defined twice,
// a trigger to a job of another source). It reports whether all is valid.
func (e *env) checkSources(spec sources.Spec, after time.Time) bool {
	c := &sourceCheck{e: e, after: after, ok: true}
	if spec.File != "" {
		c.parse(spec.File, config.ParsePart)
	}
	for _, d := range spec.Services {
		c.dir(d, sources.ServiceFiles, func(path string) {
			if !spec.IsConfigFile(path) {
				c.parse(path, config.ParseService)
			}
		})
	}
	for _, d := range spec.Scripts {
		c.dir(d, sources.ScriptFiles, func(path string) { c.parts = append(c.parts, config.Script(path, "")) })
	}
	for _, path := range spec.Crontabs {
		c.crontab(path, config.UserCrontab)
	}
	for _, d := range spec.CronDirs {
		if info, err := os.Stat(d); err == nil && info.Mode().IsRegular() {
			c.crontab(d, config.SystemCrontab)
			continue
		}
		c.dir(d, sources.CrontabFiles, func(path string) { c.crontab(path, config.SystemCrontab) })
	}
	_, err := config.Merge(c.parts...)
	var list lang.ErrorList
	errors.As(err, &list)
	for _, le := range list {
		e.message("", e.caretSource(le.Pos.Filename), le.Pos, le.Error())
		c.ok = false
	}
	return c.ok
}

// sourceCheck is kopf check of a daemon's sources: each file's messages
// as it is read, and the parts that a merge then checks together.
type sourceCheck struct {
	e     *env
	after time.Time
	ok    bool
	parts []*config.Config
}

// add reports a file, and keeps its config for the merge.
func (c *sourceCheck) add(path string, cfg *config.Config, warnings []compile.Warning, err error) {
	c.e.report(path, cfg, warnings, err, c.after)
	if err != nil {
		c.ok = false
		return
	}
	c.parts = append(c.parts, cfg)
}

// parse reads and parses a file.
func (c *sourceCheck) parse(path string, parser func(string, []byte) (*config.Config, []compile.Warning, error)) {
	src, err := os.ReadFile(path)
	if err != nil {
		c.add(path, nil, nil, fmt.Errorf("%s: %w", path, errors.Unwrap(err)))
		return
	}
	cfg, warnings, err := parser(path, src)
	c.add(path, cfg, warnings, err)
}

// dir checks each file list finds in d; a directory that is not there is
// a warning, as kopf run waits for it.
func (c *sourceCheck) dir(d string, list func(string) ([]string, error), each func(string)) {
	paths, err := list(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.e.message("", "", lang.Pos{Filename: d}, d+": warning: no such directory; kopf run starts its files when it appears")
	case err != nil:
		c.e.message("", "", lang.Pos{Filename: d}, fmt.Sprintf("%s: %v", d, errors.Unwrap(err)))
		c.ok = false
	}
	for _, p := range paths {
		each(p)
	}
}

// crontab checks a crontab: its bad lines are errors, and its good lines
// still count for what spans the sources, as kopf run would run them.
func (c *sourceCheck) crontab(path string, kind config.Crontab) {
	if err := sources.CheckCrontabFile(path, kind); err != nil {
		c.add(path, nil, nil, err)
		return
	}
	src, err := os.ReadFile(path)
	if err != nil {
		c.add(path, nil, nil, err)
		return
	}
	cfg, warnings, err := config.ParseCrontab(path, src, kind)
	c.e.report(path, cfg, warnings, err, c.after)
	c.ok = c.ok && err == nil
	if cfg != nil {
		c.parts = append(c.parts, cfg)
	}
}
