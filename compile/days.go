package compile

import (
	"math/bits"

	"github.com/kopf/kopf/lang"
)

// days is a set of calendar days: a product of day-of-month, month and
// weekday sets, with cron's day rule, optionally narrowed to leap or common
// years and to a run of days in a repeating cycle of days (multi-day periods
// like "every 2d" or "every 2w").
//
// Finding the next day works a month at a time: the days of a month that
// match are one 32-bit mask, computed from the weekday of the month's first
// day, so a search never steps day by day.
type days struct {
	dom   uint32 // bit d: day of month d (1-31)
	month uint16 // bit m: month m (1-12)
	dow   uint8  // bit w: weekday w (0 = Sunday .. 6)
	// either is cron's rule for two restricted day fields: a day matches when
	// its day of month OR its weekday does. Otherwise both must.
	either bool
	leap   int8 // 0: every year; 1: leap years only; -1: common years only

	// A cycle of cycle days counted from day 0 (1970-01-01): day n is held
	// when (n - cycleStart) mod cycle < cycleLen. cycle <= 1 means no cycle.
	cycle, cycleStart, cycleLen int64

	// Derived by prepare.
	all        bool      // every day is in the set: next is the identity
	dowDom     [7]uint32 // for a month starting on weekday w: the days of month whose weekday is in dow
	cyclePat   uint64    // for cycle <= 33: bit j set when j mod cycle < cycleLen
	limitYears int64     // how far a search may look before the set has repeated
}

const (
	allDom   uint32 = 0xfffffffe // days 1..31
	allMonth uint16 = 0x1ffe     // months 1..12
	allDow   uint8  = lang.AllDays
)

func everyDay() days { return days{dom: allDom, month: allMonth, dow: allDow} }

// monthDays is the mask of days 1..n.
func monthDays(n int) uint32 { return uint32(1)<<(n+1) - 2 }

// prepare fills the derived fields; call it once the set is final.
func (s *days) prepare() {
	s.all = s.month == allMonth && s.leap == 0 && s.cycle <= 1 &&
		(s.dom == allDom && s.dow == allDow || s.either && (s.dom == allDom || s.dow == allDow))
	// Bit i of rep is set when weekday i%7 is in the set; day d of a month
	// starting on weekday w falls on weekday (w+d-1)%7.
	var rep uint64
	for k := 0; k < 6; k++ {
		rep |= uint64(s.dow) << (7 * k)
	}
	for w := range 7 {
		s.dowDom[w] = uint32(rep>>w<<1) & allDom
	}
	s.cyclePat = 0
	if s.cycle > 1 && s.cycle <= 33 {
		for j := range int64(64) {
			if j%s.cycle < s.cycleLen {
				s.cyclePat |= 1 << j
			}
		}
	}
	// Without a cycle the Gregorian calendar repeats every 400 years
	// (146097 days, a whole number of weeks); with one, every
	// lcm(146097, cycle) days.
	s.limitYears = 401
	if s.cycle > 1 {
		s.limitYears = 400*(s.cycle/gcd(s.cycle, 146097)) + 1
	}
}

// inMonth returns the mask of days of month m of year y, which starts on
// day first, that the set holds.
func (s *days) inMonth(y int64, m int, first int64) uint32 {
	w := s.dowDom[weekday(first)]
	var c uint32
	if s.either {
		c = s.dom | w
	} else {
		c = s.dom & w
	}
	c &= monthDays(monthLen(y, m))
	if s.cycle > 1 {
		c &= s.cycleDays(first)
	}
	return c
}

// cycleDays returns the days of month (bit d for day d) of the month
// starting on day first that fall inside the cycle's run.
func (s *days) cycleDays(first int64) uint32 {
	q := floorMod(first-s.cycleStart, s.cycle) // day 1 is q days into its cycle
	if s.cyclePat != 0 {
		return uint32(s.cyclePat>>q) << 1
	}
	// Long cycles: the runs [k*cycle, k*cycle+len) that meet days q..q+30.
	var out uint32
	for k := q / s.cycle * s.cycle; k <= q+30; k += s.cycle {
		lo, hi := max(k, q), min(k+s.cycleLen, q+31)
		for j := lo; j < hi; j++ {
			out |= 1 << (j - q + 1)
		}
	}
	return out
}

func (s *days) yearOK(y int64) bool {
	switch s.leap {
	case 1:
		return isLeap(y)
	case -1:
		return !isLeap(y)
	}
	return true
}

// next returns the first day >= n in the set, and false if the set is
// empty: after limitYears the calendar has repeated, so nothing later can
// match either.
func (s *days) next(n int64) (int64, bool) {
	if s.all {
		return n, true
	}
	y, m, d := civil(n)
	first := n - int64(d) + 1 // day 1 of month m
	endYear := y + s.limitYears
	for y <= endYear {
		if s.month&(1<<m) != 0 && s.yearOK(y) {
			if c := s.inMonth(y, m, first) >> d << d; c != 0 {
				return first + int64(bits.TrailingZeros32(c)) - 1, true
			}
		}
		// On to the next month the set holds, this year or a later one.
		d = 1
		if later := s.month >> (m + 1) << (m + 1); later != 0 {
			next := bits.TrailingZeros16(later)
			for ; m < next; m++ {
				first += int64(monthLen(y, m))
			}
		} else {
			y++
			m = bits.TrailingZeros16(s.month)
			first = dayNumber(y, m, 1)
		}
	}
	return 0, false
}

// empty reports whether no day at all is in the set; prepare must have run.
func (s *days) empty() bool {
	if s.month == 0 {
		return true
	}
	_, ok := s.next(0)
	return !ok
}

// intersect narrows s to the days also in o. Both must use the AND rule
// (every-language sets never use cron's OR). It reports false when the two
// cycles cannot be combined into one.
func (s *days) intersect(o days) bool {
	s.dom &= o.dom
	s.month &= o.month
	s.dow &= o.dow
	switch {
	case o.leap == 0:
	case s.leap == 0:
		s.leap = o.leap
	case s.leap != o.leap:
		s.month = 0
	}
	switch {
	case o.cycle <= 1:
	case s.cycle <= 1:
		s.cycle, s.cycleStart, s.cycleLen = o.cycle, o.cycleStart, o.cycleLen
	case s.cycle == o.cycle:
		// Two runs in the same cycle: keep their overlap when one holds
		// the other, which is every case the language produces.
		a0, b0 := floorMod(s.cycleStart, s.cycle), floorMod(o.cycleStart, s.cycle)
		switch {
		case within(b0, o.cycleLen, a0, s.cycleLen, s.cycle):
			s.cycleStart, s.cycleLen = b0, o.cycleLen
		case within(a0, s.cycleLen, b0, o.cycleLen, s.cycle):
		default:
			return false
		}
	default:
		return false
	}
	return true
}

// within reports whether the run [a, a+alen) lies inside [b, b+blen),
// modulo n.
func within(a, alen, b, blen, n int64) bool {
	off := floorMod(a-b, n)
	return off+alen <= blen
}
