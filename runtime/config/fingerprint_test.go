package config

import (
	"strings"
	"testing"
)

// baseJob is a job with every job key set; baseProc a proc with every proc
// key set, as of the tests' writing: fixtures for the tests of what does
// not change a fingerprint, and for the hand-picked changes below. That
// every setting counts is TestFingerprintEverySetting's, from the table of
// settings. Each is a list of "key": value pairs so a test can replace one.
var (
	baseJob = [][2]string{
		{"command", `"backup --all"`},
		{"dir", `"/tmp"`},
		{"env", `{"A": "1", "B": 2}`},
		{"title", `"the backup"`},
		{"log-start", `true`},
		{"log-output", `false`},
		{"idle", `0`},
		{"stop-time", `10`},
		{"mail-to", `"a@example.com"`},
		{"mail-from", `"k@example.com"`},
		{"mail-partial-after", `"1h"`},
		{"keep-leftovers", `true`},
		{"timezone", `"Europe/Berlin"`},
		{"period", `3600`},
		{"pause", `0`},
		{"random", `60`},
		{"timeout", `"2h"`},
		{"run-on-start", `true`},
		{"catch-up", `"last"`},
		{"schedule", `["every 1h30m", "0 4"]`},
		{"cron", `{"0 17": ["--x"]}`},
		{"trigger", `{"k": ["--y"]}`},
		{"ports", `["web", "admin"]`},
		{"max-failures", `3`},
		{"backoff", `[1, "5s"]`},
		{"dst", `{"gap": "skip"}`},
		{"jitter", `"10m"`},
		{"catch-up-within", `"6h"`},
		{"overlap", `"queue"`},
	}
	baseProc = [][2]string{
		{"command", `["tor", "-f", "tor.rc"]`},
		{"dir", `"/var/lib/tor"`},
		{"env", `{"HOME": "/var/lib/tor"}`},
		{"title", `"onion"`},
		{"log-start", `true`},
		{"log-output", `true`},
		{"idle", `10`},
		{"stop-time", `"10s"`},
		{"mail-to", `["a@example.com"]`},
		{"mail-from", `"k@example.com"`},
		{"mail-partial-after", `300`},
		{"keep-leftovers", `false`},
		{"timezone", `"UTC"`},
		{"backoff", `[0, 5, 15, 60]`},
		{"ports", `["socks", "health"]`},
		{"health", `{"http": "/health", "interval": 5}`},
		{"restart-on-change", `["tor.bin", "lib.so"]`},
		{"hup-on-change", `"tor.rc"`},
	}
)

// with returns settings with key's value replaced (added when absent;
// dropped when value is ""); a key "old=new" also renames the key.
func with(settings [][2]string, key, value string) [][2]string {
	var out [][2]string
	old, renamed, rename := strings.Cut(key, "=")
	found := false
	for _, kv := range settings {
		if kv[0] != old {
			out = append(out, kv)
			continue
		}
		found = true
		if value == "" {
			continue
		}
		if rename {
			kv[0] = renamed
		}
		out = append(out, [2]string{kv[0], value})
	}
	if !found {
		out = append(out, [2]string{key, value})
	}
	return out
}

