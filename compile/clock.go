package compile

import (
	"math/bits"
	"sync"
)

// clock is a set of seconds of the day, 0 to 86399: the wall-clock times at
// which a term fires on the days it holds. It has two forms.
//
// A product is the seconds whose hour, minute and second are in three bit
// masks: every crontab line ("*/15 9-17 * * *" is hours 9..17 × minutes
// 0,15,30,45 × second 0), and most every-clauses ("every 10m", "@ 04:15",
// "every 10m every 1d @ 10:00-01:00"). It is 24 bytes inside the term, and
// "the first second at or after s" is a few shifts.
//
// Any other set (every 7 minutes restarting at midnight, every 10 minutes
// in a window from 10:30 to 11:15) is a bitmap of the day with two summary
// levels (clockBits), so that the same question costs a few shifts and
// trailing-zero counts whatever the set looks like. A bitmap is 11 KiB;
// identical ones are shared (intern.go).
//
// Compiling builds a clock in either form; the set operations (add,
// keep, union) turn a product into a bitmap, and seal turns a bitmap that
// is a product back into one.
type clock struct {
	hours   uint32     // the product form: bit h for hour h,
	first   int32      // the earliest second, or -1 when empty; set by seal
	last    int32      // the latest second, or -1 when empty; set by seal
	minutes uint64     // bit m for minute m,
	seconds uint64     // bit s for second s
	bits    *clockBits // the bitmap form; nil for a product
}

// clockBits is the bitmap form of a clock.
type clockBits struct {
	words [clockWords]uint64 // bit s%64 of words[s/64]: second s is in the set
	sum   [clockSums]uint64  // bit i%64 of sum[i/64]: words[i] is not empty
	top   uint64             // bit j: sum[j] is not empty
}

const (
	clockWords = (daySec + 63) / 64     // 1350
	clockSums  = (clockWords + 63) / 64 // 22
)

// newClock returns an empty clock in the bitmap form, to be built by add,
// addRange, keep and union.
func newClock() clock { return clock{bits: newBits(), first: -1, last: -1} }

// Bitmaps being built come from a pool: most end up equal to one already
// in use (intern), and compiling a line should not allocate and clear 11
// KiB for nothing. CompileWith puts back those it does not keep.
var bitsPool = sync.Pool{New: func() any { return new(clockBits) }}

// newBits returns an empty bitmap.
func newBits() *clockBits {
	b := bitsPool.Get().(*clockBits)
	*b = clockBits{}
	return b
}

// productClock returns the clock of the seconds whose hour, minute and
// second are in the masks.
func productClock(hours uint32, minutes, seconds uint64) clock {
	return clock{hours: hours, minutes: minutes, seconds: seconds, first: -1, last: -1}
}

// pointClock returns the clock of the one second s of the day.
func pointClock(s int64) clock {
	return productClock(1<<(s/3600), 1<<(s/60%60), 1<<(s%60))
}

// gridClock returns the clock of the seconds p, p+step, p+2·step, … of the
// day (p < step), and whether it is a product: it is when step divides a
// minute, or is whole minutes dividing an hour, or whole hours dividing a
// day ("every 15s", "every 10m offset 1m", "every 2h").
func gridClock(p, step int64) (clock, bool) {
	grid := func(first, step, n int64) uint64 {
		var m uint64
		for v := first; v < n; v += step {
			m |= 1 << v
		}
		return m
	}
	switch {
	case step <= 0:
	case 60%step == 0:
		return productClock(1<<24-1, 1<<60-1, grid(p, step, 60)), true
	case step%60 == 0 && 3600%step == 0:
		return productClock(1<<24-1, grid(p/60, step/60, 60), 1<<(p%60)), true
	case step%3600 == 0 && daySec%step == 0:
		return productClock(uint32(grid(p/3600, step/3600, 24)), 1<<(p/60%60), 1<<(p%60)), true
	}
	return clock{}, false
}

// clone returns a clock of the same seconds that shares nothing with c.
func (c clock) clone() clock {
	if c.bits != nil {
		b := newBits()
		*b = *c.bits
		c.bits = b
	}
	return c
}

// bitmap returns c's bitmap, turning a product into one first.
func (c *clock) bitmap() *clockBits {
	if c.bits == nil {
		b := newBits()
		for h := c.hours; h != 0; h &= h - 1 {
			hs := int64(bits.TrailingZeros32(h)) * 3600
			for m := c.minutes; m != 0; m &= m - 1 {
				ms := hs + int64(bits.TrailingZeros64(m))*60
				for s := c.seconds; s != 0; s &= s - 1 {
					b.add(ms + int64(bits.TrailingZeros64(s)))
				}
			}
		}
		c.bits = b
		c.hours, c.minutes, c.seconds = 0, 0, 0
	}
	return c.bits
}

