package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/lang"
)

func part(t *testing.T, file, src string) *Config {
	t.Helper()
	cfg, _, err := ParsePart(file, []byte(src))
	if err != nil {
		t.Fatalf("ParsePart(%s): %v", file, err)
	}
	return cfg
}

func mergeErrors(t *testing.T, parts ...*Config) []string {
	t.Helper()
	_, err := Merge(parts...)
	if err == nil {
		return nil
	}
	var list lang.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Merge error %v is not a lang.ErrorList", err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Error())
	}
	return out
}

func TestMergeTriggersAcrossSources(t *testing.T) {
	// A job of the config file triggers one of a services file: ParsePart
	// leaves the target to Merge, where it resolves.
	main := part(t, "kopf.json", `{"jobs": {"fetch": {"command": "f", "trigger": {"report": ["--from", "fetch"]}}}}`)
	svc := parseService(t, "services/report.json", `{"cmd": "report \"$@\"", "scheduling": "every 1d @ 06:00"}`)
	got, err := Merge(main, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 2 || got.Jobs[0].Name != "fetch" || got.Jobs[1].Name != "report" {
		t.Fatalf("merged jobs = %v, want fetch and report sorted", got.Jobs)
	}
	if want := []Trigger{{Job: "report", Args: []string{"--from", "fetch"}}}; !cmp.Equal(want, got.Jobs[0].Triggers, ignorePositions) {
		t.Errorf("triggers = %v, want %v", got.Jobs[0].Triggers, want)
	}
	if got.File != "" {
		t.Errorf("merged File = %q, want none", got.File)
	}
	// The same file alone is refused by Parse, which checks it whole.
	if _, _, err := Parse("kopf.json", []byte(`{"jobs": {"fetch": {"command": "f", "trigger": "report"}}}`)); err == nil {
		t.Error("Parse accepted a trigger to a job it does not define")
	}
}

func TestMergeErrors(t *testing.T) {
	main := `{"jobs": {"web": {"command": "x", "trigger": "rport"}}, "procs": {"db": {"command": "d"}}}`
	tests := []struct {
		name  string
		parts func(t *testing.T) []*Config
		want  []string
	}{
		{"a name in the file and a services file", func(t *testing.T) []*Config {
			return []*Config{part(t, "kopf.json", `{"procs": {"web": {"command": "x"}}}`), parseService(t, "svc/web.json", `{"cmd": "y"}`)}
		}, []string{
			`svc/web.json:1:1: "web" is also defined at kopf.json:1:12; a name must be unique across the config file and directories`,
		}},
		{"a name in a services file and a script", func(t *testing.T) []*Config {
			return []*Config{parseService(t, "svc/a.json", `{"name": "db", "cmd": "y"}`), Script("/etc/kopf/scripts/db", "h")}
		}, []string{
			`/etc/kopf/scripts/db: "db" is also defined at svc/a.json:1:10; a name must be unique across the config file and directories`,
		}},
		{"unknown trigger target with a suggestion from another source", func(t *testing.T) []*Config {
			return []*Config{part(t, "kopf.json", main), parseService(t, "svc/report.json", `{"cmd": "r", "period": "1h"}`)}
		}, []string{
			`kopf.json:1:46: no job named "rport" to trigger (did you mean "report"?)`,
		}},
		{"trigger to a proc in another source", func(t *testing.T) []*Config {
			return []*Config{part(t, "kopf.json", `{"jobs": {"a": {"trigger": "s"}}}`), Script("/x/s", "h")}
		}, []string{
			`kopf.json:1:28: "s" is a proc; only jobs can be triggered`,
		}},
		{"a cycle through two sources", func(t *testing.T) []*Config {
			return []*Config{
				part(t, "kopf.json", `{"jobs": {"a": {"command": "x", "trigger": "b"}}}`),
				parseService(t, "svc/b.json", `{"cmd": "y", "trigger": "a"}`),
			}
		}, []string{
			`kopf.json:1:44: trigger cycle: a → b → a`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mergeErrors(t, tt.parts(t)...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeLeavesPartsAlone(t *testing.T) {
	// The daemon keeps each file's last good part and merges them again
	// after every change, so a failed merge must not change a part.
	a := part(t, "kopf.json", `{"jobs": {"a": {"command": "x", "trigger": "b"}}}`)
	before := a.Jobs[0].Fingerprint()
	if _, err := Merge(a); err == nil {
		t.Fatal("Merge accepted a trigger to a missing job")
	}
	b := parseService(t, "svc/b.json", `{"cmd": "y", "period": "1h"}`)
	got, err := Merge(a, b)
	if err != nil {
		t.Fatalf("Merge once b exists: %v", err)
	}
	if a.Jobs[0].Fingerprint() != before || len(got.Jobs[0].Triggers) != 1 {
		t.Errorf("the failed merge changed the part: triggers now %v", got.Jobs[0].Triggers)
	}
}

func TestScript(t *testing.T) {
	cfg := Script("/etc/kopf/scripts/tor", "abc")
	p := cfg.Procs[0]
	want := Unit{
		Name: "tor", Command: []string{"/etc/kopf/scripts/tor"}, Dir: "/etc/kopf/scripts", Title: "tor",
		LogStart: true, Idle: defaultProcIdle, StopTime: defaultStopTime, Digest: "abc",
	}
	if diff := cmp.Diff(want, p.Unit, cmpConfig, ignorePositions, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Location" }, cmp.Ignore())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if Script("/etc/kopf/scripts/tor", "abd").Procs[0].Fingerprint() == p.Fingerprint() {
		t.Error("a script's new content leaves its fingerprint unchanged, so it would not restart")
	}
}
