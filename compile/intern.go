package compile

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"weak"
)

// Clocks are interned: compiling the same set of seconds of the day again
// (the same schedule for another job, or "0 4 * * *" and "0 4 * * mon",
// whose clocks are the same) returns the clock already in use. A clock is
// 11 KiB and immutable once sealed, and a daemon with 100k jobs has few
// distinct ones. The table holds them weakly: a clock no schedule uses any
// more is collected, and its entry goes with it.
var clocks = struct {
	sync.Mutex
	m map[uint64][]weak.Pointer[clock]
}{m: map[uint64][]weak.Pointer[clock]{}}

// intern returns the clock equal to c that is in use, or c, sealed.
func intern(c *clock) *clock {
	h := c.hash()
	clocks.Lock()
	defer clocks.Unlock()
	for _, w := range clocks.m[h] {
		if o := w.Value(); o != nil && *o == *c {
			return o
		}
	}
	clocks.m[h] = append(clocks.m[h], weak.Make(c))
	runtime.AddCleanup(c, forget, h)
	return c
}

// hash mixes the clock's non-empty words and their places, which the
// summary level finds without reading the 1,350 words: most clocks have a
// handful. Equal clocks hash alike; intern compares whole clocks.
func (c *clock) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		h ^= v
		h *= 1099511628211
		h ^= h >> 29
	}
	for j, sum := range c.sum {
		for m := sum; m != 0; m &= m - 1 {
			w := j<<6 + bits.TrailingZeros64(m)
			mix(uint64(w))
			mix(c.words[w])
		}
	}
	return h
}

// forget drops the collected clocks of a hash from the table.
func forget(h uint64) {
	clocks.Lock()
	defer clocks.Unlock()
	live := slices.DeleteFunc(clocks.m[h], func(w weak.Pointer[clock]) bool { return w.Value() == nil })
	if len(live) == 0 {
		delete(clocks.m, h)
	} else {
		clocks.m[h] = live
	}
}

// interned is how many clocks the table holds, for tests.
func interned() int {
	clocks.Lock()
	defer clocks.Unlock()
	n := 0
	for _, ws := range clocks.m {
		n += len(ws)
	}
	return n
}