// add puts second s into the set; seal must be called before first is read.
func (c *clock) add(s int64) { c.bitmap().add(s) }

// addRange puts the seconds lo <= s < hi into the set.
func (c *clock) addRange(lo, hi int64) { c.bitmap().addRange(lo, hi) }

// keep clears every second outside the ranges. A product stays one when
// the ranges are whole hours ("@ 10:00-01:00").
func (c *clock) keep(rs []secRange) {
	if c.bits == nil {
		var hours uint32
		whole := true
		for _, r := range rs {
			if r.lo%3600 != 0 || r.hi%3600 != 0 {
				whole = false
				break
			}
			hours |= uint32(1<<(r.hi/3600) - 1<<(r.lo/3600))
		}
		if whole {
			c.hours &= hours
			return
		}
	}
	c.bitmap().keep(rs)
}

// union adds the seconds of o. Two products that differ in one of hours,
// minutes and seconds unite into a product.
func (c *clock) union(o clock) {
	if c.bits == nil && o.bits == nil {
		switch {
		case c.hours == o.hours && c.minutes == o.minutes:
			c.seconds |= o.seconds
			return
		case c.hours == o.hours && c.seconds == o.seconds:
			c.minutes |= o.minutes
			return
		case c.minutes == o.minutes && c.seconds == o.seconds:
			c.hours |= o.hours
			return
		}
	}
	c.bitmap().union(o.bitmap())
}

// seal turns a bitmap that is a product into one and records the earliest
// second, once the set is final.
func (c *clock) seal() *clock {
	if c.bits != nil {
		if h, m, s, ok := c.bits.product(); ok {
			*c = productClock(h, m, s)
		}
	}
	c.first, c.last = -1, -1
	if f, ok := c.scan(0); ok {
		l, _ := c.latest()
		c.first, c.last = int32(f), int32(l)
	}
	return c
}

// latest returns the set's latest second.
func (c *clock) latest() (int64, bool) {
	if c.bits != nil {
		b := c.bits
		if b.top == 0 {
			return 0, false
		}
		j := 63 - bits.LeadingZeros64(b.top)
		w := j<<6 + 63 - bits.LeadingZeros64(b.sum[j])
		return int64(w<<6 + 63 - bits.LeadingZeros64(b.words[w])), true
	}
	if c.hours == 0 || c.minutes == 0 || c.seconds == 0 {
		return 0, false
	}
	h := int64(31 - bits.LeadingZeros32(c.hours))
	m := int64(63 - bits.LeadingZeros64(c.minutes))
	s := int64(63 - bits.LeadingZeros64(c.seconds))
	return h*3600 + m*60 + s, true
}

func (c *clock) empty() bool {
	if c.bits != nil {
		return c.bits.top == 0
	}
	return c.hours == 0 || c.minutes == 0 || c.seconds == 0
}

// next returns the smallest second >= s in the set, and false if there is
// none before the end of the day. The set must be sealed: the earliest and
// latest seconds answer most questions (a schedule that fires once a day
// is asked about a time before or after its one second).
func (c *clock) next(s int64) (int64, bool) {
	switch {
	case s <= int64(c.first):
		return int64(c.first), c.first >= 0
	case s > int64(c.last):
		return 0, false
	}
	return c.scan(s)
}

// scan is next without the earliest and latest seconds, which seal
// finds with it.
func (c *clock) scan(s int64) (int64, bool) {
	if c.bits != nil {
		return c.bits.next(s)
	}
	if s >= daySec {
		return 0, false
	}
	h := uint(s) / 3600
	r := uint(s) - h*3600
	m := r / 60
	x := r - m*60
	if c.hours>>h&1 != 0 {
		// A later second of this minute, or the first of a later minute
		// of this hour.
		if rest := c.seconds >> x; rest != 0 && c.minutes>>m&1 != 0 {
			return s + int64(bits.TrailingZeros64(rest)), true
		}
		if later := c.minutes &^ (2<<m - 1); later != 0 {
			return int64(h*3600 + uint(bits.TrailingZeros64(later))*60 + uint(bits.TrailingZeros64(c.seconds))), true
		}
	}
	// The first second of a later hour.
	later := c.hours &^ (2<<h - 1)
	if later == 0 {
		return 0, false
	}
	return int64(uint(bits.TrailingZeros32(later))*3600 + uint(bits.TrailingZeros64(c.minutes))*60 + uint(bits.TrailingZeros64(c.seconds))), true
}

