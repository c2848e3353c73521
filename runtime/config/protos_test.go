package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestProtos checks what a unit's settings become with protos: each proto
// in order, later ones replacing earlier ones key by key, the unit's own
// keys over all, a proto's own protos first.
func TestProtos(t *testing.T) {
	const protos = `"protos": {
	"base": {"command": "base", "env": {"A": "1", "B": "2"}, "stop-time": 5, "title": "base"},
	"quiet": {"log-start": false, "title": "quiet"},
	"loud": {"proto": "base", "log-output": true, "title": "loud"},
	"nested": {"proto": ["loud", "quiet"], "env": {"C": "3"}},
	"sched": {"schedule": "@ 04:00", "cron": "0 5", "ports": "http"}}`
	tests := []struct {
		name  string
		unit  string
		check func(t *testing.T, j *Job)
	}{
		{"one proto", `{"proto": "base"}`, func(t *testing.T, j *Job) {
			want := Unit{Name: "j", Command: []string{"/bin/sh", "-c", "base"}, Shell: true, Env: []string{"A=1", "B=2"},
				Title: "base", LogStart: true, StopTime: 5 * time.Second, Location: time.UTC}
			if diff := cmp.Diff(want, j.Unit, cmpConfig, ignorePositions); diff != "" {
				t.Errorf("unit (-want +got):\n%s", diff)
			}
		}},
		{"later protos win", `{"proto": ["base", "quiet"]}`, func(t *testing.T, j *Job) {
			if j.Title != "quiet" || j.LogStart || j.StopTime != 5*time.Second {
				t.Errorf("title %q, log-start %t, stop-time %v; want quiet, false, 5s", j.Title, j.LogStart, j.StopTime)
			}
		}},
		{"in the other order", `{"proto": ["quiet", "base"]}`, func(t *testing.T, j *Job) {
			if j.Title != "base" || j.LogStart {
				t.Errorf("title %q, log-start %t; want base, false", j.Title, j.LogStart)
			}
		}},
		{"own keys win", `{"proto": ["base", "quiet"], "title": "mine", "command": ["mine"]}`, func(t *testing.T, j *Job) {
			if j.Title != "mine" || !cmp.Equal(j.Command, []string{"mine"}) || j.Shell {
				t.Errorf("title %q, command %q; want mine, [mine]", j.Title, j.Command)
			}
		}},
		{"nested", `{"proto": "nested"}`, func(t *testing.T, j *Job) {
			// nested takes loud (which takes base), then quiet; its own env
			// is merged with base's, variable by variable.
			if j.Title != "quiet" || j.LogStart || !j.LogOutput || j.Command[2] != "base" {
				t.Errorf("got title %q, log-start %t, log-output %t, command %q", j.Title, j.LogStart, j.LogOutput, j.Command)
			}
			if diff := cmp.Diff([]string{"A=1", "B=2", "C=3"}, j.Env); diff != "" {
				t.Errorf("env is not merged (-want +got):\n%s", diff)
			}
		}},
		{"env merged by variable", `{"proto": "base", "env": {"B": "9", "D": 4}}`, func(t *testing.T, j *Job) {
			if diff := cmp.Diff([]string{"A=1", "B=9", "D=4"}, j.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		}},
		{"null unsets an inherited variable", `{"proto": "base", "env": {"A": null}}`, func(t *testing.T, j *Job) {
			// "A" alone unsets A, in kopf's own environment too.
			if diff := cmp.Diff([]string{"A", "B=2"}, j.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		}},
		{"env that is not an object replaces", `{"proto": "base", "env": "x"}`, nil},
		{"schedules: inherited first, then own", `{"proto": "sched", "command": "x {{ports[http]}}", "cron": "0 6", "trigger": "k"}`, func(t *testing.T, j *Job) {
			var got []string
			for _, s := range j.Schedules {
				got = append(got, s.Key+" "+s.Source)
			}
			if diff := cmp.Diff([]string{"schedule @ 04:00", "cron 0 6"}, got); diff != "" {
				t.Errorf("schedules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"http"}, j.Ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
		}},
		{"scheduling replaces schedule", `{"proto": "sched", "command": "x", "scheduling": "@ 07:00"}`, func(t *testing.T, j *Job) {
			var got []string
			for _, s := range j.Schedules {
				got = append(got, s.Key+" "+s.Source)
			}
			if diff := cmp.Diff([]string{"cron 0 5", "scheduling @ 07:00"}, got); diff != "" {
				t.Errorf("schedules (-want +got):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `{` + protos + `, "jobs": {"j": ` + tt.unit + `, "k": {"proto": ["base", "loud", "quiet", "nested", "sched"]}}}`
			cfg, _, err := Parse("k.json", []byte(src))
			if tt.check == nil {
				// an error in the unit's own value, not a merge with base's
				if err == nil || !strings.Contains(err.Error(), `"env" must be an object`) {
					t.Errorf("got %v, want the unit's env refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg.Jobs[0])
		})
	}
}

// An inherited value keeps its place in the proto; the unit keeps its own.
func TestProtoPositions(t *testing.T) {
	src := "{\"protos\": {\"s\": {\"cron\": \"0 5\"}},\n \"jobs\": {\"j\": {\"proto\": \"s\", \"command\": \"x\"}}}"
	cfg := parse(t, "k.json", src)
	j := cfg.Jobs[0]
	if got := j.Schedules[0].Pos.String(); got != "k.json:1:28" {
		t.Errorf("inherited schedule at %s, want k.json:1:28 in the proto", got)
	}
	if got := j.Pos.String(); got != "k.json:2:11" {
		t.Errorf("job at %s, want k.json:2:11", got)
	}
	y := parse(t, "k.yaml", "protos:\n  h:\n    health: {command: check}\nprocs:\n  p: {proto: h, command: x}\n")
	if got := y.Procs[0].Health.Pos.String(); got != "k.yaml:3:13" {
		t.Errorf("inherited health at %s, want k.yaml:3:13 in the proto", got)
	}
}

// TestProtoYAML: a proto and YAML's own anchors give the same units.
func TestProtoYAML(t *testing.T) {
	p := parse(t, "k.yaml", `
protos:
  svc: {stop-time: 3, backoff: [1, 2], env: {A: x}}
procs:
  a: {proto: svc, command: a}
  b: {proto: [svc], command: b, env: {B: y}}
`)
	y := parse(t, "k.yaml", `
procs:
  a: {stop-time: 3, backoff: [1, 2], env: {A: x}, command: a}
  b: {stop-time: 3, backoff: [1, 2], env: {A: x, B: y}, command: b}
`)
	if diff := cmp.Diff(y, p, cmpConfig, ignorePositions); diff != "" {
		t.Errorf("proto and written out differ (-written +proto):\n%s", diff)
	}
}
