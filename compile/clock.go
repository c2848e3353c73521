package compile

import "math/bits"

// clock is a set of seconds of the day, 0 to 86399: the wall-clock times at
// which a term fires on the days it holds. It is a bitset with two summary
// levels, so "the first second at or after s" costs a few shifts and
// trailing-zero counts whatever the set looks like — a crontab minute list,
// a window that wraps past midnight, or every 7 minutes restarting at
// midnight.
//
// A full clock is 11 KiB. Schedules hold a handful, and sharing one
// representation for every shape of day keeps Next simple and the same speed
// for both dialects.
type clock struct {
	words [clockWords]uint64 // bit s%64 of words[s/64]: second s is in the set
	sum   [clockSums]uint64  // bit i%64 of sum[i/64]: words[i] is not empty
	top   uint64             // bit j: sum[j] is not empty
	first int                // the earliest second, or -1 when empty; set by seal
}

const (
	clockWords = (daySec + 63) / 64     // 1350
	clockSums  = (clockWords + 63) / 64 // 22
)

func newClock() *clock { return &clock{first: -1} }

// add puts second s into the set. The summary levels follow every change;
// seal must be called before first is read.
func (c *clock) add(s int64) {
	w := s >> 6
	c.words[w] |= 1 << (s & 63)
	c.mark(w)
}

// mark records that word w is not empty.
func (c *clock) mark(w int64) {
	c.sum[w>>6] |= 1 << (w & 63)
	c.top |= 1 << (w >> 6)
}

// addRange puts the seconds lo <= s < hi into the set.
func (c *clock) addRange(lo, hi int64) {
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
func (c *clock) markRange(w0, w1 int64) {
	for j := w0 >> 6; j <= w1>>6; j++ {
		lo, hi := max(w0, j<<6)-j<<6, min(w1, j<<6+63)-j<<6
		c.sum[j] |= (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
		c.top |= 1 << j
	}
}

// keep clears every second outside the ranges.
func (c *clock) keep(rs []secRange) {
	var in clock
	for _, r := range rs {
		in.addRange(r.lo, r.hi)
	}
	for i := range c.words {
		c.words[i] &= in.words[i]
	}
	c.summarize()
}

// union adds the seconds of o.
func (c *clock) union(o *clock) {
	for i := range c.words {
		c.words[i] |= o.words[i]
	}
	c.summarize()
}

// summarize rebuilds the summary levels from the words.
func (c *clock) summarize() {
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

// seal records the earliest second once the set is final.
func (c *clock) seal() *clock {
	c.first = -1
	if f, ok := c.next(0); ok {
		c.first = int(f)
	}
	return c
}

func (c *clock) empty() bool { return c.top == 0 }

// next returns the smallest second >= s in the set, and false if there is
// none before the end of the day.
func (c *clock) next(s int64) (int64, bool) {
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