// add puts second s into the set. The summary levels follow every change.
func (c *clockBits) add(s int64) {
	w := s >> 6
	c.words[w] |= 1 << (s & 63)
	c.mark(w)
}

// mark records that word w is not empty.
func (c *clockBits) mark(w int64) {
	c.sum[w>>6] |= 1 << (w & 63)
	c.top |= 1 << (w >> 6)
}

// addRange puts the seconds lo <= s < hi into the set.
func (c *clockBits) addRange(lo, hi int64) {
	for s := lo; s < hi; {
		w, b := s>>6, s&63
		n := min(64-b, hi-s)
		mask := ^uint64(0)
		if n < 64 {
			mask = (1<<n - 1) << b
		}
		c.words[w] |= mask
		s += n
	}
	if lo < hi {
		c.markRange(lo>>6, (hi-1)>>6)
	}
}

// markRange records that words w0..w1 are not empty.
func (c *clockBits) markRange(w0, w1 int64) {
	for j := w0 >> 6; j <= w1>>6; j++ {
		lo, hi := max(w0, j<<6)-j<<6, min(w1, j<<6+63)-j<<6
		c.sum[j] |= (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
		c.top |= 1 << j
	}
}

// keep clears every second outside the ranges.
func (c *clockBits) keep(rs []secRange) {
	var in clockBits
	for _, r := range rs {
		in.addRange(r.lo, r.hi)
	}
	for i := range c.words {
		c.words[i] &= in.words[i]
	}
	c.summarize()
}

// union adds the seconds of o.
func (c *clockBits) union(o *clockBits) {
	for i := range c.words {
		c.words[i] |= o.words[i]
	}
	c.summarize()
}

// summarize rebuilds the summary levels from the words.
func (c *clockBits) summarize() {
	c.top = 0
	for j := range c.sum {
		var m uint64
		words := c.words[j*64 : min(j*64+64, clockWords)]
		for i, w := range words {
			if w != 0 {
				m |= 1 << i
			}
		}
		c.sum[j] = m
		if m != 0 {
			c.top |= 1 << j
		}
	}
}

// product returns the hours, minutes and seconds of the set's seconds,
// and whether the set is all of their combinations: a set is always part
// of the product of its projections, and is the whole of it when it has
// as many seconds.
func (c *clockBits) product() (hours uint32, minutes, seconds uint64, ok bool) {
	n := 0
	for j := c.top; j != 0; j &= j - 1 {
		sj := bits.TrailingZeros64(j)
		for i := c.sum[sj]; i != 0; i &= i - 1 {
			wi := sj<<6 + bits.TrailingZeros64(i)
			for w := c.words[wi]; w != 0; w &= w - 1 {
				s := wi<<6 + bits.TrailingZeros64(w)
				hours |= 1 << (s / 3600)
				minutes |= 1 << (s / 60 % 60)
				seconds |= 1 << (s % 60)
				n++
			}
		}
	}
	size := bits.OnesCount32(hours) * bits.OnesCount64(minutes) * bits.OnesCount64(seconds)
	return hours, minutes, seconds, n > 0 && n == size
}

// next returns the smallest second >= s in the set, and false if there is
// none before the end of the day.
func (c *clockBits) next(s int64) (int64, bool) {
	if s >= daySec {
		return 0, false
	}
	w := s >> 6
	if b := c.words[w] >> (s & 63); b != 0 {
		return s + int64(bits.TrailingZeros64(b)), true
	}
	// The rest of word w is empty: find the next non-empty word.
	w++
	if w >= clockWords {
		return 0, false
	}
	j := w >> 6
	if b := c.sum[j] >> (w & 63); b != 0 {
		w += int64(bits.TrailingZeros64(b))
		return w<<6 + int64(bits.TrailingZeros64(c.words[w])), true
	}
	j++
	if j >= clockSums {
		return 0, false
	}
	t := c.top >> j
	if t == 0 {
		return 0, false
	}
	j += int64(bits.TrailingZeros64(t))
	w = j<<6 + int64(bits.TrailingZeros64(c.sum[j]))
	return w<<6 + int64(bits.TrailingZeros64(c.words[w])), true
}
