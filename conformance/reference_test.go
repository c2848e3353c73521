package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York must not depend on the machine's zoneinfo

	"github.com/kopf/kopf/compile"
)

// This file is the reference the compiler is checked against: a crontab
// reader and a brute-force matcher written from crontab(5) and cronie's
// entry.c/cron.c, sharing nothing with package compile or lang.

// instant is a fire time in Unix seconds. It prints in UTC so that cmp.Diff
// names the instants that differ.
type instant int64

func (i instant) String() string { return time.Unix(int64(i), 0).UTC().Format(time.RFC3339) }

func at(s string) instant {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return instant(t.Unix())
}

func mustTime(s string) time.Time { return time.Unix(int64(at(s)), 0).UTC() }

// collect returns the fire times of s strictly after after and not after
// end, at most limit of them (limit <= 0: no limit). It stops with an error
// the moment Next fails to move forward, which would otherwise loop forever.
func collect(s *compile.Schedule, after, end time.Time, limit int) ([]instant, error) {
	var out []instant
	t := after
	for limit <= 0 || len(out) < limit {
		n, ok := s.Next(t)
		if !ok || n.After(end) {
			break
		}
		if !n.After(t) {
			return out, fmt.Errorf("Next(%s) = %s, not after it", t.UTC().Format(time.RFC3339), n.UTC().Format(time.RFC3339))
		}
		if n.Nanosecond() != 0 {
			return out, fmt.Errorf("Next(%s) = %s, not a whole second", t.UTC().Format(time.RFC3339), n.Format(time.RFC3339Nano))
		}
		out = append(out, instant(n.Unix()))
		t = n
	}
	return out, nil
}

// cronSpec is a crontab line read by the reference: the set of values of
// each field, and the two facts cronie takes from the fields' text.
type cronSpec struct {
	minute [60]bool
	hour   [24]bool
	dom    [32]bool
	month  [13]bool
	dow    [7]bool
	// domStar and dowStar: the field's text starts with "*" (cronie's
	// DOM_STAR/DOW_STAR flags, which "*/2" sets too).
	domStar, dowStar bool
	// fixed: neither minute nor hour starts with "*" (cronie's MIN_STAR and
	// HR_STAR unset), so DST gaps and overlaps are handled as for a fixed
	// time of day.
	fixed bool
}

var (
	refMonths = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	refDays   = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	// refBounds are each field's lowest and highest value; "*" spans them.
	// cronie's day of week runs 0..7, both ends Sunday.
	refBounds = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
)

// parseCron reads a valid crontab time specification of one to five fields;
// fields omitted on the right are "*". It rejects what crontab(5) rejects
// but does not try to say why well: the compiler's messages are tested
// elsewhere.
func parseCron(line string) (*cronSpec, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || len(fields) > 5 {
		return nil, fmt.Errorf("%q: want 1 to 5 fields", line)
	}
	for len(fields) < 5 {
		fields = append(fields, "*")
	}
	sp := &cronSpec{}
	var sets [5][]int
	for i, f := range fields {
		vals, err := parseCronField(i, f)
		if err != nil {
			return nil, fmt.Errorf("%q field %d: %v", line, i+1, err)
		}
		sets[i] = vals
	}
	for _, v := range sets[0] {
		sp.minute[v] = true
	}
	for _, v := range sets[1] {
		sp.hour[v] = true
	}
	for _, v := range sets[2] {
		sp.dom[v] = true
	}
	for _, v := range sets[3] {
		sp.month[v] = true
	}
	for _, v := range sets[4] {
		sp.dow[v%7] = true // 7 is Sunday
	}
	star := func(i int) bool { return strings.HasPrefix(fields[i], "*") }
	sp.domStar, sp.dowStar = star(2), star(4)
	sp.fixed = !star(0) && !star(1)
	return sp, nil
}

func parseCronField(kind int, f string) ([]int, error) {
	lo, hi := refBounds[kind][0], refBounds[kind][1]
	var out []int
	for _, item := range strings.Split(f, ",") {
		span, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		var a, b int
		switch {
		case span == "*":
			a, b = lo, hi
		case strings.Contains(span, "-"):
			x, y, _ := strings.Cut(span, "-")
			var err error
			if a, err = cronValue(kind, x); err != nil {
				return nil, err
			}
			if b, err = cronValue(kind, y); err != nil {
				return nil, err
			}
			if kind == 4 && b == 0 && a > 0 {
				b = 7 // a day-of-week range may end at Sunday written 0 (cronie's PR #200)
			}
			if a > b {
				return nil, fmt.Errorf("range %s runs backwards", span)
			}
		default:
			if hasStep {
				return nil, fmt.Errorf("step on a single value %q", item)
			}
			v, err := cronValue(kind, span)
			if err != nil {
				return nil, err
			}
			a, b = v, v
		}
		for v := a; v <= b; v += step {
			out = append(out, v)
		}
	}
	return out, nil
}

