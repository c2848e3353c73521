package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
)

const reuseBase = `{
  // the team's jobs
  "protos": {"nightly": {"timezone": "Europe/Berlin", "stop-time": "1m"}, "spare": {"stop-time": "2m"}},
  "jobs": {
    "backup": {"command": ["backup", "--all"], "schedule": "30 2 * * *", "proto": "nightly", "trigger": ["report"]},
    "report": {"command": "report.sh", "cron": {"0 8 * * mon": ["weekly"], "0 8 1 * *": ["monthly"]}},
    "sweep": {"command": "sweep", "period": "1h", "title": "Sweeper"}
  },
  "procs": {
    "web": {"command": ["web"], "ports": ["http"], "health": {"http": "/health"}, "proto": "spare"}
  }
}
`

// Reparse gives what ParsePart gives, positions included, whatever the
// edit; and it takes the entries written as before from the previous
// version (the same unit when it has not moved), and no other.
func TestReparse(t *testing.T) {
	oneLine := func(s string) string {
		s = regexp.MustCompile(`(?m)^\s*//.*\n`).ReplaceAllString(s, "")
		return strings.Join(strings.Fields(s), " ")
	}
	edits := []struct {
		name    string
		edit    func(string) string
		changed []string // the entries decoded again
	}{
		{"identical", func(s string) string { return s }, nil},
		{"one schedule, same length", func(s string) string { return strings.Replace(s, "30 2 * * *", "45 2 * * *", 1) }, []string{"backup"}},
		{"a longer command", func(s string) string { return strings.Replace(s, `"report.sh"`, `"report-all.sh"`, 1) }, []string{"report"}},
		{"a job above the others", func(s string) string {
			return strings.Replace(s, `"jobs": {`, "\"jobs\": {\n    \"new\": {\"command\": \"new\"},\n", 1)
		}, []string{"new"}},
		{"a job removed", func(s string) string { return regexp.MustCompile(`(?m)^\s*"sweep".*\n`).ReplaceAllString(s, "") }, nil},
		{"a comment longer", func(s string) string { return strings.Replace(s, "the team's jobs", "the team's jobs, all of them", 1) }, nil},
		{"a job renamed", func(s string) string { return strings.Replace(s, `"sweep":`, `"sweeper":`, 1) }, []string{"sweeper"}},
		{"protos changed", func(s string) string { return strings.Replace(s, `"1m"`, `"90s"`, 1) }, []string{"backup", "report", "sweep", "web"}},
		{"a proc's settings", func(s string) string { return strings.Replace(s, `"/health"`, `"/healthz"`, 1) }, []string{"web"}},
		{"on one line, an entry longer", func(s string) string {
			return strings.Replace(oneLine(s), `"period": "1h"`, `"period": "90m"`, 1)
		}, []string{"sweep"}},
	}
	for _, base := range []struct{ name, text string }{{"lines", reuseBase}, {"one line", oneLine(reuseBase)}} {
		prev, _, err := ParsePart("k.json", []byte(base.text))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range edits {
			t.Run(base.name+"/"+e.name, func(t *testing.T) {
				text := e.edit(base.text)
				if base.name == "one line" && e.name != "on one line, an entry longer" {
					text = oneLine(text)
				}
				want, wantWarnings, err := ParsePart("k.json", []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				got, gotWarnings, err := Reparse("k.json", []byte(text), prev)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmpConfig); diff != "" {
					t.Errorf("Reparse mismatch with ParsePart (-want +got):\n%s", diff)
				}
				for _, w := range gotWarnings {
					if !slices.Contains(wantWarnings, w) {
						t.Errorf("Reparse warns %q, which ParsePart does not", w)
					}
				}
				if base.name == "lines" && e.name == "protos changed" {
					return // the one-line base has its own check below
				}
				checkTaken(t, prev, got, e.changed)
			})
		}
	}
}

