package main

import (
	"testing"
	"time"
)

func zones(tb testing.TB) []*time.Location {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		tb.Fatal(err)
	}
	return []*time.Location{time.UTC, ny}
}

// knownDiffs are the peer/expression/zone cells where a peer's answer
// differs from kopf's inside the measured range; the table leaves them out.
// TestAgree fails when the set changes, so a new disagreement (or a peer's
// fix) is noticed and docs/performance.md updated.
var knownDiffs = map[string]bool{
	// Fall-back overlap: kopf fires 01:00 EST too (wildcard hour: every
	// matching wall-clock instant, as cronie); gronx skips it.
	"gronx @hourly America/New_York": true,
}

func TestAgree(t *testing.T) {
	for _, loc := range zones(t) {
		for _, expr := range exprs {
			ref, err := kopf.parse(expr, loc)
			if err != nil {
				t.Fatalf("kopf %q: %v", expr, err)
			}
			for _, p := range peers {
				key := p.name + " " + expr + " " + loc.String()
				fn, err := p.parse(expr, loc)
				if err == nil {
					err = agree(ref, fn, loc, benchHorizon(loc))
				}
				if got := err != nil; got != knownDiffs[key] {
					t.Errorf("%s: disagreement %v, want %v (%v)", key, got, knownDiffs[key], err)
				}
			}
		}
	}
}

// BenchmarkNext is the table's measurement in go test form, for benchstat:
//
//	go test -bench . -count 10 | tee new.txt
func BenchmarkNext(b *testing.B) {
	for _, loc := range zones(b) {
		for _, expr := range exprs {
			for _, l := range append([]lib{kopf}, peers...) {
				if knownDiffs[l.name+" "+expr+" "+loc.String()] {
					continue
				}
				fn, err := l.parse(expr, loc)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(loc.String()+"/"+expr+"/"+l.name, walk(fn, benchStart(loc), benchHorizon(loc)))
			}
		}
	}
}
