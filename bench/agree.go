package main

import (
	"fmt"
	"time"
)

// agreeSteps is how many consecutive fire times are compared from each
// start: enough for a per-minute schedule to walk through a DST change from
// the midnight before it.
const agreeSteps = 600

// agreeStarts are the instants the comparison walks from, in loc: a plain
// new year, the two New York DST days of 2026 from their midnights, and two
// instants that are not on a minute boundary, one inside the fall-back
// overlap.
func agreeStarts(loc *time.Location) []time.Time {
	return []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, loc),
		time.Date(2026, 3, 8, 0, 0, 0, 0, loc),
		time.Date(2026, 11, 1, 0, 0, 0, 0, loc),
		time.Date(2026, 11, 1, 1, 30, 29, 0, loc),
		time.Date(2027, 2, 27, 23, 59, 30, 0, loc),
	}
}

// agree walks kopf's fire times from each start and asks peer the same
// question at every step. It returns nil when every answer is the same
// instant, and otherwise describes the first difference: a benchmark of a
// wrong answer measures nothing.
func agree(ref, peer nextFunc, loc *time.Location, horizon time.Time) error {
	for _, t := range agreeStarts(loc) {
		for range agreeSteps {
			want, wok := ref(t)
			got, gok := peer(t)
			if wok != gok || (wok && !want.Equal(got)) {
				return fmt.Errorf("after %s: kopf %s, peer %s", stamp(t), answer(want, wok), answer(got, gok))
			}
			if !wok || want.After(horizon) {
				break
			}
			t = want
		}
	}
	return nil
}

func answer(t time.Time, ok bool) string {
	if !ok {
		return "none"
	}
	return stamp(t)
}

func stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") }
