package compile

import (
	"cmp"
	"slices"
	"strings"

	"github.com/kopf/kopf/lang"
)

// The every-language compiles in three steps. Each clause's period becomes a
// unit (a length of time with a calendar alignment). The finest clause — the
// shortest unit — supplies the fire points: its anchors and offset placed in
// every one of its units. Every coarser clause selects spans: its whole units,
// or the windows its anchors name. The schedule is the points that lie in a
// selected span of every coarser clause. Points and spans are both expressed
// as terms (days × clock), so selecting is intersecting terms.

type unitKind int

const (
	subDay    unitKind = iota // a duration under a day, repeating from midnight
	dayUnit                   // one calendar day, possibly only some weekdays
	cycleUnit                 // n > 1 whole days, in blocks counted from Monday 1970-01-05
	monthUnit
	yearUnit
)

type unit struct {
	kind unitKind
	sec  int64 // subDay: the period
	dow  uint8 // dayUnit: the weekdays
	n    int64 // cycleUnit: days per block
}

// cycleEpoch is the day number of Monday 1970-01-05, where multi-day blocks
// start counting, so that weeks start on Mondays and "every 7d" is "every 1w".
const cycleEpoch = 4

// rank orders units from fine to coarse; a month sits between 4 and 5 weeks.
func (u unit) rank() int64 {
	switch u.kind {
	case subDay:
		return u.sec
	case dayUnit:
		return daySec
	case cycleUnit:
		return u.n * daySec
	case monthUnit:
		return 2629746 // an average Gregorian month
	}
	return 31556952
}

// length is the longest a unit can be: a point or window bound must lie
// inside it.
func (u unit) length() int64 {
	switch u.kind {
	case subDay:
		return u.sec
	case dayUnit:
		return daySec
	case cycleUnit:
		return u.n * daySec
	case monthUnit:
		return 31 * daySec
	}
	return 366 * daySec
}

// unitOf reads a clause's period.
func (c *compiler) unitOf(cl *lang.Clause) (unit, bool) {
	p := cl.Period
	if p.Word != "" {
		switch u, dow, _ := lang.LookupPeriod(p.Word); u { // lang has checked the word
		case lang.UnitMinute:
			return unit{kind: subDay, sec: 60}, true
		case lang.UnitHour:
			return unit{kind: subDay, sec: 3600}, true
		case lang.UnitDay:
			return unit{kind: dayUnit, dow: dow}, true
		case lang.UnitWeek:
			return unit{kind: cycleUnit, n: 7}, true
		case lang.UnitMonth:
			return unit{kind: monthUnit}, true
		default:
			return unit{kind: yearUnit}, true
		}
	}
	switch {
	case p.Sec < daySec:
		if daySec%p.Sec != 0 {
			last := (daySec - 1) / p.Sec * p.Sec
			c.warnf(p.Pos, "%s does not divide a day: times restart at midnight, so %s is followed by 00:00, %s later",
				p.Text, clockText(last), lang.FormatDuration(daySec-last))
		}
		return unit{kind: subDay, sec: p.Sec}, true
	case p.Sec == daySec:
		return unit{kind: dayUnit, dow: allDow}, true
	case p.Sec%daySec == 0:
		n := p.Sec / daySec
		if n%7 != 0 || n > 7 {
			c.warnf(p.Pos, "every %s counts blocks of %d days from Monday 1970-01-05 in the schedule's zone, not from today or from the start of a month", p.Text, n)
		}
		return unit{kind: cycleUnit, n: n}, true
	}
	c.errorf(p.Pos, "a period of a day or longer must be whole days, like 2d or 1w; %s is not", p.Text)
	return unit{}, false
}

func clockText(sec int64) string {
	return lang.Amount{Clock: true, Sec: sec}.String()
}

type clauseUnit struct {
	cl *lang.Clause
	u  unit
}

func (c *compiler) every(e *lang.Every) {
	var cus []clauseUnit
	for _, cl := range e.Clauses {
		if u, ok := c.unitOf(cl); ok {
			cus = append(cus, clauseUnit{cl, u})
		}
	}
	if len(cus) < len(e.Clauses) {
		return
	}
	// The finest clauses give the points; several clauses of the same unit
	// merge (every monday every 1d @ 04:15 is Mondays at 04:15).
	finest := cus[0].u.rank()
	for _, cu := range cus {
		finest = min(finest, cu.u.rank())
	}
	var group, coarser []clauseUnit
	for _, cu := range cus {
		if cu.u.rank() == finest {
			group = append(group, cu)
		} else {
			coarser = append(coarser, cu)
		}
	}
	terms, ok := c.points(group)
	if !ok {
		return
	}
	for _, cu := range coarser {
		sel, ok := c.selection(cu)
		if !ok {
			return
		}
		terms = c.intersect(cu, terms, sel)
	}
	fixed := group[0].u.kind != subDay
	c.neverHint = ": its clauses have no day and time in common"
	for _, t := range mergeTerms(terms) {
		t.zone, t.fixed = c.zone, fixed
		c.terms = append(c.terms, t)
	}
}

