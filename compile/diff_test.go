package compile

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestDiff compares schedules of both dialects exactly.
func TestDiff(t *testing.T) {
	after := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		a, b string
		loc  *time.Location
		want Relation
		wits []string // "kind RFC3339"
	}{
		{"every 2h", "0 */2 * * *", time.UTC, RelEqual, []string{"both 2026-12-06T12:00:00Z"}},
		{"every 1h @ 0m, 10m, 20m, 40m, 50m", "00,10,20,30,40,50 * * * *", time.UTC, RelSubset,
			[]string{"only B 2026-12-06T10:30:00Z", "both 2026-12-06T10:10:00Z"}},
		{"00,10,20,30,40,50 * * * *", "every 1h @ 0m, 10m, 20m, 40m, 50m", time.UTC, RelSuperset,
			[]string{"only A 2026-12-06T10:30:00Z", "both 2026-12-06T10:10:00Z"}},
		{"0 4 * * *", "0 5 * * *", time.UTC, RelDisjoint, []string{"only A 2026-12-07T04:00:00Z", "only B 2026-12-07T05:00:00Z"}},
		{"*/15 * * * *", "*/10 * * * *", time.UTC, RelOverlap,
			[]string{"only A 2026-12-06T10:15:00Z", "only B 2026-12-06T10:10:00Z", "both 2026-12-06T10:30:00Z"}},
		// Once in four years: found all the same, at its first.
		{"0 0 29 2 *", "0 0 * * *", time.UTC, RelSubset, []string{"only B 2026-12-07T00:00:00Z", "both 2028-02-29T00:00:00Z"}},
		// Cron's OR of two day fields against the every-language.
		{"0 9 1 * mon", "every monday @ 09:00", time.UTC, RelSuperset, []string{"only A 2027-01-01T09:00:00Z", "both 2026-12-07T09:00:00Z"}},
		{"30 2 * * *", "30 * * * *", ny, RelSubset, []string{"only B 2026-12-06T05:30:00-05:00", "both 2026-12-07T02:30:00-05:00"}},
	}
	for _, tt := range tests {
		a, err := ParseIn(tt.a, tt.loc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseIn(tt.b, tt.loc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Diff(a, b, after)
		if err != nil {
			t.Fatalf("%s vs %s: %v", tt.a, tt.b, err)
		}
		var wits []string
		for _, w := range got.Witnesses {
			wits = append(wits, w.Kind+" "+w.At.Format(time.RFC3339))
		}
		if got.Relation != tt.want || strings.Join(wits, "|") != strings.Join(tt.wits, "|") {
			t.Errorf("%q vs %q: %s %q, want %s %q", tt.a, tt.b, got.Relation, wits, tt.want, tt.wits)
		}
	}
}

// TestDiffDST: the same wall-clock set under two DST policies.
func TestDiffDST(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	a, _ := ParseIn("30 2 * * *", ny)
	gap, err := ParseGap("skip")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Diff(a, a.WithDST(DST{Gap: gap}), time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got.Relation != RelEqualExceptDST || len(got.Witnesses) != 1 || got.Witnesses[0].At.Format(time.RFC3339) != "2027-03-14T03:00:00-04:00" || got.Witnesses[0].Kind != "only A" {
		t.Errorf("got %+v; want equal except at DST changes, only A at the gap's end on 2027-03-14", got)
	}
}

// TestDiffAgreesWithBruteForce: random crontab lines of minute, hour and
// weekday fields repeat every week; diff's relation must be the one two
// weeks of fires show.
func TestDiffAgreesWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	field := func(max int) string {
		switch r.IntN(4) {
		case 0:
			return "*"
		case 1:
			return fmt.Sprintf("*/%d", 1+r.IntN(max/2))
		case 2:
			a := r.IntN(max)
			return fmt.Sprintf("%d-%d", a, a+r.IntN(max-a))
		}
		return fmt.Sprintf("%d,%d", r.IntN(max), r.IntN(max))
	}
	line := func() string { return fmt.Sprintf("%s %s * * %s", field(60), field(24), field(7)) }
	after := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	checked := 0
	for range 80 {
		la, lb := line(), line()
		a, err1 := Parse(la)
		b, err2 := Parse(lb)
		if err1 != nil || err2 != nil {
			continue
		}
		checked++
		got, err := Diff(a, b, after)
		if err != nil {
			t.Fatal(err)
		}
		fa, fb := fires(a, after, 14), fires(b, after, 14)
		want := relationOf(fa, fb)
		if got.Relation != want {
			t.Errorf("%q vs %q: diff says %s, two weeks of fires %s", la, lb, got.Relation, want)
		}
	}
	if checked < 40 {
		t.Errorf("only %d pairs compiled", checked)
	}
}

// relationOf is the relation of two sets of fires, counted out.
func relationOf(fa, fb map[int64]bool) Relation {
	var onlyA, onlyB, both bool
	for at := range fa {
		if fb[at] {
			both = true
		} else {
			onlyA = true
		}
	}
	for at := range fb {
		onlyB = onlyB || !fa[at]
	}
	switch {
	case !onlyA && !onlyB:
		return RelEqual
	case !both:
		return RelDisjoint
	case onlyA && onlyB:
		return RelOverlap
	case onlyB:
		return RelSubset
	}
	return RelSuperset
}

func fires(s *Schedule, after time.Time, days int) map[int64]bool {
	out := map[int64]bool{}
	end := after.AddDate(0, 0, days)
	for at, ok := s.Next(after); ok && at.Before(end); at, ok = s.Next(at) {
		out[at.Unix()] = true
	}
	return out
}

// TestDiffDaysAgreesWithBruteForce: random daily crontab lines with day
// of month, month and weekday fields, compared by diff and by walking all
// their fires over the whole 400-year cycle (at most one a day: a brute
// force that is exact too).
func TestDiffDaysAgreesWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	line := func() string {
		return fmt.Sprintf("0 %s %s %s %s", pick("4", "5"), pick("*", "1", "13", "29", "30,31", "1-7", "*/10"),
			pick("*", "2", "1,7", "2-3", "*/3"), pick("*", "1", "5", "0,6", "1-5"))
	}
	after := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 25 {
		la, lb := line(), line()
		a, err1 := Parse(la)
		b, err2 := Parse(lb)
		if err1 != nil || err2 != nil {
			continue // never fires (30 2 …)
		}
		got, err := Diff(a, b, after)
		if err != nil {
			t.Fatal(err)
		}
		fa, fb := fires(a, after, 146097), fires(b, after, 146097)
		want := relationOf(fa, fb)
		if got.Relation != want {
			t.Errorf("%q vs %q: diff says %s, 400 years of fires %s", la, lb, got.Relation, want)
		}
	}
}
