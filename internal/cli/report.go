package cli

import (
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// lint compiles src in loc and prints its warnings, or its errors, on
// stderr, each as "prefix line:col: message" and, when e.caret is set,
// followed by the source line and a caret under the column. It returns nil
// when src is not a valid schedule (one that never fires included).
func (e *env) lint(prefix, src string, loc *time.Location, name string) *compile.Schedule {
	s, err := compile.ParseWith(src, compile.Options{Location: loc, Name: name})
	if err != nil {
		var list lang.ErrorList
		if !errors.As(err, &list) {
			e.message(prefix, src, lang.Pos{}, err.Error())
			return nil
		}
		for _, le := range list {
			e.message(prefix, src, le.Pos, le.Error())
		}
		return nil
	}
	for _, w := range s.Warnings() {
		e.message(prefix, src, w.Pos, w.String())
	}
	return s
}

// hashNote says what a schedule's H fields resolve to for name; "" for a
// schedule without them.
func hashNote(s *compile.Schedule, name string) string {
	if s.Resolved() == s.String() {
		return ""
	}
	return fmt.Sprintf("note: %q is %q for the name %q", s.String(), s.Resolved(), name)
}

// message prints one message of kopf check or a linted schedule: msg is
// as the user reads it ("file:line:col: warning: text"), prefix says which
// -e schedule it is about ("schedule 2: "). With check --json it is kept
// for the document instead.
func (e *env) message(prefix, src string, pos lang.Pos, msg string) {
	if e.messages != nil {
		*e.messages = append(*e.messages, newCheckMessage(prefix, pos, msg))
		return
	}
	fmt.Fprintf(e.stderr, "%s%s\n", prefix, msg)
	if !e.caret {
		return
	}
	if snip := lang.Snippet(src, pos); snip != "" {
		fmt.Fprintln(e.stderr, snip)
	}
}

// timeFlags are --tz and --after, which next and check share.
type timeFlags struct {
	tz, after *string
}

func addTimeFlags(fs *pflag.FlagSet) timeFlags {
	return timeFlags{tz: fs.String("tz", "UTC", ""), after: fs.String("after", "", "")}
}

// resolve loads the --tz zone (an IANA name, UTC or Local) and parses
// --after (an RFC 3339 time; "" is now).
func (f timeFlags) resolve(e *env) (*time.Location, time.Time, error) {
	loc, err := compile.LoadLocation(*f.tz)
	if err != nil {
		return nil, time.Time{}, usagef("unknown zone %q for --tz; expected an IANA name like America/New_York, UTC or Local", *f.tz)
	}
	if *f.after == "" {
		return loc, e.now(), nil
	}
	t, err := time.Parse(time.RFC3339, *f.after)
	if err != nil {
		return nil, time.Time{}, usagef("--after %q is not an RFC 3339 time like 2026-03-07T12:00:00Z", *f.after)
	}
	return loc, t, nil
}

// dstFlags are --dst-gap and --dst-overlap, which next and check share.
type dstFlags struct {
	gap, overlap *string
}

func addDSTFlags(fs *pflag.FlagSet) dstFlags {
	return dstFlags{gap: fs.String("dst-gap", "", ""), overlap: fs.String("dst-overlap", "", "")}
}

// resolve reads the policy the flags set; a flag not given leaves its half
// to cronie's rule.
func (f dstFlags) resolve() (compile.DST, error) {
	var p compile.DST
	var err error
	if *f.gap != "" {
		if p.Gap, err = compile.ParseGap(*f.gap); err != nil {
			return p, usagef("--dst-gap: %v", err)
		}
	}
	if *f.overlap != "" {
		if p.Overlap, err = compile.ParseOverlap(*f.overlap); err != nil {
			return p, usagef("--dst-overlap: %v", err)
		}
	}
	return p, nil
}
