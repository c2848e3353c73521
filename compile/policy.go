package compile

import (
	"fmt"
	"strings"
)

// Gap says what becomes of a wall-clock fire time that a spring-forward
// gap swallows.
type Gap uint8

// Overlap says which pass of a wall-clock time that a fall-back overlap
// repeats fires.
type Overlap uint8

// The DST policies. The zero values are cronie's rule, which tells
// fixed-time schedules (crontab lines whose minute and hour fields do not
// start with "*"; every-language schedules whose finest period is a day or
// longer) from wildcard ones: GapShift and OverlapFirst for the first,
// GapSkip and OverlapBoth for the second.
const (
	GapCronie Gap = iota
	GapShift      // fires once, at the first instant after the gap
	GapSkip       // does not fire
)

const (
	OverlapCronie Overlap = iota
	OverlapFirst          // fires on the first pass only
	OverlapSecond         // fires on the second pass only
	OverlapBoth           // fires on both passes
)

// DST is a schedule's policy for DST changes; either half may be left to
// cronie's rule.
type DST struct {
	Gap     Gap
	Overlap Overlap
}

var (
	gapNames     = [...]string{GapCronie: "", GapShift: "shift", GapSkip: "skip"}
	overlapNames = [...]string{OverlapCronie: "", OverlapFirst: "first", OverlapSecond: "second", OverlapBoth: "both"}
)

func (g Gap) String() string {
	if g == GapCronie {
		return "cronie"
	}
	return gapNames[g]
}

func (o Overlap) String() string {
	if o == OverlapCronie {
		return "cronie"
	}
	return overlapNames[o]
}

// ParseGap reads "shift" or "skip".
func ParseGap(s string) (Gap, error) {
	for g, n := range gapNames {
		if n != "" && n == s {
			return Gap(g), nil
		}
	}
	return 0, fmt.Errorf("unknown gap policy %q; expected shift or skip", s)
}

// ParseOverlap reads "first", "second" or "both".
func ParseOverlap(s string) (Overlap, error) {
	for o, n := range overlapNames {
		if n != "" && n == s {
			return Overlap(o), nil
		}
	}
	return 0, fmt.Errorf("unknown overlap policy %q; expected first, second or both", s)
}

func (p DST) String() string {
	var parts []string
	if p.Gap != GapCronie {
		parts = append(parts, "gap "+p.Gap.String())
	}
	if p.Overlap != OverlapCronie {
		parts = append(parts, "overlap "+p.Overlap.String())
	}
	if len(parts) == 0 {
		return "cronie's"
	}
	return strings.Join(parts, ", ")
}

// WithDST returns the schedule under policy p: each half of p that is set
// replaces cronie's rule, for every part of the schedule. The receiver is
// unchanged.
func (s *Schedule) WithDST(p DST) *Schedule {
	c := *s
	c.terms = make([]term, len(s.terms))
	for i, t := range s.terms {
		t.setDST(p)
		c.terms[i] = t
	}
	return &c
}

// setDST resolves the term's policy: p's halves where set, cronie's rule
// from t.fixed elsewhere.
func (t *term) setDST(p DST) {
	t.shift = t.fixed
	switch p.Gap {
	case GapShift:
		t.shift = true
	case GapSkip:
		t.shift = false
	}
	t.overlap = OverlapBoth
	if t.fixed {
		t.overlap = OverlapFirst
	}
	if p.Overlap != OverlapCronie {
		t.overlap = p.Overlap
	}
}