// points returns the fire points of the finest clauses as terms.
func (c *compiler) points(group []clauseUnit) ([]term, bool) {
	u := group[0].u
	var placed *lang.Clause
	for _, cu := range group[1:] {
		u.dow &= cu.u.dow
	}
	for _, cu := range group {
		if len(cu.cl.Anchors) == 0 && cu.cl.Offset == nil {
			continue
		}
		if placed != nil {
			c.errorf(cu.cl.Pos, "two clauses with the same period both place points (with @ or offset); keep the anchors on one of them")
			return nil, false
		}
		placed = cu.cl
	}
	if placed == nil {
		placed = group[0].cl
	}
	var offs []int64
	var offPos []lang.Pos
	var offText []string
	var extra int64
	extraText := ""
	if placed.Offset != nil {
		extra, extraText = placed.Offset.Sec, " offset "+placed.Offset.Written()
	}
	for _, a := range placed.Anchors {
		if a.To != nil && a.To.Sec == a.At.Sec {
			c.errorf(a.Pos, "the window %s-%s is empty: it starts where it ends", a.At.Written(), a.To.Written())
			return nil, false
		}
		if a.To != nil {
			c.warnf(a.Pos, "a window on the finest clause fires once, at its start (%s); add a finer clause, like \"every 10m\", to fire throughout it", a.At.Written())
		}
		offs = append(offs, a.At.Sec+extra)
		offPos = append(offPos, a.Pos)
		offText = append(offText, "@ "+a.At.Written()+extraText)
	}
	if len(offs) == 0 {
		offs = append(offs, extra)
		pos := placed.Pos
		if placed.Offset != nil {
			pos = placed.Offset.Pos
		}
		offPos = append(offPos, pos)
		offText = append(offText, strings.TrimPrefix(extraText, " "))
	}
	ok := true
	for i, p := range offs {
		ok = c.checkInside(placed, u, p, offPos[i], offText[i]) && ok
	}
	if !ok {
		return nil, false
	}
	var terms []term
	switch u.kind {
	case subDay:
		var clk clock
		for i, p := range offs {
			g, ok := gridClock(p, u.sec)
			if !ok {
				g = newClock()
				for s := p; s < daySec; s += u.sec {
					g.add(s)
				}
			}
			if i == 0 {
				clk = g
			} else {
				clk.union(g)
			}
		}
		terms = append(terms, term{days: everyDay(), clock: clk})
	default:
		for _, p := range offs {
			j, s := p/daySec, p%daySec
			for _, d := range relDays(u, j, j, false, false) {
				terms = append(terms, term{days: d, clock: pointClock(s)})
			}
		}
	}
	return terms, true
}

// checkInside reports whether a point p lies inside unit u, with an error
// at pos when it does not and a warning when only some units hold it.
func (c *compiler) checkInside(cl *lang.Clause, u unit, p int64, pos lang.Pos, what string) bool {
	if p >= u.length() {
		c.errorf(pos, "%s is outside the unit of \"every %s\": it must be less than %s",
			what, cl.Period.Text, lang.FormatDuration(u.length()))
		return false
	}
	switch {
	case u.kind == monthUnit && p >= 28*daySec:
		c.warnf(pos, "%s into a month is past the end of shorter months; those months are skipped", lang.FormatDuration(p))
	case u.kind == yearUnit && p >= 365*daySec:
		c.warnf(pos, "%s into a year exists only in leap years", lang.FormatDuration(p))
	case u.kind == yearUnit && p >= 59*daySec:
		c.warnf(pos, "%s into a year lands one day earlier in leap years, which have February 29", lang.FormatDuration(p))
	}
	return true
}

// selected is part of what a coarser clause selects: some times of day (ranges
// of seconds, lo <= s < hi) on a set of days. Selections stay ranges; only
// the points are clocks, so selecting is clearing the points outside them.
type selected struct {
	days   days
	ranges []secRange
}

type secRange struct{ lo, hi int64 }

