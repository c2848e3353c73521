package compile

// term is one product in a schedule's union: the wall-clock times clock on
// the days days, in one zone, under one DST policy.
type term struct {
	days  days
	clock clock
	zone  *zone
	// window is the time of day the term's fires lie in, which a jitter
	// must not leave: a coarser every-clause's @ window, as sorted,
	// disjoint ranges of seconds of the day; nil for a term without one (a
	// crontab line's included: it names points, not a window).
	window []secRange
	// fixed says the term is a fixed-time schedule, for cronie's DST
	// rule: a time swallowed by a spring-forward gap fires once when the
	// gap ends, and a time repeated by a fall-back overlap fires only on
	// its first pass. Wildcard terms (fixed false) fire at every instant
	// whose wall clock matches: gap times are lost and overlap times fire
	// twice.
	fixed bool
	// The DST policy in force, cronie's from fixed unless WithDST chose:
	// shift fires a swallowed time as the gap ends; overlap is which pass
	// of a repeated time fires (never OverlapCronie).
	shift   bool
	overlap Overlap
}

// nextWall returns the first wall-clock second >= w (seconds since
// 1970-01-01T00:00 on the zone's wall clock) in the term. Today's clock is
// asked first, so each call searches the days once.
func (t *term) nextWall(w int64) (int64, bool) {
	day := floorDiv(w, daySec)
	if s, ok := t.clock.next(w - day*daySec); ok {
		n, ok := t.days.next(day)
		if !ok {
			return 0, false
		}
		if n == day {
			return day*daySec + s, true
		}
		return n*daySec + int64(t.clock.first), true
	}
	n, ok := t.days.next(day + 1)
	if !ok {
		return 0, false
	}
	return n*daySec + int64(t.clock.first), true
}

// maxSpans bounds the offset spans one search may walk through: enough for
// a fire time centuries away in a zone that changes offset twice a year. It
// is a safety valve, not a limit any real schedule reaches.
const maxSpans = 1 << 16

// next returns the first instant (Unix seconds) >= u at which the term fires.
//
// The search walks the zone's offset spans in order. Inside a span the wall
// clock runs in step with real time, so the first matching wall time maps to
// one instant; the DST policy decides what happens at the span's edges.
func (t *term) next(u int64) (int64, bool) {
	var cached, cachedFrom int64 = 0, noEnd // a wall time found earlier, valid for searches from cachedFrom on
	sp := t.zone.at(u)
	if t.shift && u == sp.start && sp.prev < sp.off {
		// u is the instant a spring-forward gap ends, where a time the gap
		// swallowed fires: the loop below only sees the gap when it
		// crosses into this span from the one before.
		if w, ok := t.nextWall(sp.start + sp.prev); ok && w < sp.start+sp.off {
			return u, true
		}
	}
	for range maxSpans {
		from := u + sp.off
		if t.overlap == OverlapFirst && sp.prev > sp.off {
			// Just after a fall-back: the wall times up to start+prev were
			// already passed once, before the change.
			from = max(from, sp.start+sp.prev)
		}
		var w int64
		if from >= cachedFrom && from <= cached {
			w = cached
		} else {
			var ok bool
			if w, ok = t.nextWall(from); !ok {
				return 0, false
			}
			cached, cachedFrom = w, from
		}
		if sp.end == noEnd || w < sp.end+sp.off {
			if t.overlap != OverlapSecond || sp.end == noEnd {
				return w - sp.off, true
			}
			// A time that the next span's fall-back repeats fires on its
			// second pass, in that span.
			nx := t.zone.after(sp)
			if nx.off >= sp.off || w < sp.end+nx.off {
				return w - sp.off, true
			}
			u, sp = nx.start, nx
			continue
		}
		// w lies beyond this span. If the next span starts with a
		// spring-forward gap that swallowed w, a shifting term fires as
		// the gap ends.
		nx := t.zone.after(sp)
		if t.shift && nx.off > sp.off && w < sp.end+nx.off {
			return sp.end, true
		}
		if nx.start+nx.off >= cachedFrom {
			// No wall time of nx comes before the search's start, so
			// the spans whose wall clock ends before w hold no fire time,
			// not even in an overlap: skip them.
			nx = t.zone.toward(nx, w)
		}
		u, sp = nx.start, nx
	}
	return 0, false
}
