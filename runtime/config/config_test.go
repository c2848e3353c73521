package config

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/job"
)

// cmpConfig compares configs by meaning: schedules by their canonical text
// and zone, zones by name. Positions are compared unless ignored.
var cmpConfig = cmp.Options{
	cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() }),
	cmp.Comparer(func(a, b *compile.Schedule) bool {
		return a.String() == b.String() && a.Location().String() == b.Location().String()
	}),
	cmpopts.IgnoreUnexported(Config{}, Unit{}),
}

var ignorePositions = cmp.Options{
	cmpopts.IgnoreFields(Config{}, "File"),
	cmpopts.IgnoreFields(Unit{}, "Pos"),
	cmpopts.IgnoreFields(Health{}, "Pos"),
	cmpopts.IgnoreFields(Schedule{}, "Pos"),
	cmpopts.IgnoreFields(Trigger{}, "Pos"),
}

// defaultHealth is a health check of http or command with Aurora's
// defaults.
// impliedHealth is the check a port named "health" implies: Aurora's, on
// /health, wanting the body "ok".
func impliedHealth() *Health {
	h := defaultHealth("http://127.0.0.1:{{ports[health]}}/health", nil)
	h.ExpectBody = "ok"
	return h
}

func defaultHealth(http string, command []string) *Health {
	return &Health{
		HTTP:                    http,
		Command:                 command,
		Interval:                10 * time.Second,
		Timeout:                 time.Second,
		InitialInterval:         15 * time.Second,
		MinConsecutiveSuccesses: 1,
	}
}

func load(t *testing.T, path string) *Config {
	t.Helper()
	cfg, warnings, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if len(warnings) > 0 {
		t.Fatalf("Load(%s) warnings: %v", path, warnings)
	}
	return cfg
}

func parse(t *testing.T, file, src string) *Config {
	t.Helper()
	cfg, warnings, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	if len(warnings) > 0 {
		t.Fatalf("Parse(%s) warnings: %v", file, warnings)
	}
	return cfg
}

