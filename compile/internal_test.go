package compile

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The building blocks of the time-set representation, each checked against a
// brute-force reference.

func TestCivilMatchesTimePackage(t *testing.T) {
	for n := int64(-800000); n <= 800000; n += 37 {
		tm := time.Unix(n*daySec, 0).UTC()
		y, m, d := civil(n)
		if y != int64(tm.Year()) || m != int(tm.Month()) || d != tm.Day() {
			t.Fatalf("civil(%d) = %d-%d-%d, want %s", n, y, m, d, tm.Format(time.DateOnly))
		}
		if got := dayNumber(y, m, d); got != n {
			t.Fatalf("dayNumber(%d, %d, %d) = %d, want %d", y, m, d, got, n)
		}
		if got := weekday(n); got != int(tm.Weekday()) {
			t.Fatalf("weekday(%d) = %d, want %d", n, got, tm.Weekday())
		}
		if got := monthLen(y, m); got != time.Date(int(y), time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
			t.Fatalf("monthLen(%d, %d) = %d", y, m, got)
		}
	}
}

func TestClockNextAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		c := newClock()
		var set []bool = make([]bool, daySec)
		n := []int{0, 1, 3, 50, 2000}[round%5]
		for range n {
			s := r.Int64N(daySec)
			c.add(s)
			set[s] = true
		}
		if round%7 == 0 {
			lo := r.Int64N(daySec)
			hi := lo + r.Int64N(daySec-lo+1)
			c.addRange(lo, hi)
			for s := lo; s < hi; s++ {
				set[s] = true
			}
		}
		c.seal()
		want := -1
		for s := daySec - 1; s >= 0; s-- {
			if set[s] {
				want = s
			}
			if s%97 == 0 || s == daySec-1 || want == s {
				got, ok := c.next(int64(s))
				if (want >= 0) != ok || (ok && got != int64(want)) {
					t.Fatalf("round %d: next(%d) = %d, %v; want %d", round, s, got, ok, want)
				}
			}
		}
		if int(c.first) != want {
			t.Fatalf("round %d: first = %d, want %d", round, c.first, want)
		}
	}
}

// holds is the reference predicate for a day set, one day at a time.
func (s *days) holds(n int64) bool {
	y, m, d := civil(n)
	if s.month&(1<<m) == 0 || !s.yearOK(y) {
		return false
	}
	domOK, dowOK := s.dom&(1<<d) != 0, s.dow&(1<<weekday(n)) != 0
	ok := domOK && dowOK
	if s.either {
		ok = domOK || dowOK
	}
	if s.cycle > 1 && floorMod(n-s.cycleStart, s.cycle) >= s.cycleLen {
		return false
	}
	return ok
}

func TestDaysNextAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 3000 {
		s := days{
			dom:    uint32(r.Uint64()) & allDom,
			month:  uint16(r.Uint64()) & allMonth,
			dow:    uint8(r.Uint64()) & allDow,
			either: r.IntN(2) == 0,
		}
		switch r.IntN(4) {
		case 0:
			s.dom = allDom
		case 1:
			s.dow = allDow
		}
		if r.IntN(3) == 0 {
			s.month = allMonth
		}
		if r.IntN(5) == 0 {
			s.leap = int8(r.IntN(2)*2 - 1)
		}
		if r.IntN(3) == 0 {
			s.cycle = []int64{2, 3, 14, 33, 34, 90}[r.IntN(6)]
			s.cycleStart = r.Int64N(1000) - 500
			s.cycleLen = 1 + r.Int64N(s.cycle)
		}
		s.prepare()
		from := r.Int64N(200000) - 100000
		want, found := int64(0), false
		for n := from; n < from+3*366; n++ {
			if s.holds(n) {
				want, found = n, true
				break
			}
		}
		got, ok := s.next(from)
		if found && (!ok || got != want) {
			t.Fatalf("round %d: %+v.next(%d) = %d, %v; want %d", round, s, from, got, ok, want)
		}
		if !found && ok && got < from+3*366 {
			t.Fatalf("round %d: %+v.next(%d) = %d, but the scan finds nothing before %d", round, s, from, got, from+3*366)
		}
		if ok && !s.holds(got) {
			t.Fatalf("round %d: next(%d) = %d, which the set does not hold", round, from, got)
		}
	}
}

func TestZoneTableMatchesLocation(t *testing.T) {
	for _, name := range []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Europe/Dublin", "America/Sao_Paulo", "Pacific/Apia", "UTC"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("zone %s not installed: %v", name, err)
		}
		z := buildZone(loc)
		step := int64(3*3600 + 17)
		if testing.Short() {
			step *= 8
		}
		from := time.Date(1890, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		to := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		for u := from; u < to; u += step {
			sp := z.at(u)
			_, want := time.Unix(u, 0).In(loc).Zone()
			if sp.off != int64(want) {
				t.Fatalf("%s: offset at %s = %d, want %d", name, time.Unix(u, 0).UTC(), sp.off, want)
			}
			if !(sp.start <= u && u < sp.end) {
				t.Fatalf("%s: span [%d, %d) does not hold %d", name, sp.start, sp.end, u)
			}
			// The span's edges are real: the offset holds up to them.
			if sp.end != noEnd {
				_, last := time.Unix(sp.end-1, 0).In(loc).Zone()
				if int64(last) != sp.off {
					t.Fatalf("%s: offset just before span end %s is %d, want %d", name, time.Unix(sp.end, 0).UTC(), last, sp.off)
				}
			}
			if sp.start != noStart {
				_, prev := time.Unix(sp.start-1, 0).In(loc).Zone()
				if int64(prev) != sp.prev {
					t.Fatalf("%s: prev offset at %s = %d, want %d", name, time.Unix(sp.start, 0).UTC(), sp.prev, prev)
				}
			}
		}
	}
}