// selection returns the spans a coarser clause selects.
func (c *compiler) selection(cu clauseUnit) ([]selected, bool) {
	cl, u := cu.cl, cu.u
	L := u.length()
	if len(cl.Anchors) > 0 && cl.Offset != nil {
		c.errorf(cl.Offset.Pos, "a coarser clause takes a window or an offset, not both; write the window's times directly")
		return nil, false
	}
	type window struct{ from, to int64 } // to < from wraps into the next unit
	var ws []window
	switch {
	case cl.Offset != nil:
		if !c.checkInside(cl, u, cl.Offset.Sec, cl.Offset.Pos, "offset "+cl.Offset.Written()) {
			return nil, false
		}
		// The whole unit, shifted: from the offset to the same point of the next unit.
		ws = append(ws, window{cl.Offset.Sec, cl.Offset.Sec})
		if cl.Offset.Sec == 0 {
			ws[0] = window{0, L}
		}
	case len(cl.Anchors) == 0:
		ws = append(ws, window{0, L})
	}
	for _, a := range cl.Anchors {
		if a.To == nil {
			c.errorf(a.Pos, "@ %s on \"every %s\" is a point, but a coarser clause selects spans: write a window like @ %s-%s",
				a.At.Written(), cl.Period.Text, a.At.Written(), lang.Amount{Clock: a.At.Clock, Sec: min(a.At.Sec+3600, L)})
			return nil, false
		}
		switch {
		case a.At.Sec >= L:
			c.errorf(a.At.Pos, "%s is outside the unit of \"every %s\": it must be less than %s", a.At.Written(), cl.Period.Text, lang.FormatDuration(L))
			return nil, false
		case a.To.Sec > L:
			c.errorf(a.To.Pos, "%s is outside the unit of \"every %s\": a window ends at %s at the latest", a.To.Written(), cl.Period.Text, lang.FormatDuration(L))
			return nil, false
		case a.At.Sec == a.To.Sec:
			c.errorf(a.Pos, "the window %s-%s is empty: it starts where it ends", a.At.Written(), a.To.Written())
			return nil, false
		}
		ws = append(ws, window{a.At.Sec, a.To.Sec})
	}
	var out []selected
	for _, w := range ws {
		if u.kind == subDay {
			out = append(out, selected{days: everyDay(), ranges: subDayWindow(u.sec, w.from, w.to)})
			continue
		}
		if w.to > w.from {
			out = append(out, spanTerms(u, w.from, w.to, false, false)...)
			continue
		}
		// Wrapping: to the end of this unit, then into the next one.
		out = append(out, spanTerms(u, w.from, 0, true, false)...)
		if w.to > 0 {
			out = append(out, spanTerms(u, 0, w.to, false, true)...)
		}
	}
	return out, true
}

// subDayWindow is [from, to) in every unit of a sub-day period, as ranges of
// the day; to < from wraps into the next unit.
func subDayWindow(period, from, to int64) []secRange {
	var out []secRange
	add := func(lo, hi int64) {
		if lo < hi {
			out = append(out, secRange{lo, hi})
		}
	}
	for t := int64(0); t < daySec; t += period {
		if to > from {
			add(t+from, min(t+to, daySec))
		} else {
			add(t, min(t+to, daySec))
			add(min(t+from, daySec), min(t+period, daySec))
		}
	}
	return out
}

// spanTerms turns [from, to) within a unit (to the unit's end when toEnd) into
// spans, one per run of whole or partial days; next selects the unit after
// a selected one (for windows that wrap).
func spanTerms(u unit, from, to int64, toEnd, next bool) []selected {
	d0, s0 := from/daySec, from%daySec
	var out []selected
	add := func(j0, j1 int64, end bool, lo, hi int64) {
		for _, d := range relDays(u, j0, j1, end, next) {
			out = append(out, selected{days: d, ranges: []secRange{{lo, hi}}})
		}
	}
	if toEnd {
		add(d0, d0, false, s0, daySec)
		if d0+1 < u.length()/daySec {
			add(d0+1, 0, true, 0, daySec)
		}
		return out
	}
	d1 := (to - 1) / daySec
	e1 := to - d1*daySec
	if d0 == d1 {
		add(d0, d0, false, s0, e1)
		return out
	}
	add(d0, d0, false, s0, daySec)
	if d1 > d0+1 {
		add(d0+1, d1-1, false, 0, daySec)
	}
	add(d1, d1, false, 0, e1)
	return out
}

// relDays returns the day sets of the days j0..j1 (0-based) of each unit of
// kind u, or j0 to the unit's end when toEnd. next shifts to the unit that
// follows each one, which only matters where units are filtered (weekdays).
func relDays(u unit, j0, j1 int64, toEnd, next bool) []days {
	switch u.kind {
	case dayUnit:
		f := u.dow
		if next {
			f = f<<1&allDow | f>>6 // the day after each selected weekday
		}
		d := everyDay()
		d.dow = f
		return []days{d}
	case cycleUnit:
		if toEnd {
			j1 = u.n - 1
		}
		d := everyDay()
		if u.n == 7 {
			// Weeks: the days of a block are weekdays, Monday first.
			d.dow = 0
			for j := j0; j <= j1; j++ {
				d.dow |= 1 << ((1 + j) % 7)
			}
			return []days{d}
		}
		d.cycle, d.cycleStart, d.cycleLen = u.n, floorMod(cycleEpoch+j0, u.n), j1-j0+1
		return []days{d}
	case monthUnit:
		if toEnd {
			j1 = 30
		}
		d := everyDay()
		d.dom = domRange(int(j0)+1, int(j1)+1)
		return []days{d}
	}
	if toEnd {
		j1 = 365
	}
	return yearDays(j0, j1)
}

