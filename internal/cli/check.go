package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
)

var checkCmd = &command{
	name:     "check",
	synopsis: "[--tz ZONE] [--after TIME] [-e SCHEDULE ...] [FILE ...]",
	summary:  "lint schedules and config files",
	help: `Checks each SCHEDULE given with -e, in either dialect, and each config FILE
(JSON or YAML, see docs/config.md), and prints their errors and warnings on
stderr. A schedule's messages read "line:col: message"; when more than one
-e is given, each starts with "schedule N: ", N counting the -e flags from 1:
  kopf check -e '*/7 * * * *' -e 'every 1d offset'
  schedule 1: 1:1: warning: */7 does not divide the hour: …
  schedule 2: 1:16: expected a duration like 50m or a clock time like …
A config file's messages read "file:line:col: message", every problem in the
file in order, schedules' own errors and warnings placed inside the schedule
text:
  kopf check kopf.json
  kopf.json:12:22: unknown key "stop_time" in job "backup" (did you mean …
  kopf.json:14:26: warning: */7 does not divide the hour: …
For a schedule in a zone with daylight saving time, notes say which of its
wall times the DST changes of the year after TIME skip or repeat, and what
kopf does then:
  kopf check --tz America/New_York -e '30 2 * * *'
  note: on 2026-03-08 02:30:00 does not exist in America/New_York (clocks …
With KOPF_CARET=1, or when stderr is a terminal, each message is followed by
the source line and a caret under the column (KOPF_CARET=0 turns that off).
Flags:
  -e SCHEDULE  a schedule to check; repeat it for more
  --tz ZONE    zone for a -e schedule that names none: an IANA name, UTC or
               Local, the machine's zone (default UTC); a config file's
               schedules use their job's timezone
  --after TIME start of the year the DST notes cover, an RFC 3339 time
               like 2026-01-01T00:00:00Z (default now)
Exit status: 0 when every schedule and file is valid (warnings allowed), 1
when any has an error, a schedule never fires or a file cannot be read, 2
for a usage error.
`,
	run: runCheck,
}

// schedules is a repeatable string flag.
type schedules []string

func (s *schedules) String() string     { return strings.Join(*s, "; ") }
func (s *schedules) Set(v string) error { *s = append(*s, v); return nil }

func runCheck(_ context.Context, e *env, args []string) error {
	fs := newFlagSet("check")
	var srcs schedules
	fs.Var(&srcs, "e", "")
	times := addTimeFlags(fs)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 && len(srcs) == 0 {
		return usagef("missing -e SCHEDULE or FILE")
	}
	loc, after, err := times.resolve(e)
	if err != nil {
		return err
	}
	failed := false
	for i, src := range srcs {
		prefix := ""
		if len(srcs) > 1 {
			prefix = fmt.Sprintf("schedule %d: ", i+1)
		}
		s := e.lint(prefix, src, loc)
		if s == nil {
			failed = true
			continue
		}
		for _, note := range s.DSTNotes(after) {
			fmt.Fprintf(e.stderr, "%snote: %s\n", prefix, note)
		}
	}
	for _, file := range files {
		if !e.checkFile(file, after) {
			failed = true
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// checkFile loads a config file and prints its errors, warnings and DST
// notes in file order, each as "file:line:col: message" and, when e.caret
// is set, followed by the source line and a caret. It reports whether the
// file is valid.
func (e *env) checkFile(path string, after time.Time) bool {
	cfg, warnings, err := config.Load(path)
	type message struct {
		pos  lang.Pos
		text string
	}
	var msgs []message
	var list lang.ErrorList
	switch {
	case errors.As(err, &list):
		for _, le := range list {
			msgs = append(msgs, message{le.Pos, le.Error()})
		}
	case err != nil:
		msgs = append(msgs, message{text: err.Error()})
	}
	for _, w := range warnings {
		msgs = append(msgs, message{w.Pos, w.String()})
	}
	if cfg != nil {
		for _, j := range cfg.Jobs {
			for _, s := range j.Schedules {
				for _, note := range s.Compiled.DSTNotes(after) {
					msgs = append(msgs, message{s.Pos, s.Pos.String() + ": note: " + note})
				}
			}
		}
	}
	// Errors came first, so at one position they stay first.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].pos.Offset < msgs[j].pos.Offset })
	var src string
	if e.caret && len(msgs) > 0 {
		if b, err := os.ReadFile(path); err == nil {
			src = string(b)
		}
	}
	for _, m := range msgs {
		e.message("", src, m.pos, m.text)
	}
	return err == nil
}
