package compile

import (
	"fmt"
	"math/bits"
	"time"
)

// Relation is how two schedules' fire sets compare (Diff).
type Relation string

const (
	RelEqual    Relation = "equal"
	RelSubset   Relation = "subset"   // every fire of A is one of B, and B has more
	RelSuperset Relation = "superset" // every fire of B is one of A, and A has more
	RelOverlap  Relation = "overlap"  // they share fires, and each has its own
	RelDisjoint Relation = "disjoint" // no fire in common
	// RelEqualExceptDST: the same wall-clock times, but not the same
	// instants around a DST change (their DST policies differ).
	RelEqualExceptDST Relation = "equal except at DST changes"
)

// Witness is an instant that shows a difference or a fire in common.
type Witness struct {
	At   time.Time
	Kind string // "only A", "only B" or "both"
}

// Comparison is what Diff found.
type Comparison struct {
	Relation  Relation
	Witnesses []Witness // the first instant after the start of each kind that exists
}

// diffYears is how far Diff compares the instants around DST changes,
// once the wall-clock sets are equal.
const diffYears = 5

// maxDiffTerms bounds the terms of a schedule Diff takes.
const maxDiffTerms = 64

// daySig is which terms of each schedule have a day: days alike compare
// alike, and are compared once.
type daySig struct{ a, b uint64 }

// termsOn is the set of terms (by index) that day is a day of.
func termsOn(terms []term, day int64) uint64 {
	var set uint64
	for j := range terms {
		if n, ok := terms[j].days.next(day); ok && n == day {
			set |= 1 << j
		}
	}
	return set
}

