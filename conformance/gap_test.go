package conformance

import (
	"archive/zip"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
)

// tzdataZones lists the zones of Go's own tzdata, lib/time/zoneinfo.zip.
func tzdataZones(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find GOROOT: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Skipf("no tzdata zip: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			names = append(names, f.Name)
		}
	}
	return names
}

// gap is a spring-forward change: at instant end the offset goes from prev
// up to off, so the wall times [end+prev, end+off) do not exist.
type gap struct {
	end, prev, off int64
}

// springForwards lists a zone's spring-forward changes in [from, to).
func springForwards(loc *time.Location, from, to time.Time) []gap {
	var out []gap
	for t := from.In(loc); t.Before(to); {
		_, e := t.ZoneBounds()
		if e.IsZero() || !e.After(t) {
			break
		}
		_, before := e.Add(-time.Second).Zone()
		_, after := e.Zone()
		if after > before && e.Before(to) {
			out = append(out, gap{end: e.Unix(), prev: int64(before), off: int64(after)})
		}
		t = e
	}
	return out
}

// A fixed-time fire swallowed by a spring-forward gap fires at the instant
// the gap ends, also when the search starts in the last seconds before
// that instant (the bug was: from the last second on, that day's fire was
// lost). Every zone of the tzdata, every spring-forward change from 2000
// to 2040, searches from 3 s before the change to 250 ms before it, in
// both dialects and with the zone given each way; the brute-force
// reference agrees.
func TestGapEndsInTheLastSecond(t *testing.T) {
	from, to := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	checked := 0
	for _, name := range tzdataZones(t) {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("LoadLocation(%q): %v", name, err)
		}
		for _, g := range springForwards(loc, from, to) {
			// The first whole minute the gap swallows.
			w := (g.end + g.prev + 59) / 60 * 60
			if w >= g.end+g.off {
				continue
			}
			wall := time.Unix(w, 0).UTC()
			h, m := wall.Hour(), wall.Minute()
			key := fmt.Sprintf("%d %d %d %d", g.end, g.prev, g.off, w)
			if seen[name+key] {
				continue
			}
			seen[name+key] = true
			cron := fmt.Sprintf("%d %d * * *", m, h)
			forms := []string{cron, fmt.Sprintf("every 1d @ %02d:%02d", h, m)}
			if spellable(name) {
				forms = append(forms, fmt.Sprintf("CRON_TZ=%s %s", name, cron), fmt.Sprintf("every 1d @ %02d:%02d in %s", h, m, name))
			}
			var scheds []*compile.Schedule
			for _, src := range forms {
				s, err := compile.ParseIn(src, loc)
				if err != nil {
					t.Fatalf("%s: %q: %v", name, src, err)
				}
				scheds = append(scheds, s)
			}
			sp := refLine(t, cron)
			want := time.Unix(g.end, 0)
			for back := 3000 * time.Millisecond; back > 0; back -= 250 * time.Millisecond {
				after := want.Add(-back)
				for i, s := range scheds {
					if got, ok := s.Next(after); !ok || !got.Equal(want) {
						t.Errorf("%s: %q after %s = %s; want %s, where the gap ends",
							name, forms[i], after.UTC().Format(time.RFC3339Nano), got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339))
					}
				}
				if ref := refFires(sp, loc, after, after.Add(48*time.Hour), 1); len(ref) != 1 || int64(ref[0]) != g.end {
					t.Errorf("%s: the reference for %q after %s = %v; want %s", name, cron, after.UTC().Format(time.RFC3339Nano), ref, want.UTC().Format(time.RFC3339))
				}
				checked++
			}
		}
	}
	if checked < 10000 {
		t.Errorf("only %d searches checked: the tzdata has more spring-forward changes than that", checked)
	}
	t.Logf("%d searches, %d changes", checked, len(seen))
}

// spellable reports whether a schedule can name the zone: every name but
// the old links without a slash whose letters a dash joins (W-SU,
// NZ-CHAT), which read as a crontab range (docs/language.md).
func spellable(name string) bool {
	return strings.Contains(name, "/") || !strings.Contains(name, "-") || strings.ContainsAny(name, "0123456789")
}
