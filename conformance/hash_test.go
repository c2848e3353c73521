package conformance

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

// A line with H fields fires exactly as the line it resolves to reads to
// the reference, for many names.
func TestHashedLinesAgainstTheReference(t *testing.T) {
	after := mustTime("2026-01-01T00:00:00Z")
	end := after.AddDate(0, 2, 0)
	for i := range 40 {
		name := fmt.Sprintf("job-%d", i)
		for _, src := range []string{"H H * * *", "H/20 H(8-17) * * mon-fri", "H H H * *"} {
			s, err := compile.ParseWith(src, compile.Options{Name: name})
			if err != nil {
				t.Fatalf("%q for %q: %v", src, name, err)
			}
			got, err := collect(s, after, end, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := refFires(refLine(t, s.Resolved()), time.UTC, after, end, 0)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q for %q (resolved %q) against the reference (-want +got):\n%s", src, name, s.Resolved(), diff)
			}
		}
	}
}
