package compile

import (
	"fmt"
	"time"
)

// DSTNotes describes, in words, what the DST changes of the year after from
// do to the schedule: wall times that a spring-forward gap swallows or a
// fall-back overlap repeats, and what kopf does with them. It reports the
// first gap and the first overlap that touch the schedule, for `kopf check`.
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
			wall := time.Unix(w, 0).UTC().Format("15:04:05")
			where := t.zone.loc.String()
			switch {
			case nx.off > sp.off && !gap:
				gap = true
				if t.fixed {
					notes = append(notes, fmt.Sprintf("on %s %s does not exist in %s (clocks go forward); this fire time moves to %s",
						day, wall, where, time.Unix(sp.end, 0).In(t.zone.loc).Format("15:04:05 MST")))
				} else {
					notes = append(notes, fmt.Sprintf("on %s the wall times from %s to %s do not exist in %s (clocks go forward); fire times in between are skipped",
						day, time.Unix(lo, 0).UTC().Format("15:04"), time.Unix(hi, 0).UTC().Format("15:04"), where))
				}
			case nx.off < sp.off && !overlap:
				overlap = true
				if t.fixed {
					notes = append(notes, fmt.Sprintf("on %s %s happens twice in %s (clocks go back); this schedule fires on the first pass only", day, wall, where))
				} else {
					notes = append(notes, fmt.Sprintf("on %s the wall times from %s to %s happen twice in %s (clocks go back); fire times in between fire twice",
						day, time.Unix(lo, 0).UTC().Format("15:04"), time.Unix(hi, 0).UTC().Format("15:04"), where))
				}
			}
		}
		u = sp.end
	}
	return notes
}
