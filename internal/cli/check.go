package cli

import (
	"context"
	"fmt"
	"strings"
)

var checkCmd = &command{
	name:     "check",
	synopsis: "[--tz ZONE] [--after TIME] -e SCHEDULE [-e SCHEDULE ...]",
	summary:  "lint schedules",
	help: `Checks each SCHEDULE given with -e, in either dialect, and prints its errors
and warnings on stderr as "line:col: message". When more than one -e is
given, each message starts with "schedule N: ", N counting the -e flags
from 1:

  kopf check -e '*/7 * * * *' -e 'every 1d offset'
  schedule 1: 1:1: warning: */7 does not divide the hour: …
  schedule 2: 1:16: expected a duration like 50m or a clock time like …

For a schedule in a zone with daylight saving time, notes say which of its
wall times the DST changes of the year after TIME skip or repeat, and what
kopf does then:

  kopf check --tz America/New_York -e '30 2 * * *'
  note: on 2026-03-08 02:30:00 does not exist in America/New_York (clocks …

With KOPF_CARET=1, or when stderr is a terminal, each message is followed by
the source line and a caret under the column (KOPF_CARET=0 turns that off).

Flags:
  -e SCHEDULE  a schedule to check; repeat it for more
  --tz ZONE    zone for a schedule that names none: an IANA name, UTC or
               Local, the machine's zone (default UTC)
  --after TIME start of the year the DST notes cover, an RFC 3339 time
               like 2026-01-01T00:00:00Z (default now)

Checking config files (kopf check FILE...) is not supported yet.

Exit status: 0 when every schedule is valid (warnings allowed), 1 when any
has an error or never fires, 2 for a usage error.
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
	tz := fs.String("tz", "UTC", "")
	afterText := fs.String("after", "", "")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(files) > 0:
		return usagef("config files are not supported yet (got %q); check schedules with -e SCHEDULE", files[0])
	case len(srcs) == 0:
		return usagef("missing -e SCHEDULE")
	}
	loc, err := zoneFlag(*tz)
	if err != nil {
		return err
	}
	after, err := afterFlag(e, *afterText)
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
	if failed {
		return errFailed
	}
	return nil
}