func cronValue(kind int, s string) (int, error) {
	var names []string
	base := 0
	switch kind {
	case 3:
		names, base = refMonths, 1
	case 4:
		names = refDays
	}
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + base, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < refBounds[kind][0] || v > refBounds[kind][1] {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// dayOK is cronie's day rule: when either day field starts with "*", a day
// must match both fields; when both are restricted, either one will do.
func (sp *cronSpec) dayOK(month, dom int, wd time.Weekday) bool {
	if !sp.month[month] {
		return false
	}
	if sp.domStar || sp.dowStar {
		return sp.dom[dom] && sp.dow[wd]
	}
	return sp.dom[dom] || sp.dow[wd]
}

// wallMatcher answers "does the wall-clock time w match" for wall times in
// seconds since 1970-01-01T00:00 on the zone's clock, remembering the last
// day it looked at.
type wallMatcher struct {
	sp       *cronSpec
	day      int64
	dayMatch bool
	primed   bool
}

func (m *wallMatcher) dayMatches(day int64) bool {
	if !m.primed || day != m.day {
		t := time.Unix(day*86400, 0).UTC()
		m.day, m.dayMatch, m.primed = day, m.sp.dayOK(int(t.Month()), t.Day(), t.Weekday()), true
	}
	return m.dayMatch
}

func (m *wallMatcher) matches(w int64) bool {
	day := floorDiv(w, 86400)
	sec := w - day*86400
	return sec%60 == 0 && m.dayMatches(day) && m.sp.hour[sec/3600] && m.sp.minute[sec/60%60]
}

// offsets gives a zone's UTC offset at an instant, remembering the span of
// instants the last answer holds for.
type offsets struct {
	loc        *time.Location
	start, end int64 // the cached offset holds for start <= u < end
	off        int64
}

func (o *offsets) at(u int64) int64 {
	if u >= o.start && u < o.end {
		return o.off
	}
	t := time.Unix(u, 0).In(o.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	o.off, o.start, o.end = int64(off), -1<<62, 1<<62
	if !s.IsZero() {
		o.start = s.Unix()
	}
	if !e.IsZero() {
		o.end = e.Unix()
	}
	return o.off
}

// refPolicy is a DST policy as the reference applies it: shift fires a
// time a spring-forward gap swallowed at the first instant after the gap;
// overlap is "first", "second" or "both", the passes of a time a
// fall-back repeats that fire.
type refPolicy struct {
	shift   bool
	overlap string
}

// cronie is cronie's policy for the line: shift and first for a fixed
// line, no shift and both for a wildcard one.
func (sp *cronSpec) cronie() refPolicy {
	if sp.fixed {
		return refPolicy{shift: true, overlap: "first"}
	}
	return refPolicy{overlap: "both"}
}

// refFires returns, in order, the instants strictly after after and not
// after end at which sp fires in loc under cronie's DST policy, at most
// limit of them (limit <= 0: no limit).
func refFires(sp *cronSpec, loc *time.Location, after, end time.Time, limit int) []instant {
	return refFiresWith(sp, sp.cronie(), loc, after, end, limit)
}

// refFiresWith is refFires under policy p. It walks real time a minute at
// a time and applies the policy literally:
//
//   - a time whose wall clock matches fires at every instant that shows it
//     ("both"), only at the first ("first": no earlier instant showed the
//     same wall time), or only at the last ("second": no later instant
//     will);
//   - with shift, the first instant after a gap that swallowed a matching
//     wall time fires too.
//
// Days that cannot match are stepped over whole when the zone's offset holds
// until the day ends, which keeps searches of several years cheap without
// changing the answer.
func refFiresWith(sp *cronSpec, p refPolicy, loc *time.Location, after, end time.Time, limit int) []instant {
	m := &wallMatcher{sp: sp}
	zo := &offsets{loc: loc}
	a, e := after.Unix(), end.Unix()
	// Start early enough to have seen the first pass of any overlap that
	// reaches past after.
	u := floorDiv(a, 60)*60 - 3*3600
	prev := u - 60 + zo.at(u-60)
	maxWall := prev
	var out []instant
	for ; u <= e; u += 60 {
		w := u + zo.at(u)
		fire := p.shift && w-prev > 60 && m.gapMatches(prev, w)
		if m.matches(w) {
			switch p.overlap {
			case "both":
				fire = true
			case "first":
				fire = fire || w > maxWall
			case "second":
				fire = fire || !shownLater(loc, u, w)
			}
		}
		if fire && u > a {
			out = append(out, instant(u))
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		maxWall, prev = max(maxWall, w), w
		day := floorDiv(w, 86400)
		if m.dayMatches(day) {
			continue
		}
		// Nothing on this day can match: go on from its last minute when the
		// offset holds until the wall clock reaches the next midnight.
		zo.at(u)
		if next := u + (day+1)*86400 - w; zo.end > next && next-60 > u {
			u = next - 60
			prev = (day+1)*86400 - 60
			maxWall = max(maxWall, prev)
		}
	}
	return out
}

// shownLater reports whether an instant after u, within a day and a half,
// shows the wall time w again: only after a fall-back can one. It looks
// minute by minute where the offset changes in that time.
func shownLater(loc *time.Location, u, w int64) bool {
	zo := &offsets{loc: loc}
	zo.at(u)
	if zo.end > u+36*3600 {
		return false
	}
	for v := u + 60; v <= u+36*3600; v += 60 {
		if v+zo.at(v) == w {
			return true
		}
	}
	return false
}

// gapMatches reports whether a wall time strictly between prev and w (a
// spring-forward gap) matches.
func (m *wallMatcher) gapMatches(prev, w int64) bool {
	for s := prev + 60; s < w; s += 60 {
		if m.matches(s) {
			return true
		}
	}
	return false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// refLine parses line with the reference or fails the test.
func refLine(t testing.TB, line string) *cronSpec {
	t.Helper()
	sp, err := parseCron(line)
	if err != nil {
		t.Fatalf("reference cannot read %q: %v", line, err)
	}
	return sp
}

// newYork is the zone of the DST tests.
func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("LoadLocation: %v", err)
	}
	return loc
}