func sched(t *testing.T, key, src string, loc *time.Location, args ...string) Schedule {
	t.Helper()
	c, err := compile.ParseIn(src, loc)
	if err != nil {
		t.Fatal(err)
	}
	return Schedule{Key: key, Source: src, Args: args, Compiled: c}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := compile.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestEveryKey reads testdata/all.json, where every key is set away from
// its default, and its YAML twin, and compares both with the model.
func TestEveryKey(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	want := &Config{
		Jobs: []*Job{
			{
				Unit: Unit{
					Name:      "backup",
					Command:   []string{"/bin/sh", "-c", "tar czf /var/backups/etc.tgz /etc"},
					Shell:     true,
					Dir:       "/var/backups",
					Env:       []string{"LEVEL=9", "TZ=UTC", "VERBOSE=true"},
					Title:     "nightly backup",
					LogStart:  false,
					LogOutput: true,
					Idle:      time.Minute,
					StopTime:  30 * time.Second,
					MailTo:    []string{"ops@example.com", "Root <root@example.com>"},
					MailFrom:  "kopf@example.com",
					Location:  berlin,
				},
				Period:        24 * time.Hour,
				Pause:         time.Hour,
				Random:        30 * time.Minute,
				Timeout:       2 * time.Hour,
				RunOnStart:    false,
				CatchUp:       CatchUpLast,
				CatchUpWithin: 12 * time.Hour,
				Overlap:       job.Skip,
				DST:           compile.DST{Gap: compile.GapSkip, Overlap: compile.OverlapSecond},
				Schedules: []Schedule{
					sched(t, "schedule", "@ 04:15", berlin),
					sched(t, "schedule", "every 1w @ 03:00", berlin),
					sched(t, "cron", "0 17", berlin, "--full"),
					sched(t, "cron", "30 2 * * sat", berlin, "--weekly"),
				},
				Triggers:    []Trigger{{Job: "report", Args: []string{"--from", "backup"}}},
				MaxFailures: 2,
				Backoff:     []time.Duration{5 * time.Second, 30 * time.Second},
			},
			{
				Unit: Unit{
					Name:     "report",
					Command:  []string{"/usr/local/bin/report", "--mail", "--port={{ports[web]}}"},
					Title:    "report",
					LogStart: true,
					StopTime: 10 * time.Second,
					Location: time.UTC,
					Ports:    []string{"web"},
				},
				Backoff: defaultBackoff,
				CatchUp: CatchUpNone,
				Overlap: job.Queue,
				Schedules: []Schedule{
					sched(t, "scheduling", "every 1d @ 09:00", time.UTC),
					sched(t, "cron", "0 12 * * mon-fri", time.UTC),
					sched(t, "cron", "0 18", time.UTC),
				},
			},
			{
				Unit: Unit{
					Name:     "rotate",
					Command:  []string{"/bin/sh", "-c", "logrotate /etc/logrotate.conf"},
					Shell:    true,
					Title:    "rotate",
					LogStart: true,
					StopTime: 10 * time.Second,
					MailTo:   []string{"ops@example.com"},
					Location: time.UTC,
				},
				// From the protos retried and, through it, ops.
				Triggers:    []Trigger{{Job: "report"}},
				MaxFailures: 3,
				Backoff:     []time.Duration{time.Second, time.Minute},
				CatchUp:     CatchUpNone,
				Overlap:     job.Queue,
			},
		},
		Procs: []*Proc{
			{
				Unit: Unit{
					Name:     "tor",
					Command:  []string{"/usr/local/bin/tor", "-f", "tor.rc", "--SocksPort", "{{ports[socks]}}"},
					Title:    "tor",
					LogStart: true,
					Idle:     2500 * time.Millisecond,
					StopTime: 10 * time.Second,
					Location: time.Local,
					Ports:    []string{"socks", "health"},
				},
				Backoff: []time.Duration{time.Second, 10 * time.Second, 90 * time.Second, time.Hour},
				Health: &Health{
					HTTP:                    "http://127.0.0.1:{{ports[health]}}/healthz",
					Interval:                5 * time.Second,
					Timeout:                 2 * time.Second,
					InitialInterval:         time.Minute,
					MaxConsecutiveFailures:  3,
					MinConsecutiveSuccesses: 2,
				},
				RestartOnChange: []string{"tor.bin"},
				HUPOnChange:     []string{"tor.rc", "torrc.d/extra.rc"},
			},
			{
				Unit: Unit{
					Name:     "web",
					Command:  []string{"/bin/sh", "-c", "httpd -p {{ports[http]}} -s {{ports[health]}}"},
					Shell:    true,
					Env:      []string{"STATUS_URL=http://127.0.0.1:{{ports[health]}}/health"},
					Title:    "web",
					LogStart: true,
					Idle:     10 * time.Second,
					StopTime: 10 * time.Second,
					Location: time.UTC,
					Ports:    []string{"http", "health"},
				},
				Backoff: defaultBackoff,
				Health:  impliedHealth(),
			},
			{
				Unit: Unit{
					Name:     "worker",
					Command:  []string{"/bin/sh", "-c", "worker"},
					Shell:    true,
					Title:    "worker",
					LogStart: true,
					Idle:     10 * time.Second,
					StopTime: 10 * time.Second,
					Location: time.UTC,
				},
				Backoff: defaultBackoff,
				Health:  defaultHealth("", []string{"/bin/sh", "-c", "worker --ping"}),
			},
		},
	}
	for _, file := range []string{"testdata/all.json", "testdata/all.yaml"} {
		got := load(t, file)
		if got.File != file {
			t.Errorf("Load(%s).File = %q", file, got.File)
		}
		if diff := cmp.Diff(want, got, cmpConfig, ignorePositions); diff != "" {
			t.Errorf("Load(%s) mismatch (-want +got):\n%s", file, diff)
		}
	}
}

func TestDefaults(t *testing.T) {
	got := parse(t, "k.json", `{"jobs": {"j": {"command": "x"}}, "procs": {"p": {"command": ["p"]}}}`)
	want := &Config{
		Jobs: []*Job{{
			Unit: Unit{
				Name: "j", Command: []string{"/bin/sh", "-c", "x"}, Shell: true, Title: "j",
				LogStart: true, LogOutput: false, Idle: 0, StopTime: 10 * time.Second, Location: time.UTC,
			},
			MaxFailures: 0,
			Backoff:     []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute},
			CatchUp:     CatchUpNone,
			Overlap:     job.Queue,
		}},
		Procs: []*Proc{{
			Unit: Unit{
				Name: "p", Command: []string{"p"}, Title: "p",
				LogStart: true, LogOutput: false, Idle: 10 * time.Second, StopTime: 10 * time.Second, Location: time.UTC,
			},
			Backoff: []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute},
		}},
	}
	if diff := cmp.Diff(want, got, cmpConfig, ignorePositions); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestRunOnStartDefault(t *testing.T) {
	tests := []struct {
		settings string
		want     bool
	}{
		{`"cron": "0 4"`, false},
		{`"period": 60`, true},
		{`"pause": "1m"`, true},
		{`"period": 0`, false},
		{`"period": 60, "run-on-start": false`, false},
		{`"cron": "0 4", "run-on-start": true`, true},
	}
	for _, tt := range tests {
		cfg := parse(t, "k.json", `{"jobs": {"j": {"command": "x", `+tt.settings+`}}}`)
		if got := cfg.Jobs[0].RunOnStart; got != tt.want {
			t.Errorf("{%s}: RunOnStart = %v, want %v", tt.settings, got, tt.want)
		}
	}
}

