package cluster

import "testing"

// What a balancer pass does with a group, for each thing the member may
// know of it.
func TestDecideGroup(t *testing.T) {
	ord := []string{"a", "b", "c"}
	for _, c := range []struct {
		name             string
		ord              []string
		owned, told, lv  bool
		owner, handoffTo string
		act              groupAction
		rank             int
	}{
		{"free, second in the order", ord, false, false, false, "", "", groupTry, 1},
		{"owned by another", ord, false, false, false, "a", "", groupNone, 0},
		{"its key still ours, after a fence", ord, false, false, false, "b", "", groupTry, 1},
		{"handed to us: first", ord, false, false, false, "", "b", groupTry, 0},
		{"handed to another: we move down", []string{"b", "a"}, false, false, false, "", "a", groupTry, 1},
		{"handed to any other", ord, false, false, false, "", "-", groupTry, 1},
		{"leaving", ord, false, false, true, "", "", groupNone, 0},
		{"config in the minority: not in the order", []string{"a", "c"}, false, false, false, "", "", groupNone, 0},
		{"owned, all told", ord, true, true, false, "b", "", groupNone, 0},
		{"owned, units not told", ord, true, false, false, "b", "", groupTell, 0},
		{"owned, now in the minority", []string{"a"}, true, true, false, "b", "", groupLeave, 0},
	} {
		act, rank := decideGroup("b", c.ord, c.owned, c.told, c.lv, c.owner, c.handoffTo)
		if act != c.act || rank != c.rank {
			t.Errorf("%s: %v at %d, want %v at %d", c.name, act, rank, c.act, c.rank)
		}
	}
}
