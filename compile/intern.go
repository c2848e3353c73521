package compile

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"weak"
)

// Clock bitmaps are interned: compiling the same set of seconds of the day
// again (the same schedule for another job) returns the bitmap already in
// use. A bitmap is 11 KiB and immutable once sealed, and a daemon with
// 100k jobs has few distinct ones. The table holds them weakly: a bitmap
// no schedule uses any more is collected, and its entry goes with it.
// (Most clocks are products, 24 bytes in their term, and need no table.)
var clocks = struct {
	sync.Mutex
	m map[uint64][]weak.Pointer[clockBits]
}{m: map[uint64][]weak.Pointer[clockBits]{}}

// intern returns the bitmap equal to c that is in use, or c.
func intern(c *clockBits) *clockBits {
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

// hash mixes the bitmap's non-empty words and their places, which the
// summary level finds without reading the 1,350 words. Equal bitmaps hash
// alike; intern compares whole bitmaps.
func (c *clockBits) hash() uint64 {
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
	live := slices.DeleteFunc(clocks.m[h], func(w weak.Pointer[clockBits]) bool { return w.Value() == nil })
	if len(live) == 0 {
		delete(clocks.m, h)
	} else {
		clocks.m[h] = live
	}
}

// interned is how many bitmaps the table holds, for tests.
func interned() int {
	clocks.Lock()
	defer clocks.Unlock()
	n := 0
	for _, ws := range clocks.m {
		n += len(ws)
	}
	return n
}