// relation is the relation of two sets of instants by whether some are
// A's only, B's only, and both's.
func relation(onlyA, onlyB, both bool) Relation {
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

// Diff compares two schedules exactly, over the whole cycle in which their
// wall-clock sets repeat (400 years of the Gregorian calendar, times the
// length of any day cycle like every 2w), never by sampling: day by day,
// it compares the seconds of the day each schedule fires at, once per
// distinct combination of its terms. Both must be in the same zone.
// Witnesses are looked for from after. When the wall-clock sets are equal,
// the instants around the zone's DST changes of the next years are
// compared too: two DST policies make RelEqualExceptDST.
func Diff(a, b *Schedule, after time.Time) (Comparison, error) {
	if a.loc.String() != b.loc.String() {
		return Comparison{}, fmt.Errorf("the schedules are in different zones, %s and %s: diff compares wall-clock times in one zone", a.loc, b.loc)
	}
	if len(a.terms) > maxDiffTerms || len(b.terms) > maxDiffTerms {
		return Comparison{}, fmt.Errorf("a schedule of more than %d terms is too large to compare", maxDiffTerms)
	}
	period := int64(146097) // days in 400 Gregorian years
	for _, t := range append(a.terms[:len(a.terms):len(a.terms)], b.terms...) {
		if c := t.days.cycle; c > 1 {
			period = lcm(period, c)
		}
	}
	start := after.In(a.loc)
	d0 := dayNumber(int64(start.Year()), int(start.Month()), start.Day())
	s0 := int64(start.Hour()*3600 + start.Minute()*60 + start.Second() + 1) // strictly after

	type cmp struct {
		onlyA, onlyB, both bitmap
		flags              [3]bool
	}
	memo := map[daySig]*cmp{}
	var found [3]bool
	first := [3]Witness{}
	have := [3]bool{}
	kinds := [3]string{"only A", "only B", "both"}
	for i := int64(0); i <= period; i++ {
		day := d0 + i
		k := daySig{termsOn(a.terms, day), termsOn(b.terms, day)}
		c := memo[k]
		if c == nil {
			ua, ub := unionClocks(a.terms, k.a), unionClocks(b.terms, k.b)
			c = &cmp{onlyA: ua.andNot(ub), onlyB: ub.andNot(ua), both: ua.and(ub)}
			c.flags = [3]bool{!c.onlyA.empty(), !c.onlyB.empty(), !c.both.empty()}
			memo[k] = c
		}
		if i < period { // day d0+period is day d0 again: only for witnesses
			for j := range found {
				found[j] = found[j] || c.flags[j]
			}
		}
		for j, set := range [3]*bitmap{&c.onlyA, &c.onlyB, &c.both} {
			if have[j] || !c.flags[j] {
				continue
			}
			from := int64(0)
			if i == 0 {
				from = s0
			}
			if s, ok := set.next(from); ok && (i < period || s < s0) {
				have[j] = true
				first[j] = Witness{At: wallInstant(day, s, a.loc), Kind: kinds[j]}
			}
		}
	}
	out := Comparison{Relation: relation(found[0], found[1], found[2])}
	for j := range first {
		if have[j] {
			out.Witnesses = append(out.Witnesses, first[j])
		}
	}
	if out.Relation == RelEqual {
		if w, ok := dstDifference(a, b, after); ok {
			out.Relation, out.Witnesses = RelEqualExceptDST, []Witness{w}
		}
	}
	return out, nil
}

// dstDifference compares the instants of a and b around each DST change
// of the next diffYears years and returns the first that only one has.
func dstDifference(a, b *Schedule, after time.Time) (Witness, bool) {
	z := zoneOf(a.loc)
	if z.fixed {
		return Witness{}, false
	}
	end := after.AddDate(diffYears, 0, 0).Unix()
	for sp := z.at(after.Unix()); sp.start < end && sp.end < noEnd; sp = z.after(sp) {
		// The window around the change that ends this span.
		from, to := time.Unix(sp.end-26*3600, 0), time.Unix(sp.end+26*3600, 0)
		if from.Before(after) {
			from = after
		}
		na, oka := a.Next(from)
		nb, okb := b.Next(from)
		for n := 0; n < 1_000_000 && (oka && na.Before(to) || okb && nb.Before(to)); n++ {
			switch {
			case oka && (!okb || na.Before(nb)):
				return Witness{At: na, Kind: "only A"}, true
			case okb && (!oka || nb.Before(na)):
				return Witness{At: nb, Kind: "only B"}, true
			}
			na, oka = a.Next(na)
			nb, okb = b.Next(nb)
		}
		if sp.i < 0 {
			break
		}
	}
	return Witness{}, false
}

// wallInstant is the instant of second s of day (days since 1970-01-01)
// on the zone's wall clock.
func wallInstant(day, s int64, loc *time.Location) time.Time {
	y, m, d := civil(day)
	return time.Date(int(y), time.Month(m), d, int(s/3600), int(s%3600/60), int(s%60), 0, loc)
}

func lcm(a, b int64) int64 { return a / gcd(a, b) * b }

// bitmap is a set of seconds of the day.
type bitmap [clockWords]uint64

// unionClocks is the union of the clocks of the terms whose bits are in
// mask.
func unionClocks(terms []term, mask uint64) bitmap {
	var out bitmap
	for j := range terms {
		if mask&(1<<j) == 0 {
			continue
		}
		c := &terms[j].clock
		if c.bits != nil {
			for w := range out {
				out[w] |= c.bits.words[w]
			}
			continue
		}
		for h := range 24 {
			if c.hours&(1<<h) == 0 {
				continue
			}
			for m := range 60 {
				if c.minutes&(1<<m) == 0 {
					continue
				}
				for s := range 60 {
					if c.seconds&(1<<s) != 0 {
						x := h*3600 + m*60 + s
						out[x/64] |= 1 << (x % 64)
					}
				}
			}
		}
	}
	return out
}

func (x bitmap) andNot(y bitmap) bitmap {
	for i := range x {
		x[i] &^= y[i]
	}
	return x
}

func (x bitmap) and(y bitmap) bitmap {
	for i := range x {
		x[i] &= y[i]
	}
	return x
}

func (x *bitmap) empty() bool {
	for _, w := range x {
		if w != 0 {
			return false
		}
	}
	return true
}

// next is the first second >= s in the set.
func (x *bitmap) next(s int64) (int64, bool) {
	for i := s / 64; i < clockWords; i++ {
		w := x[i]
		if i == s/64 {
			w &= ^uint64(0) << (s % 64)
		}
		if w != 0 {
			return i*64 + int64(bits.TrailingZeros64(w)), true
		}
	}
	return 0, false
}