func domRange(lo, hi int) uint32 {
	var m uint32
	for d := lo; d <= hi && d <= 31; d++ {
		m |= 1 << d
	}
	return m
}

// yearDays maps days j0..j1 of a year (0-based) to month and day-of-month
// sets. Up to February 28 every year agrees; past it, leap and common years
// get their own sets.
func yearDays(j0, j1 int64) []days {
	if j1 < 59 {
		return monthSpans(2001, j0, j1, 0)
	}
	return append(monthSpans(2000, j0, j1, 1), monthSpans(2001, j0, j1, -1)...)
}

// monthSpans splits days j0..j1 of year y into one day set per month.
func monthSpans(y, j0, j1 int64, leap int8) []days {
	var out []days
	start := int64(0)
	for m := 1; m <= 12; m++ {
		n := int64(monthLen(y, m))
		lo, hi := max(j0, start), min(j1, start+n-1)
		if lo <= hi {
			d := everyDay()
			d.month, d.leap = 1<<m, leap
			d.dom = domRange(int(lo-start)+1, int(hi-start)+1)
			out = append(out, d)
		}
		start += n
	}
	return out
}

// intersect keeps the points that lie in one of the selected spans.
func (c *compiler) intersect(cu clauseUnit, points []term, sel []selected) []term {
	sel = mergeSpans(sel) // a window wrapping midnight on every day is one span
	var out []term
	for _, p := range points {
		for _, s := range sel {
			d := p.days
			if !d.intersect(s.days) {
				c.errorf(cu.cl.Pos, "two multi-day periods in one schedule are not supported; keep one of them")
				return nil
			}
			clk := p.clock
			if len(sel) > 1 {
				// p's clock meets several spans: each product needs its own.
				clk = p.clock.clone()
			}
			clk.keep(s.ranges)
			out = append(out, term{days: d, clock: clk, window: narrow(p.window, s.ranges)})
		}
	}
	return out
}

// narrow returns the window w cut down to the ranges (a nil w is the whole
// day); ranges that cover the whole day leave it as it is.
func narrow(w []secRange, ranges []secRange) []secRange {
	rs := normalize(ranges)
	if len(rs) == 1 && rs[0] == (secRange{0, daySec}) {
		return w
	}
	if w == nil {
		return rs
	}
	var out []secRange
	for _, a := range w {
		for _, b := range rs {
			if lo, hi := max(a.lo, b.lo), min(a.hi, b.hi); lo < hi {
				out = append(out, secRange{lo, hi})
			}
		}
	}
	return normalize(out)
}

// normalize sorts ranges and joins those that touch or overlap.
func normalize(rs []secRange) []secRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b secRange) int { return cmp.Compare(a.lo, b.lo) })
	var out []secRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// mergeSpans joins the ranges of spans on the same days.
func mergeSpans(ss []selected) []selected {
	return mergeByDays(ss, func(s *selected) days { return s.days },
		func(into, s *selected) { into.ranges = append(into.ranges, s.ranges...) })
}

// mergeTerms unites the clocks of terms on the same days.
func mergeTerms(ts []term) []term {
	return mergeByDays(ts, func(t *term) days { return t.days },
		func(into, t *term) {
			into.clock.union(t.clock)
			if into.window == nil || t.window == nil {
				into.window = nil // one of them has the whole day
			} else {
				into.window = normalize(append(into.window, t.window...))
			}
		})
}

// mergeByDays folds the items on the same days into the first of them.
func mergeByDays[T any](items []T, daysOf func(*T) days, join func(into, from *T)) []T {
	var out []T
next:
	for i := range items {
		for j := range out {
			if sameDays(daysOf(&out[j]), daysOf(&items[i])) {
				join(&out[j], &items[i])
				continue next
			}
		}
		out = append(out, items[i])
	}
	return out
}

func sameDays(a, b days) bool {
	return a.dom == b.dom && a.month == b.month && a.dow == b.dow && a.either == b.either &&
		a.leap == b.leap && a.cycle == b.cycle && a.cycleStart == b.cycleStart && a.cycleLen == b.cycleLen
}