func TestSorted(t *testing.T) {
	cfg := parse(t, "k.yaml", "jobs:\n  b: {command: x}\n  a: {command: x}\n  c: {command: x}\nprocs:\n  z: {command: x}\n  y: {command: x}\n")
	var names []string
	for _, j := range cfg.Jobs {
		names = append(names, j.Name)
	}
	for _, p := range cfg.Procs {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "y", "z"}, names); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

// TestJSONAndYAML loads equivalent files and expects the same config.
func TestJSONAndYAML(t *testing.T) {
	for _, pair := range [][2]string{
		{"testdata/all.json", "testdata/all.yaml"},
		{"../../examples/service-manager.json", "../../examples/service-manager.yaml"},
	} {
		j, y := load(t, pair[0]), load(t, pair[1])
		if diff := cmp.Diff(j, y, cmpConfig, ignorePositions); diff != "" {
			t.Errorf("%s and %s differ (-json +yaml):\n%s", pair[0], pair[1], diff)
		}
	}
}

func TestPositions(t *testing.T) {
	src := "{\"jobs\": {\n  \"a\": {\"command\": \"x\", \"schedule\": [\"@ 04:15\", \"0 17\"], \"trigger\": [\"b\"]},\n  \"b\": {\"command\": \"y\"}},\n \"procs\": {\"ü\": {\"command\": \"z\"}}}"
	cfg := parse(t, "k.json", src)
	pos := func(line, col int) lang.Pos {
		return newSource("k.json", []byte(src)).pos(newSource("k.json", []byte(src)).offset(line, col))
	}
	got := []lang.Pos{cfg.Jobs[0].Pos, cfg.Jobs[0].Schedules[0].Pos, cfg.Jobs[0].Schedules[1].Pos, cfg.Jobs[0].Triggers[0].Pos, cfg.Jobs[1].Pos, cfg.Procs[0].Pos}
	want := []lang.Pos{pos(2, 3), pos(2, 39), pos(2, 50), pos(2, 70), pos(3, 3), pos(4, 12)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
	if p := cfg.Procs[0].Pos; p.Filename != "k.json" || p.Line != 4 || p.Col != 12 || p.Offset != len("{\"jobs\": {\n  \"a\": {\"command\": \"x\", \"schedule\": [\"@ 04:15\", \"0 17\"], \"trigger\": [\"b\"]},\n  \"b\": {\"command\": \"y\"}},\n \"procs\": {") {
		t.Errorf("proc position = %#v", p)
	}
	y := parse(t, "k.yaml", "jobs:\n  a:\n    command: x\n    cron: {'0 17': [--x]}\n    schedule: \"@ 04:15\"\n")
	if got, want := []string{y.Jobs[0].Pos.String(), y.Jobs[0].Schedules[0].Pos.String(), y.Jobs[0].Schedules[1].Pos.String()}, []string{"k.yaml:2:3", "k.yaml:4:13", "k.yaml:5:16"}; !cmp.Equal(want, got) {
		t.Errorf("YAML positions = %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "kopf.json")
	_, _, err := Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error %v does not wrap fs.ErrNotExist", err)
	}
	if want := missing + ": no such file"; err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %q", err, want)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(filepath.Join(dir, "d.yaml"))
	if want := filepath.Join(dir, "d.yaml") + ": is a directory"; err == nil || err.Error() != want {
		t.Errorf("Load(directory) = %v, want %q", err, want)
	}
	_, _, err = Load(filepath.Join(dir, "kopf.toml"))
	if want := filepath.Join(dir, "kopf.toml") + ": unknown config file type; expected a name ending in .json, .yaml or .yml"; err == nil || err.Error() != want {
		t.Errorf("Load(toml) = %v, want %q", err, want)
	}
	var list lang.ErrorList
	if !errors.As(err, &list) {
		t.Errorf("Load(toml) error is not a lang.ErrorList")
	}
}

func TestErrorListIsSortedAndComplete(t *testing.T) {
	// Problems are found in one pass over the file and come out in file
	// order, from the syntax tree, the settings and the cross checks.
	src := `{"procs": {"p": {}, "q": {"command": "x", "cron": "5"}}, "jobs": {"a": {"trigger": "p", "idle": -1}}}`
	got := problems(t, "k.json", src)
	want := []string{
		`k.json:1:12: proc "p" has no "command"; a proc needs one to run`,
		`k.json:1:43: "cron" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "q" under "jobs")`,
		`k.json:1:84: "p" is a proc; only jobs can be triggered`,
		`k.json:1:97: "idle" must not be negative, found -1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	_, _, err := Parse("k.json", []byte(src))
	if want := `k.json:1:12: proc "p" has no "command"; a proc needs one to run (and 3 more errors)`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// TestHealth reads health checks: the URL a path or a health port makes,
// a URL as written, a command, and Aurora's defaults.
func TestHealth(t *testing.T) {
	sh := func(s string) []string { return []string{"/bin/sh", "-c", s} }
	tests := []struct {
		name, settings string
		want           *Health
	}{
		{"a health port alone checks nothing", `"ports": "health"`, nil},
		{"a health port and {} check /health", `"ports": ["http", "health"], "health": {}`, impliedHealth()},
		{"any 2xx for a path", `"ports": ["health"], "health": {"http": "/health"}`,
			defaultHealth("http://127.0.0.1:{{ports[health]}}/health", nil)},
		{"a body to expect", `"ports": ["health"], "health": {"http": "/health", "expect-body": "ok"}`, impliedHealth()},
		{"a path on the health port", `"ports": ["http", "health"], "health": {"http": "/status?full=1"}`,
			defaultHealth("http://127.0.0.1:{{ports[health]}}/status?full=1", nil)},
		{"a path on the http port", `"ports": ["http"], "health": {"http": "/status"}`,
			defaultHealth("http://127.0.0.1:{{ports[http]}}/status", nil)},
		{"a URL as written", `"ports": ["admin"], "health": {"http": "http://localhost:{{ports[admin]}}/ok"}`,
			defaultHealth("http://localhost:{{ports[admin]}}/ok", nil)},
		{"a fixed port", `"health": {"http": "http://[::1]:8080"}`,
			defaultHealth("http://[::1]:8080", nil)},
		{"a command string", `"health": {"command": "pgrep tor"}`, defaultHealth("", sh("pgrep tor"))},
		{"a command array", `"ports": "p", "health": {"command": ["check", "--port", "{{ports[p]}}"]}`,
			defaultHealth("", []string{"check", "--port", "{{ports[p]}}"})},
		{"every setting", `"health": {"command": "c", "interval": "1m", "timeout": 30, "initial-interval": 0, "max-consecutive-failures": 4, "min-consecutive-successes": 3}`,
			&Health{Command: sh("c"), Interval: time.Minute, Timeout: 30 * time.Second, MaxConsecutiveFailures: 4, MinConsecutiveSuccesses: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, "k.json", `{"procs": {"p": {"command": "x", `+tt.settings+`}}}`)
			if diff := cmp.Diff(tt.want, cfg.Procs[0].Health, ignorePositions); diff != "" {
				t.Errorf("health (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJobRetries: every job has a backoff, a proc's default unless given;
// max-failures says whether it is used.
func TestJobRetries(t *testing.T) {
	cfg := parse(t, "k.yaml", "jobs:\n  a: {command: x}\n  b: {command: x, max-failures: 3}\n  c: {command: x, max-failures: 1e1, backoff: [0, 1m]}\n")
	type retry struct {
		Max     int
		Backoff []time.Duration
	}
	var got []retry
	for _, j := range cfg.Jobs {
		got = append(got, retry{j.MaxFailures, j.Backoff})
	}
	want := []retry{{0, defaultBackoff}, {3, defaultBackoff}, {10, []time.Duration{0, time.Minute}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retries (-want +got):\n%s", diff)
	}
}

// pos counts a column from the position it gave last when it can; in any
// order of offsets the answer is the one counted from the line's start.
func TestSourcePosInAnyOrder(t *testing.T) {
	text := []byte("{\"é\": 1, \"ü\": [\"日本\", 2]}\n  \"x\": \"ß\"\n")
	s := newSource("k.json", text)
	fresh := func(off int) lang.Pos { return newSource("k.json", text).pos(off) }
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		off := rnd.IntN(len(text) + 1)
		if got, want := s.pos(off), fresh(off); got != want {
			t.Fatalf("pos(%d) = %+v, want %+v", off, got, want)
		}
	}
}

// TestLocalMail: without a mail section, mail goes through the machine's
// sendmail when there is one, as cron's does, and by SMTP to localhost:25
// otherwise.
func TestLocalMail(t *testing.T) {
	dir := t.TempDir()
	old := SendmailPath
	t.Cleanup(func() { SendmailPath = old })
	SendmailPath = filepath.Join(dir, "sendmail")
	if m, ok := LocalMail(); ok || m.SMTP != "localhost:25" || m.Sendmail != nil {
		t.Errorf("without a sendmail: %+v, %v; want SMTP to localhost:25", m, ok)
	}
	if err := os.WriteFile(SendmailPath, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := LocalMail(); ok {
		t.Error("a sendmail that is not executable is taken")
	}
	os.Chmod(SendmailPath, 0o755)
	if m, ok := LocalMail(); !ok || len(m.Sendmail) != 1 || m.Sendmail[0] != SendmailPath || m.SMTP != "" {
		t.Errorf("with a sendmail: %+v, %v; want it", m, ok)
	}
}
