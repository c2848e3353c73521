package lang

import (
	"strconv"
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

func (f Field) String() string { return string(f.appendTo(nil)) }

func (f Field) appendTo(b []byte) []byte {
	for i, r := range f.Ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendTo(b)
	}
	return b
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

func (r Range) String() string { return string(r.appendTo(nil)) }

func (r Range) appendTo(b []byte) []byte {
	b = r.appendSpan(b)
	if r.HasStep {
		b = strconv.AppendInt(append(b, '/'), int64(r.Step), 10)
	}
	return b
}

// Span is the range without its step: "*", "5" or "1-5".
func (r Range) Span() string { return string(r.appendSpan(nil)) }

func (r Range) appendSpan(b []byte) []byte {
	switch {
	case r.Hash && r.HashRange:
		b = strconv.AppendInt(append(b, "H("...), int64(r.Lo), 10)
		return append(strconv.AppendInt(append(b, '-'), int64(r.Hi), 10), ')')
	case r.Hash:
		return append(b, 'H')
	case r.Star:
		return append(b, '*')
	case r.Single:
		return appendValue(b, r.Lo, r.LoName)
	}
	return appendValue(append(appendValue(b, r.Lo, r.LoName), '-'), r.Hi, r.HiName)
}

func valueString(n int, name string) string { return string(appendValue(nil, n, name)) }

func appendValue(b []byte, n int, name string) []byte {
	if name != "" {
		return append(b, name...)
	}
	return strconv.AppendInt(b, int64(n), 10)
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

// String is the schedule's canonical text. It is printed into one
// buffer: compiling a line makes it, and that should cost one allocation.
func (s *Schedule) String() string {
	var buf [96]byte
	return string(s.appendTo(buf[:0]))
}

// AppendText appends the schedule's canonical text to b (it is an
// encoding.TextAppender).
func (s *Schedule) AppendText(b []byte) ([]byte, error) { return s.appendTo(b), nil }

func (s *Schedule) appendTo(b []byte) []byte {
	if s.Zone != nil && s.Zone.Form != "in" {
		b = append(append(append(append(b, s.Zone.Form...), '='), s.Zone.Name...), ' ')
	}
	if s.Cron != nil {
		b = s.Cron.appendTo(b)
	} else {
		b = s.Every.appendTo(b)
	}
	if s.Zone != nil && s.Zone.Form == "in" {
		b = append(append(b, " in "...), s.Zone.Name...)
	}
	return b
}

func (c *Cron) String() string { return string(c.appendTo(nil)) }

func (c *Cron) appendTo(b []byte) []byte {
	if c.Macro != "" {
		return append(b, c.Macro...)
	}
	for i, f := range c.Fields {
		if i > 0 {
			b = append(b, ' ')
		}
		b = f.appendTo(b)
	}
	return b
}

func (e *Every) String() string { return string(e.appendTo(nil)) }

func (e *Every) appendTo(b []byte) []byte {
	for i, c := range e.Clauses {
		if i > 0 {
			b = append(b, ' ')
		}
		b = c.appendTo(b)
	}
	return b
}

func (c *Clause) String() string { return string(c.appendTo(nil)) }

func (c *Clause) appendTo(b []byte) []byte {
	if !c.Short {
		b = c.Period.appendTo(append(b, "every "...))
	}
	if len(c.Anchors) > 0 {
		if !c.Short {
			b = append(b, ' ')
		}
		b = append(b, "@ "...)
		for i, a := range c.Anchors {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = a.appendTo(b)
		}
	}
	if c.Offset != nil {
		b = c.Offset.appendTo(append(b, " offset "...))
	}
	return b
}

func (p Period) String() string { return string(p.appendTo(nil)) }

func (p Period) appendTo(b []byte) []byte {
	if p.Word != "" {
		return append(b, p.Word...)
	}
	return appendDuration(b, p.Sec)
}

func (a Anchor) String() string { return string(a.appendTo(nil)) }

func (a Anchor) appendTo(b []byte) []byte {
	b = a.At.appendTo(b)
	if a.To != nil {
		b = a.To.appendTo(append(b, '-'))
	}
	return b
}

func (a Amount) String() string { return string(a.appendTo(nil)) }

func (a Amount) appendTo(b []byte) []byte {
	if !a.Clock {
		return appendDuration(b, a.Sec)
	}
	two := func(b []byte, n int64) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
	h, m, s := a.Sec/3600, a.Sec/60%60, a.Sec%60
	if h >= 100 {
		b = strconv.AppendInt(b, h, 10) // not a clock time a schedule can have; printed all the same
	} else {
		b = two(b, h)
	}
	b = two(append(b, ':'), m)
	if s != 0 {
		b = two(append(b, ':'), s)
	}
	return b
}

// FormatDuration writes sec in the every-language's units, largest first:
// 5400 is "1h30m", 0 is "0m". Weeks are used only for a whole number of
// weeks (1209600 is "2w", 59 days is "59d").
func FormatDuration(sec int64) string { return string(appendDuration(nil, sec)) }

func appendDuration(b []byte, sec int64) []byte {
	if sec == 0 {
		return append(b, "0m"...)
	}
	units := durationUnits
	if sec%durationUnits[0].sec != 0 {
		units = units[1:]
	}
	for _, u := range units {
		if sec >= u.sec {
			b = append(strconv.AppendInt(b, sec/u.sec, 10), u.name)
			sec %= u.sec
		}
	}
	return b
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
