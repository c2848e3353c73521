package compile

import (
	"runtime"
	"testing"
	"time"
)

func TestClocksAreShared(t *testing.T) {
	a := mustParse(t, "0 4 * * *")
	b := mustParse(t, "0 4 * * mon")
	c := mustParse(t, "every 1d @ 04:00")
	d := mustParse(t, "0 5 * * *")
	if a.terms[0].clock != b.terms[0].clock || a.terms[0].clock != c.terms[0].clock {
		t.Error("04:00 every day, on Mondays and in the every-language do not share one clock")
	}
	if a.terms[0].clock == d.terms[0].clock {
		t.Error("04:00 and 05:00 share a clock")
	}
	// The shared clock still answers for each.
	from := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // a Tuesday
	if n, _ := b.Next(from); !n.Equal(time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("0 4 * * mon after %v: %v", from, n)
	}
}

func TestUnusedClocksLeaveTheTable(t *testing.T) {
	before := interned()
	s := mustParse(t, "every 1d @ 03:17:41")
	s2 := mustParse(t, "every 1d @ 03:17:41 in UTC")
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
