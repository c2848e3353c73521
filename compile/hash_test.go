package compile_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// H fields (Jenkins' syntax) resolve to values hashed from the job's
// name: the same for a name every time, in its field's bounds, and the
// schedule fires exactly as the resolved line does.
func TestHashedFields(t *testing.T) {
	for _, tc := range []struct{ src, name, resolved string }{
		{"H H * * *", "backup", "37 23 * * *"},
		{"H H * * *", "report", "1 11 * * *"},
		{"H/15 * * * *", "backup", "7-59/15 * * * *"},
		{"H(0-29)/10 H(2-5) * * *", "backup", "7-29/10 5 * * *"},
		{"0 0 H * *", "backup", "0 0 19 * *"},
		{"0 0 * * H", "backup", "0 0 * * 1"},
		{"0 0 1 H *", "backup", "0 0 1 6 *"},
		{"*/5 9-17 * * *", "backup", "*/5 9-17 * * *"}, // no H: as written
	} {
		s, err := compile.ParseWith(tc.src, compile.Options{Name: tc.name})
		if err != nil {
			t.Fatalf("%q for %q: %v", tc.src, tc.name, err)
		}
		if got := s.Resolved(); got != tc.resolved {
			t.Errorf("%q for %q resolves to %q; want %q", tc.src, tc.name, got, tc.resolved)
		}
		if got := s.String(); got != tc.src {
			t.Errorf("String() = %q; want the line as written, %q", got, tc.src)
		}
		plain, err := compile.Parse(tc.resolved)
		if err != nil {
			t.Fatal(err)
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var got, want []time.Time
		for a, b, i := from, from, 0; i < 50; i++ {
			a, _ = s.Next(a)
			b, _ = plain.Next(b)
			got, want = append(got, a), append(want, b)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q for %q fires unlike %q (-want +got):\n%s", tc.src, tc.name, tc.resolved, diff)
		}
	}
	// Every hashed value stays in its field, for many names.
	for i := range 500 {
		name := string(rune('a'+i%26)) + string(rune('0'+i/26))
		s, err := compile.ParseWith("H H H H H", compile.Options{Name: name})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if _, err := compile.Parse(s.Resolved()); err != nil {
			t.Errorf("%q resolves to %q, which is not a valid line: %v", name, s.Resolved(), err)
		}
	}
}

func TestHashNeedsAName(t *testing.T) {
	_, err := compile.Parse("0 H * * *")
	var list lang.ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("Parse = %v; want one error", err)
	}
	want := "1:3: H hashes a job's name, and this schedule has none: in a config file the job's name is used; kopf next and kopf check take --name NAME"
	if got := list[0].Error(); got != want {
		t.Errorf("error %q; want %q", got, want)
	}
}