func object(settings [][2]string) string {
	var parts []string
	for _, kv := range settings {
		parts = append(parts, `"`+kv[0]+`": `+kv[1])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func fingerprints(t *testing.T, file, src string) (job, proc string) {
	t.Helper()
	cfg := parse(t, file, src)
	return cfg.Jobs[0].Fingerprint(), cfg.Procs[0].Fingerprint()
}

func configOf(job, proc [][2]string) string {
	return `{"jobs": {"j": ` + object(job) + `, "k": {"command": "k"}}, "procs": {"p": ` + object(proc) + `}}`
}

func TestFingerprintEqual(t *testing.T) {
	wantJob, wantProc := fingerprints(t, "k.json", configOf(baseJob, baseProc))
	reordered := make([][2]string, len(baseJob))
	for i, kv := range baseJob {
		reordered[len(baseJob)-1-i] = kv
	}
	tests := []struct {
		name string
		file string
		src  string
	}{
		{"formatting, comments and trailing commas", "k.json", strings.TrimSuffix(strings.ReplaceAll(configOf(baseJob, baseProc), ", ", ",\n    /* note */\n    "), "}") + ",\n}\n"},
		{"keys in another order", "k.json", configOf(reordered, baseProc)},
		{"YAML", "k.yaml", `
jobs:
  k: {command: k}
  j:
    command: backup --all
    dir: /tmp
    env: {B: 2, A: "1"}
    title: the backup
    log-start: true
    log-output: false
    idle: 0s
    stop-time: 10s
    mail-to: a@example.com
    mail-from: k@example.com
    mail-partial-after: 60m
    keep-leftovers: true
    timezone: Europe/Berlin
    period: 1h
    pause: 0
    random: 1m
    timeout: 7200
    run-on-start: true
    schedule: ["0 4", every 90m]
    cron: {"0 17": --x}
    trigger: {k: --y}
    ports: [admin, web]
    max-failures: 3
    backoff: [1s, 5]
    dst: {gap: skip}
    jitter: 600
    catch-up: last
    catch-up-within: 6h
    overlap: queue
procs:
  p:
    command: [tor, -f, tor.rc]
    dir: /var/lib/tor
    env: {HOME: /var/lib/tor}
    title: onion
    log-start: true
    log-output: true
    idle: 10
    stop-time: 10
    mail-to: [a@example.com]
    mail-from: k@example.com
    mail-partial-after: 5m
    timezone: UTC
    backoff: [0s, 5s, 15s, 1m]
    ports: [health, socks]
    health: {http: "http://127.0.0.1:{{ports[health]}}/health", interval: 5s}
    restart-on-change: [lib.so, tor.bin]
    hup-on-change: [tor.rc]
`},
		{"defaults written out or left out", "k.json", configOf(
			with(with(with(with(baseJob, "log-start", ""), "log-output", ""), "idle", ""), "run-on-start", ""),
			with(with(with(with(baseProc, "idle", ""), "stop-time", ""), "timezone", ""), "backoff", ""))},
		{"durations written alike", "k.json", configOf(with(with(baseJob, "period", `"60m"`), "random", `"1m0s"`), with(baseProc, "idle", `"10000ms"`))},
		{"scheduling is schedule", "k.json", configOf(with(baseJob, "schedule=scheduling", `["every 1h30m", "0 4"]`), baseProc)},
		{"a schedule moved to cron", "k.json", configOf(with(with(baseJob, "schedule", `"every 1h30m"`), "cron", `{"0 17": ["--x"], "0 4 * * *": []}`), baseProc)},
		{"one-element lists", "k.json", configOf(with(baseJob, "mail-to", `["a@example.com"]`), with(baseProc, "mail-to", `"a@example.com"`))},
		{"numbers in env", "k.json", configOf(with(baseJob, "env", `{"B": "2", "A": "1"}`), baseProc)},
		{"ports in another order", "k.json", configOf(with(baseJob, "ports", `["admin", "web"]`), with(baseProc, "ports", `["health", "socks"]`))},
		{"health URL written out", "k.json", configOf(baseJob, with(baseProc, "health", `{"http": "http://127.0.0.1:{{ports[health]}}/health", "interval": "5s"}`))},
		{"health defaults written out", "k.json", configOf(baseJob, with(baseProc, "health",
			`{"http": "/health", "interval": 5, "timeout": "1s", "initial-interval": 15, "max-consecutive-failures": 0, "min-consecutive-successes": 1}`))},
		{"watched files in another order", "k.json", configOf(baseJob, with(with(baseProc, "restart-on-change", `["lib.so", "tor.bin"]`), "hup-on-change", `["tor.rc"]`))},
		{"protos", "k.json", withProtos(baseJob, baseProc)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, proc := fingerprints(t, tt.file, tt.src)
			if job != wantJob {
				t.Errorf("job fingerprint differs:\n%s\nwant:\n%s", job, wantJob)
			}
			if proc != wantProc {
				t.Errorf("proc fingerprint differs:\n%s\nwant:\n%s", proc, wantProc)
			}
		})
	}
}

func TestFingerprintDiffers(t *testing.T) {
	baseJobFP, baseProcFP := fingerprints(t, "k.json", configOf(baseJob, baseProc))
	jobChanges := []struct{ key, value string }{
		// A job's extra arguments reach a string command as "$@", and an
		// argv as more argv entries: the two forms run differently.
		{"command", `["/bin/sh", "-c", "backup --all"]`},
		{"command", `"backup --some"`},
		{"command", `["backup", "--all"]`},
		{"dir", `"/var/tmp"`},
		{"dir", ""},
		{"env", `{"A": "1", "B": 3}`},
		{"env", `{"A": "1", "B": 2, "C": ""}`},
		{"title", `"backup"`},
		{"log-start", `false`},
		{"log-output", `true`},
		{"idle", `5`},
		{"stop-time", `20`},
		{"mail-to", `["a@example.com", "b@example.com"]`},
		{"mail-from", `"kopf@example.com"`},
		{"mail-partial-after", `"2h"`},
		{"mail-partial-after", ""},
		{"keep-leftovers", `false`},
		{"timezone", `"UTC"`},
		{"timezone", `"Local"`},
		{"period", `3601`},
		{"pause", `1`},
		{"random", `61`},
		{"timeout", `"3h"`},
		{"timeout", ""},
		{"run-on-start", `false`},
		{"catch-up", `"all"`},
		{"schedule", `["every 1h30m", "0 5"]`},
		{"schedule", `"every 1h30m"`},
		{"schedule=scheduling", `["every 1h", "0 4"]`},
		{"cron", `{"0 17": ["--z"]}`},
		{"cron", `{"0 17": []}`},
		{"cron", `{"0 18": ["--x"]}`},
		{"cron", `"0 17"`},
		{"trigger", `{"k": ["--z"]}`},
		{"trigger", `"k"`},
		{"trigger", ""},
		{"ports", `["web"]`},
		{"ports", ""},
		{"max-failures", `4`},
		{"backoff", `[1, "6s"]`},
		{"backoff", ""},
		{"dst", `{"gap": "shift"}`},
		{"dst", `{"gap": "skip", "overlap": "both"}`},
		{"dst", ""},
		{"jitter", `"11m"`},
		{"jitter", ""},
		{"catch-up-within", `"7h"`},
		{"overlap", `"skip"`},
		{"overlap", `"replace"`},
	}
	for _, c := range jobChanges {
		job, _ := fingerprints(t, "k.json", configOf(with(baseJob, c.key, c.value), baseProc))
		if job == baseJobFP {
			t.Errorf("job with %s: %s has the same fingerprint", c.key, c.value)
		}
	}
	procChanges := []struct{ key, value string }{
		{"command", `["tor", "-f", "torrc"]`},
		{"command", `"tor -f tor.rc"`},
		{"dir", `"/"`},
		{"env", `{"HOME": "/"}`},
		{"env", ""},
		{"title", `"tor"`},
		{"log-start", `false`},
		{"log-output", `false`},
		{"idle", `11`},
		{"stop-time", `"1m"`},
		{"mail-to", `["b@example.com"]`},
		{"mail-from", `"a@example.com"`},
		{"mail-partial-after", `301`},
		{"keep-leftovers", `true`},
		{"timezone", `"Asia/Tokyo"`},
		{"backoff", `[0, 5, 15]`},
		{"backoff", `[0, 5, 15, 61]`},
		{"ports", `["socks", "health", "control"]`},
		{"health", ""},
		{"health", `{"http": "/healthz", "interval": 5}`},
		{"health", `{"http": "http://127.0.0.1:9050/health", "interval": 5}`},
		{"health", `{"command": "curl -sf http://127.0.0.1:{{ports[health]}}/health", "interval": 5}`},
		{"health", `{"http": "/health"}`},
		{"health", `{"http": "/health", "interval": 5, "timeout": 2}`},
		{"health", `{"http": "/health", "interval": 5, "initial-interval": 16}`},
		{"health", `{"http": "/health", "interval": 5, "max-consecutive-failures": 1}`},
		{"health", `{"http": "/health", "interval": 5, "min-consecutive-successes": 2}`},
		{"restart-on-change", `"tor.bin"`},
		{"restart-on-change", ""},
		{"hup-on-change", `"torrc"`},
		{"hup-on-change", ""},
	}
	for _, c := range procChanges {
		_, proc := fingerprints(t, "k.json", configOf(baseJob, with(baseProc, c.key, c.value)))
		if proc == baseProcFP {
			t.Errorf("proc with %s: %s has the same fingerprint", c.key, c.value)
		}
	}
	// The name is part of it: a renamed unit is another unit.
	renamed := parse(t, "k.json", `{"jobs": {"i": `+object(baseJob)+`, "k": {"command": "k"}}}`)
	if renamed.Jobs[0].Fingerprint() == baseJobFP {
		t.Error("a renamed job has the same fingerprint")
	}
}

// withProtos is configOf with the first half of each unit's settings moved
// into a proto, and the proto in turn split into two, one taking the other.
func withProtos(job, proc [][2]string) string {
	jh, ph := len(job)/2, len(proc)/2
	return `{"protos": {` +
		`"job-base": ` + object(job[:jh/2]) + `, ` +
		`"job": ` + object(append([][2]string{{"proto", `"job-base"`}}, job[jh/2:jh]...)) + `, ` +
		`"proc": ` + object(proc[:ph]) + `}, ` +
		`"jobs": {"j": ` + object(append([][2]string{{"proto", `["job"]`}}, job[jh:]...)) + `, "k": {"command": "k"}}, ` +
		`"procs": {"p": ` + object(append([][2]string{{"proto", `"proc"`}}, proc[ph:]...)) + `}}`
}

// A job's backoff does not count while failed runs are not retried: it
// changes nothing then.
func TestFingerprintBackoffWithoutRetries(t *testing.T) {
	fp := func(settings string) string {
		t.Helper()
		cfg, _, err := Parse("k.json", []byte(`{"jobs": {"j": {"command": "x"`+settings+`}}}`))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Jobs[0].Fingerprint()
	}
	if a, b := fp(``), fp(`, "backoff": [1, 2]`); a != b {
		t.Errorf("backoff without max-failures changes the fingerprint:\n%s\n%s", a, b)
	}
	if a, b := fp(``), fp(`, "max-failures": 1`); a == b {
		t.Errorf("max-failures does not change the fingerprint:\n%s", a)
	}
	if a, b := fp(`, "max-failures": 1`), fp(`, "max-failures": 1, "backoff": [1, 2]`); a == b {
		t.Errorf("backoff with max-failures does not change the fingerprint:\n%s", a)
	}
}

// For a proc a string command is exactly the /bin/sh -c argv it stands for;
// for a job it is not, because extra arguments reach a string command as
// "$@" and an argv as further argv entries.
func TestFingerprintShellForm(t *testing.T) {
	load := func(command string) (string, string) {
		t.Helper()
		cfg, _, err := Parse("k.json", []byte(`{"jobs": {"j": {"command": `+command+`}}, "procs": {"p": {"command": `+command+`}}}`))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Jobs[0].Fingerprint(), cfg.Procs[0].Fingerprint()
	}
	js, ps := load(`"tor -f tor.rc"`)
	ja, pa := load(`["/bin/sh", "-c", "tor -f tor.rc"]`)
	if ps != pa {
		t.Errorf("proc fingerprints differ:\n%s\n%s", ps, pa)
	}
	if js == ja {
		t.Errorf("job fingerprints are equal, but the forms pass extra arguments differently:\n%s", js)
	}
}

// TestFingerprintEverySetting changes each setting of the table in turn,
// from its first example to its second, and wants a new fingerprint: a
// setting that Fingerprint forgets — a change silently ignored on reload —
// fails here, and a new setting is tested as soon as it is in the table.
func TestFingerprintEverySetting(t *testing.T) {
	base := map[forKind][][2]string{}
	for _, s := range settings {
		switch {
		case s.key == "proto": // resolved before the unit is read; TestFingerprintEqual/protos
		case s.aliasOf != "":
		case s.examples[0] == "" || s.examples[1] == "" || s.examples[0] == s.examples[1]:
			t.Errorf("setting %q needs two different examples", s.key)
		default:
			for _, k := range []forKind{forJobs, forProcs} {
				if s.isFor(k) {
					base[k] = append(base[k], [2]string{s.key, s.examples[0]})
				}
			}
		}
	}
	load := func(kind forKind, unit [][2]string) string {
		t.Helper()
		src := `{"jobs": {"k": {"command": "k"}}}`
		if kind == forJobs {
			src = `{"jobs": {"j": ` + object(unit) + `, "k": {"command": "k"}}}`
		} else {
			src = `{"jobs": {"k": {"command": "k"}}, "procs": {"p": ` + object(unit) + `}}`
		}
		cfg, _, err := Parse("k.json", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if kind == forJobs {
			return cfg.Jobs[0].Fingerprint()
		}
		return cfg.Procs[0].Fingerprint()
	}
	for _, kind := range []forKind{forJobs, forProcs} {
		want := load(kind, base[kind])
		for _, s := range settings {
			if !s.isFor(kind) || s.key == "proto" {
				continue
			}
			if s.aliasOf != "" {
				// The alias with its key's values: the same as the key,
				// and told apart as the key is.
				of := settingOf(t, s.aliasOf)
				if got := load(kind, with(base[kind], s.aliasOf+"="+s.key, of.examples[0])); got != want {
					t.Errorf("%s: %q in place of %q changes the fingerprint", kind, s.key, s.aliasOf)
				}
				if got := load(kind, with(base[kind], s.aliasOf+"="+s.key, of.examples[1])); got == want {
					t.Errorf("%s: %q with %s has the base's fingerprint", kind, s.key, of.examples[1])
				}
				continue
			}
			if got := load(kind, with(base[kind], s.key, s.examples[1])); got == want {
				t.Errorf("%s: %q changed from %s to %s leaves the fingerprint as it was", kind, s.key, s.examples[0], s.examples[1])
			}
		}
	}
}

func settingOf(t *testing.T, key string) setting {
	t.Helper()
	for _, s := range settings {
		if s.key == key {
			return s
		}
	}
	t.Fatalf("no setting %q", key)
	return setting{}
}
