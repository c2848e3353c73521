package compile

import (
	"runtime"
	"testing"
	"time"
)

// 04:00 is a product clock, the same in both dialects; a set that is not
// a product is a bitmap, shared by every schedule that has it.
func TestClocksAreShared(t *testing.T) {
	a := mustParse(t, "0 4 * * *")
	b := mustParse(t, "0 4 * * mon")
	c := mustParse(t, "every 1d @ 04:00")
	if a.terms[0].clock.bits != nil || a.terms[0].clock != b.terms[0].clock || a.terms[0].clock != c.terms[0].clock {
		t.Error("04:00 every day, on Mondays and in the every-language are not one product clock")
	}
	d := mustParse(t, "every 7m")
	e := mustParse(t, "every 7m in America/New_York")
	f := mustParse(t, "every 11m")
	if d.terms[0].clock.bits == nil || d.terms[0].clock.bits != e.terms[0].clock.bits {
		t.Error("every 7m in two zones does not share one bitmap")
	}
	if d.terms[0].clock.bits == f.terms[0].clock.bits {
		t.Error("every 7m and every 11m share a bitmap")
	}
	// The shared clock still answers for each.
	from := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // a Tuesday
	if n, _ := b.Next(from); !n.Equal(time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("0 4 * * mon after %v: %v", from, n)
	}
}

func TestUnusedClocksLeaveTheTable(t *testing.T) {
	before := interned()
	s := mustParse(t, "every 13m offset 41s")
	s2 := mustParse(t, "every 13m offset 41s in UTC")
	if interned() != before+1 {
		t.Fatalf("the table grew by %d for one new clock", interned()-before)
	}
	runtime.KeepAlive(s)
	runtime.KeepAlive(s2)
	s, s2 = nil, nil
	// The cleanup runs after a collection, on the runtime's own goroutine.
	for i := 0; i < 200 && interned() > before; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if interned() > before {
		t.Errorf("the table holds %d clocks after their schedules were dropped, want %d", interned(), before)
	}
}

func mustParse(t *testing.T, src string) *Schedule {
	t.Helper()
	s, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
