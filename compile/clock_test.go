package compile

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// A product clock answers as the bitmap of the same seconds does, at
// every second of the day; seal finds the product in a bitmap that is
// one, and only then.
func TestClockForms(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 40 {
		// Sparse masks, dense ones and single values.
		mask := func(n uint) uint64 {
			switch i % 3 {
			case 0:
				return 1 << r.UintN(n)
			case 1:
				return r.Uint64() & (1<<n - 1)
			}
			return r.Uint64() & r.Uint64() & r.Uint64() & (1<<n - 1)
		}
		h, m, s := uint32(mask(24)), mask(60), mask(60)
		prod := productClock(h, m, s)
		bm := productClock(h, m, s)
		bm.bitmap()
		if h == 0 || m == 0 || s == 0 {
			if !prod.seal().empty() || !bm.seal().empty() {
				t.Fatalf("%x %x %x: empty product, but a clock is not empty", h, m, s)
			}
			continue
		}
		bmSealed := bm.clone()
		bmSealed.first, bmSealed.last = -1, -1
		if l, _ := bmSealed.latest(); true {
			f, _ := bmSealed.bits.next(0)
			bmSealed.first, bmSealed.last = int32(f), int32(l) // sealed as a bitmap, not turned into a product
		}
		prod.seal()
		for sec := int64(0); sec <= daySec; sec++ {
			a, aok := prod.next(sec)
			b, bok := bm.bits.next(sec)
			c, cok := bmSealed.next(sec)
			if a != b || aok != bok || c != b || cok != bok {
				t.Fatalf("%x %x %x: next(%d) is %d %v as a product, %d %v as a bitmap, %d %v as a sealed bitmap", h, m, s, sec, a, aok, b, bok, c, cok)
			}
		}
		bm.seal()
		if bm.bits != nil || bm != prod {
			t.Fatalf("%x %x %x: seal did not find the product (%+v)", h, m, s, bm)
		}
	}
	// Sets that are not products stay bitmaps.
	for _, set := range [][]int64{{0, 3600 + 60}, {60, 120, 3600 + 60}, {7 * 60, 14 * 60, 21 * 60, 28 * 60, 35 * 60, 42 * 60, 49 * 60, 56 * 60, 63 * 60}} {
		c := newClock()
		for _, s := range set {
			c.add(s)
		}
		if c.seal(); c.bits == nil {
			t.Errorf("%v: not a product, but sealed as one", set)
		}
		if n := bits.OnesCount64(c.bits.words[0]); set[0] == 0 && n == 0 {
			t.Errorf("%v: lost", set)
		}
	}
}
