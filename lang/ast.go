package lang

import (
	"fmt"
	"strings"
)

// Schedule is one parsed schedule: a crontab line or an every-expression,
// with the zone it names, if any. Exactly one of Cron and Every is set.
type Schedule struct {
	Pos   Pos
	Zone  *Zone
	Cron  *Cron
	Every *Every
}

// Zone is a time zone written in the schedule itself.
type Zone struct {
	Pos  Pos    // of the zone name
	Name string // as written: "Europe/Berlin", "UTC", "Local"
	Form string // how it was written: "CRON_TZ" or "TZ" (a prefix), or "in"
}

// Cron is a crontab(5) time specification: five fields, or a macro.
type Cron struct {
	Pos Pos
	// Macro is the "@daily"-style nickname as written in lower case, or "".
	// For a macro, Fields hold its five-field expansion.
	Macro string
	// Fields are minute, hour, day of month, month and day of week. Fields a
	// line omitted on the right are present as "*" with Omitted set.
	Fields [5]Field
}

// FieldKind names the five crontab fields.
type FieldKind int

const (
	Minute FieldKind = iota
	Hour
	DayOfMonth
	Month
	DayOfWeek
)

// Field is one crontab field: a comma-separated list of ranges.
type Field struct {
	Kind    FieldKind
	Pos     Pos
	Ranges  []Range
	Omitted bool // not written: a right-omitted field, or part of a macro
}

// Star reports whether cronie treats the field as unrestricted: its text
// starts with "*" ("*/2" included). That decides the day-of-month /
// day-of-week rule and whether a line is a wildcard schedule for DST.
func (f Field) Star() bool { return len(f.Ranges) > 0 && f.Ranges[0].Star }

func (f Field) String() string {
	parts := make([]string, len(f.Ranges))
	for i, r := range f.Ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Range is one element of a field's list: "*", "5", "1-5", "*/15", "mon-fri/2".
type Range struct {
	Pos     Pos
	Star    bool
	Lo, Hi  int  // inclusive; a single value has Lo == Hi; "*" spans the bounds
	Step    int  // 1 when not written
	HasStep bool // the step was written, even as "/1"
	Single  bool
	// LoName and HiName keep a three-letter name as written (lower case),
	// so printing gives back "mon-fri" rather than "1-5".
	LoName, HiName string
	// Hash is Jenkins' H: a value hashed from the job's name, from Lo to
	// Hi (the field's bounds for a bare H; HashRange when written as
	// H(a-b)). With a step, H/n starts at a hashed value below n.
	Hash, HashRange bool
}

func (r Range) String() string {
	if r.HasStep {
		return fmt.Sprintf("%s/%d", r.Span(), r.Step)
	}
	return r.Span()
}

// Span is the range without its step: "*", "5" or "1-5".
func (r Range) Span() string {
	switch {
	case r.Hash && r.HashRange:
		return fmt.Sprintf("H(%d-%d)", r.Lo, r.Hi)
	case r.Hash:
		return "H"
	case r.Star:
		return "*"
	case r.Single:
		return valueString(r.Lo, r.LoName)
	}
	return valueString(r.Lo, r.LoName) + "-" + valueString(r.Hi, r.HiName)
}

func valueString(n int, name string) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(n)
}

// Every is an expression in the every-language: one or more clauses.
type Every struct {
	Clauses []*Clause
}

// Clause is "every PERIOD [@ ANCHORS] [offset AMOUNT]", or the shorthand
// "@ ANCHORS" meaning "every day @ ANCHORS".
type Clause struct {
	Pos     Pos // of "every", or of "@" for the shorthand
	Short   bool
	Period  Period
	Anchors []Anchor
	Offset  *Amount
}

// Period is the length of a clause's unit: a calendar word or a duration.
type Period struct {
	Pos  Pos
	Word string // "day", "monday", "workday", …; "" for a duration
	Sec  int64  // the duration in seconds; 0 for a word
	Text string // as written, for messages
}

// Anchor is a point "@ 10m" or a half-open window "@ 01:00-10:00".
type Anchor struct {
	Pos Pos
	At  Amount
	To  *Amount // the window's end, nil for a point
}

// Amount is a length of time into a unit, written as a duration ("50m",
// "2d8h30m") or a clock time ("04:15", "23:59:30").
type Amount struct {
	Pos   Pos
	Clock bool
	Sec   int64
	Text  string // as written, for messages; "" for an amount kopf made up
}

// Written returns the amount as the user wrote it, or in canonical form.
func (a Amount) Written() string {
	if a.Text != "" {
		return a.Text
	}
	return a.String()
}

func (s *Schedule) String() string {
	var b strings.Builder
	if s.Zone != nil && s.Zone.Form != "in" {
		fmt.Fprintf(&b, "%s=%s ", s.Zone.Form, s.Zone.Name)
	}
	if s.Cron != nil {
		b.WriteString(s.Cron.String())
	} else {
		b.WriteString(s.Every.String())
	}
	if s.Zone != nil && s.Zone.Form == "in" {
		fmt.Fprintf(&b, " in %s", s.Zone.Name)
	}
	return b.String()
}

func (c *Cron) String() string {
	if c.Macro != "" {
		return c.Macro
	}
	parts := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		parts[i] = f.String()
	}
	return strings.Join(parts, " ")
}

func (e *Every) String() string {
	parts := make([]string, len(e.Clauses))
	for i, c := range e.Clauses {
		parts[i] = c.String()
	}
	return strings.Join(parts, " ")
}

func (c *Clause) String() string {
	var b strings.Builder
	if !c.Short {
		b.WriteString("every ")
		b.WriteString(c.Period.String())
	}
	if len(c.Anchors) > 0 {
		if !c.Short {
			b.WriteString(" ")
		}
		b.WriteString("@ ")
		for i, a := range c.Anchors {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.String())
		}
	}
	if c.Offset != nil {
		b.WriteString(" offset ")
		b.WriteString(c.Offset.String())
	}
	return b.String()
}

func (p Period) String() string {
	if p.Word != "" {
		return p.Word
	}
	return FormatDuration(p.Sec)
}

func (a Anchor) String() string {
	if a.To == nil {
		return a.At.String()
	}
	return a.At.String() + "-" + a.To.String()
}

func (a Amount) String() string {
	if a.Clock {
		h, m, s := a.Sec/3600, a.Sec/60%60, a.Sec%60
		if s != 0 {
			return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
		}
		return fmt.Sprintf("%02d:%02d", h, m)
	}
	return FormatDuration(a.Sec)
}

// FormatDuration writes sec in the every-language's units, largest first:
// 5400 is "1h30m", 0 is "0m". Weeks are used only for a whole number of
// weeks (1209600 is "2w", 59 days is "59d").
func FormatDuration(sec int64) string {
	if sec == 0 {
		return "0m"
	}
	units := durationUnits
	if sec%durationUnits[0].sec != 0 {
		units = units[1:]
	}
	var b strings.Builder
	for _, u := range units {
		if sec >= u.sec {
			fmt.Fprintf(&b, "%d%c", sec/u.sec, u.name)
			sec %= u.sec
		}
	}
	return b.String()
}

var durationUnits = []struct {
	name byte
	sec  int64
}{
	{'w', 7 * 86400},
	{'d', 86400},
	{'h', 3600},
	{'m', 60},
	{'s', 1},
}
