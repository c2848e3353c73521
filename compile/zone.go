package compile

import (
	"math"
	"sync"
	"time"
)

// zone answers "what is the UTC offset at instant u, and over which span of
// instants does it hold" for a time.Location. time.Location can answer that
// too, but for the instants of the next decades in a zone whose tzdata ends in
// a rule string it re-parses the rule on every call; a schedule asks on every
// Next, so the offsets up to 2200 are tabulated once per location.
type zone struct {
	loc    *time.Location
	fixed  bool  // one offset for all time (UTC, Etc/GMT+5, …)
	off    int64 // that offset
	starts []int64
	offs   []int64 // offs[i] holds from starts[i] until starts[i+1]
	// open says the last offset holds for ever: the zone has no later
	// transitions. Otherwise the table ends at its last start.
	open bool
}

const (
	noStart = math.MinInt64 / 4
	noEnd   = math.MaxInt64 / 4
)

var zones sync.Map // *time.Location -> *zone

func zoneOf(loc *time.Location) *zone {
	if z, ok := zones.Load(loc); ok {
		return z.(*zone)
	}
	z, _ := zones.LoadOrStore(loc, buildZone(loc))
	return z.(*zone)
}

func buildZone(loc *time.Location) *zone {
	z := &zone{loc: loc}
	t := time.Date(1800, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for {
		_, off := t.Zone()
		s, e := t.ZoneBounds()
		if n := len(z.offs); n == 0 || z.offs[n-1] != int64(off) {
			start := int64(noStart)
			if !s.IsZero() {
				start = s.Unix()
			}
			z.starts = append(z.starts, start)
			z.offs = append(z.offs, int64(off))
		}
		if e.IsZero() {
			z.open = true
			break
		}
		if !e.After(t) {
			// Past its tzdata, Go derives spans from the zone's rule and
			// may end one at the instant it starts (seen at the end of
			// 2040 in America/New_York); step over it. Offsets are right,
			// and equal neighbours merge above.
			e = t.Add(time.Hour)
		}
		if e.Unix() >= end {
			break
		}
		t = e
	}
	if len(z.starts) == 1 {
		z.fixed, z.off = true, z.offs[0]
	}
	return z
}

// span describes the offset in effect around an instant: off holds for
// start <= u < end; prev is the offset just before start. i is the span's
// index in the zone's table, or -1 for a span found outside it.
type span struct {
	off, start, end, prev int64
	i                     int
}

// after returns the span that follows sp, stepping through the table where
// it can rather than searching it again.
func (z *zone) after(sp span) span {
	if sp.i >= 0 && sp.i+2 < len(z.starts) {
		return z.span(sp.i + 1)
	}
	return z.at(sp.end)
}

// span returns table span i, for 0 < i < len(starts)-1.
func (z *zone) span(i int) span {
	return span{off: z.offs[i], start: z.starts[i], end: z.starts[i+1], prev: z.offs[i-1], i: i}
}

// toward skips ahead from sp to the table span where wall time w is, or to
// the span just before it when w falls in the gap that opens that span, so
// the caller's DST rules see the gap. It returns sp when the table does not
// reach that far. Wall-clock ends grow along the table (a change of offset
// never outweighs the months between changes), so it is a binary search.
func (z *zone) toward(sp span, w int64) span {
	if sp.i < 1 {
		return sp
	}
	lo, hi := sp.i, len(z.starts)-1 // the first span whose wall clock ends past w is in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if z.starts[mid+1]+z.offs[mid] > w {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo >= len(z.starts)-1 {
		return sp
	}
	if w < z.starts[lo]+z.offs[lo] && lo > sp.i {
		lo--
	}
	if lo == sp.i {
		return sp
	}
	return z.span(lo)
}

func (z *zone) at(u int64) span {
	if z.fixed {
		return span{off: z.off, start: noStart, end: noEnd, prev: z.off, i: -1}
	}
	n := len(z.starts)
	if z.open && u >= z.starts[n-1] {
		return span{off: z.offs[n-1], start: z.starts[n-1], end: noEnd, prev: z.offs[max(n-2, 0)], i: -1}
	}
	if u >= z.starts[0] && u < z.starts[n-1] {
		// The last segment starting at or before u; a hand-written search
		// keeps Next free of allocations.
		lo, hi := 0, n-1 // starts[lo] <= u < starts[hi]
		for hi-lo > 1 {
			mid := int(uint(lo+hi) >> 1)
			if z.starts[mid] <= u {
				lo = mid
			} else {
				hi = mid
			}
		}
		i := lo
		sp := span{off: z.offs[i], start: z.starts[i], end: z.starts[i+1], prev: z.offs[i], i: i}
		if i > 0 {
			sp.prev = z.offs[i-1]
		}
		return sp
	}
	return z.lookup(u)
}

// lookup asks time.Location directly, for instants outside the table.
func (z *zone) lookup(u int64) span {
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	sp := span{off: int64(off), start: noStart, end: noEnd, prev: int64(off), i: -1}
	if !s.IsZero() {
		sp.start = s.Unix()
	}
	if !e.IsZero() {
		sp.end = e.Unix()
	}
	if !(sp.start <= u && u < sp.end) {
		// ZoneBounds can be wrong past the tzdata (see buildZone): find
		// the edges by probing a day at a time, then bisecting.
		sp.start = z.edge(u, -1, sp.off)
		sp.end = z.edge(u, 1, sp.off) + 1
	}
	if sp.start != noStart {
		sp.prev = z.offsetAt(sp.start - 1)
	}
	return sp
}

func (z *zone) offsetAt(u int64) int64 {
	_, off := time.Unix(u, 0).In(z.loc).Zone()
	return int64(off)
}

// edge returns the last instant in direction dir (+1 or -1) from u that still
// has offset off, assuming offsets change at most once a day.
func (z *zone) edge(u, dir, off int64) int64 {
	in := u
	for range 400 {
		out := in + dir*daySec
		if z.offsetAt(out) == off {
			in = out
			continue
		}
		for (out-in)*dir > 1 {
			mid := in + (out-in)/2
			if z.offsetAt(mid) == off {
				in = mid
			} else {
				out = mid
			}
		}
		return in
	}
	if dir < 0 {
		return noStart
	}
	return noEnd - 1
}