// checkTaken checks that every unit of got but those named changed is
// prev's, the same unit where it has not moved.
func checkTaken(t *testing.T, prev, got *Config, changed []string) {
	t.Helper()
	old := map[string]*Unit{}
	for _, j := range prev.Jobs {
		old[j.Name] = &j.Unit
	}
	for _, p := range prev.Procs {
		old[p.Name] = &p.Unit
	}
	var units []*Unit
	for _, j := range got.Jobs {
		units = append(units, &j.Unit)
	}
	for _, p := range got.Procs {
		units = append(units, &p.Unit)
	}
	for _, u := range units {
		o := old[u.Name]
		switch taken := o != nil && u.SameEntry(o); {
		case slices.Contains(changed, u.Name) && taken:
			t.Errorf("%s was taken from the previous version, but its entry changed", u.Name)
		case !slices.Contains(changed, u.Name) && !taken:
			t.Errorf("%s was decoded again, but its entry is as it was", u.Name)
		case taken && u.Pos == o.Pos && u != o:
			t.Errorf("%s has not moved, but is a copy", u.Name)
		}
	}
}

// A unit taken from the previous version still uses its protos: none is
// said to be unused.
func TestReparseKeepsProtosUsed(t *testing.T) {
	prev, _, err := ParsePart("k.json", []byte(reuseBase))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(reuseBase, `"report.sh"`, `"report-all.sh"`, 1)
	got, warnings, err := Reparse("k.json", []byte(text), prev)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Reparse: %v, warnings %v", err, warnings)
	}
	// And again from that version, which took them itself.
	if _, warnings, err = Reparse("k.json", []byte(reuseBase), got); err != nil || len(warnings) > 0 {
		t.Fatalf("Reparse of Reparse: %v, warnings %v", err, warnings)
	}
}

// An entry that is the same but for its kind (moved from "jobs" to
// "procs") is decoded again; so is every entry of a YAML file, and of
// another file.
func TestReparseTakesOnlyTheSameEntry(t *testing.T) {
	prev, _, err := ParsePart("k.json", []byte(`{"jobs": {"a": {"command": "a"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Reparse("k.json", []byte(`{"procs": {"a": {"command": "a"}}}`), prev)
	if err != nil {
		t.Fatal(err)
	}
	if got.Procs[0].SameEntry(&prev.Jobs[0].Unit) {
		t.Errorf("a proc was taken from a job of the same text")
	}
	other, _, err := Reparse("l.json", []byte(`{"jobs": {"a": {"command": "a"}}}`), prev)
	if err != nil {
		t.Fatal(err)
	}
	if other.Jobs[0] == prev.Jobs[0] {
		t.Errorf("a job was taken from another file")
	}
	yprev, _, err := ParsePart("k.yaml", []byte("jobs:\n  a: {command: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	y, _, err := Reparse("k.yaml", []byte("jobs:\n  a: {command: a}\n"), yprev)
	if err != nil {
		t.Fatal(err)
	}
	if y.Jobs[0] == yprev.Jobs[0] || y.Jobs[0].SameEntry(&yprev.Jobs[0].Unit) {
		t.Errorf("a YAML job was taken from the previous version")
	}
}

// Taking an entry compiles nothing: its schedules are the previous
// version's.
func TestReparseCompilesNothingTaken(t *testing.T) {
	prev, _, err := ParsePart("k.json", []byte(reuseBase))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(reuseBase, "the team's jobs", "the team's jobs, moved", 1)
	got, _, err := Reparse("k.json", []byte(text), prev)
	if err != nil {
		t.Fatal(err)
	}
	var was []*compile.Schedule
	for _, j := range prev.Jobs {
		for _, s := range j.Schedules {
			was = append(was, s.Compiled)
		}
	}
	for _, j := range got.Jobs {
		for _, s := range j.Schedules {
			if !slices.Contains(was, s.Compiled) {
				t.Errorf("%s's schedule %q was compiled again", j.Name, s.Source)
			}
		}
	}
}
