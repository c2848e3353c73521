package compile

import (
	"fmt"
	"time"
)

// DSTNotes describes, in words, what the DST changes of the year after from
// do to the schedule: wall times that a spring-forward gap swallows or a
// fall-back overlap repeats, what the schedule's DST policy does with them,
// and, one line each, what the other policies would do instead. It reports
// the first gap and the first overlap that touch the schedule, for `kopf
// check`.
func (s *Schedule) DSTNotes(from time.Time) []string {
	var notes []string
	seen := map[string]bool{}
	for i := range s.terms {
		for _, n := range s.terms[i].dstNotes(from.Unix(), from.AddDate(1, 0, 0).Unix()) {
			if !seen[n] {
				seen[n] = true
				notes = append(notes, n)
			}
		}
	}
	return notes
}

func (t *term) dstNotes(from, to int64) []string {
	if t.zone.fixed {
		return nil
	}
	var notes []string
	var gap, overlap bool
	for u := from; u < to && !(gap && overlap); {
		sp := t.zone.at(u)
		if sp.end >= to {
			break
		}
		nx := t.zone.at(sp.end)
		lo, hi := sp.end+min(sp.off, nx.off), sp.end+max(sp.off, nx.off)
		if w, ok := t.nextWall(lo); ok && w < hi {
			day := time.Unix(w, 0).UTC().Format("2006-01-02")
			where := t.zone.loc.String()
			// A fixed-time term names its one time; a wildcard one the
			// stretch of wall time the change affects.
			what := fmt.Sprintf("on %s the wall times from %s to %s", day, time.Unix(lo, 0).UTC().Format("15:04"), time.Unix(hi, 0).UTC().Format("15:04"))
			if t.fixed {
				what = fmt.Sprintf("on %s %s", day, time.Unix(w, 0).UTC().Format("15:04:05"))
			}
			switch {
			case nx.off > sp.off && !gap:
				gap = true
				at := time.Unix(sp.end, 0).In(t.zone.loc).Format("15:04:05 MST")
				do := func(shift bool) string {
					switch {
					case t.fixed && shift:
						return "this fire time moves to " + at
					case t.fixed:
						return "this fire time is skipped that day"
					case shift:
						return "fire times in between fire once, at " + at
					}
					return "fire times in between are skipped"
				}
				verb := "does not exist"
				if !t.fixed {
					verb = "do not exist"
				}
				notes = append(notes, fmt.Sprintf("%s %s in %s (clocks go forward); %s", what, verb, where, do(t.shift)))
				for _, g := range []Gap{GapShift, GapSkip} {
					if (g == GapShift) != t.shift {
						notes = append(notes, fmt.Sprintf("with dst gap %q instead, %s", g, do(g == GapShift)))
					}
				}
			case nx.off < sp.off && !overlap:
				overlap = true
				do := func(o Overlap) string {
					pass := map[Overlap]string{OverlapFirst: "on the first pass only", OverlapSecond: "on the second pass only", OverlapBoth: "on both passes"}[o]
					if t.fixed {
						return "this schedule fires " + pass
					}
					if o == OverlapBoth {
						return "fire times in between fire twice"
					}
					return "fire times in between fire " + pass
				}
				verb := "happens twice"
				if !t.fixed {
					verb = "happen twice"
				}
				notes = append(notes, fmt.Sprintf("%s %s in %s (clocks go back); %s", what, verb, where, do(t.overlap)))
				for _, o := range []Overlap{OverlapFirst, OverlapSecond, OverlapBoth} {
					if o != t.overlap {
						notes = append(notes, fmt.Sprintf("with dst overlap %q instead, %s", o, do(o)))
					}
				}
			}
		}
		u = sp.end
	}
	return notes
}
