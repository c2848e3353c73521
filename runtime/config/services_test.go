package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func parseService(t *testing.T, file, src string) *Config {
	t.Helper()
	cfg, _, err := ParseService(file, []byte(src))
	if err != nil {
		t.Fatalf("ParseService(%s): %v", file, err)
	}
	return cfg
}

// The two examples of service-manager.md, as files of a services
// directory, mean what examples/service-manager.json writes in kopf's own
// keys.
func TestServiceManagerExamples(t *testing.T) {
	want := load(t, "../../examples/service-manager.json")
	var parts []*Config
	for _, name := range []string{"cleanup_logs.json", "mastermon.json"} {
		file := filepath.Join("../../examples/services", name)
		cfg := parseService(t, file, mustRead(t, file))
		if cfg.File != file {
			t.Errorf("ParseService(%s).File = %q", file, cfg.File)
		}
		parts = append(parts, cfg)
	}
	got, err := Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpConfig, ignorePositions); diff != "" {
		t.Errorf("services directory differs from service-manager.json (-want +got):\n%s", diff)
	}
	if p := got.Procs[0]; p.Pos.String() != "../../examples/services/mastermon.json:4:11" {
		t.Errorf("mastermon is at %s, want the text of its \"name\"", p.Pos)
	}
}

func TestServiceCommand(t *testing.T) {
	tests := []struct {
		name, file, src string
		argv            []string
		dir             string
		job             bool
	}{
		{"cmd with args as $1 and on, $0 the name", "/etc/s/web.json",
			`{"name": "web", "cmd": "exec httpd -p \"$1\"", "args": ["8080"]}`,
			[]string{"/bin/sh", "-c", `exec httpd -p "$1"`, "web", "8080"}, "", false},
		{"name from the file", "/etc/s/backup.json",
			`{"cmd": "backup", "scheduling": "every 1d @ 03:00"}`,
			[]string{"/bin/sh", "-c", "backup", "backup"}, "", true},
		{"tool in root_directory", "/etc/s/t.json",
			`{"tool": "infra.x", "root_directory": "/opt/p", "args": ["-v"]}`,
			[]string{"./run.py", "infra.x", "-v"}, "/opt/p", false},
		{"relative root_directory from the file's directory", "/etc/s/t.json",
			`{"tool": "infra.x", "root_directory": "../p"}`,
			[]string{"./run.py", "infra.x"}, "/etc/p", false},
		{"kopf's own command and dir", "/etc/s/k.json",
			`{"command": ["sleep", "9"], "dir": "/tmp", "title": "nap"}`,
			[]string{"sleep", "9"}, "/tmp", false},
		{"a period makes a job", "/etc/s/p.json",
			`{"command": ["true"], "period": "1h"}`,
			[]string{"true"}, "", true},
		{"max-failures makes a job", "/etc/s/m.json",
			`{"command": ["true"], "max-failures": 3, "trigger": "m"}`,
			[]string{"true"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parseService(t, tt.file, tt.src)
			var u *Unit
			switch {
			case tt.job && len(cfg.Jobs) == 1 && len(cfg.Procs) == 0:
				u = &cfg.Jobs[0].Unit
			case !tt.job && len(cfg.Procs) == 1 && len(cfg.Jobs) == 0:
				u = &cfg.Procs[0].Unit
			default:
				t.Fatalf("got %d jobs and %d procs, want one %s", len(cfg.Jobs), len(cfg.Procs), map[bool]string{true: "job", false: "proc"}[tt.job])
			}
			if diff := cmp.Diff(tt.argv, u.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if u.Dir != tt.dir {
				t.Errorf("dir = %q, want %q", u.Dir, tt.dir)
			}
			if u.Shell {
				t.Errorf("Shell = true; a service's command is an argv, so a trigger's arguments extend $@")
			}
		})
	}
}

// A services file takes ports and health checks as a proc in the config
// file does.
func TestServiceHealth(t *testing.T) {
	cfg := parseService(t, "/etc/s/web.json", `{"cmd": "exec httpd -p {{ports[http]}} -s {{ports[health]}}", "ports": ["http", "health"], "health": {"http": "/status", "interval": "30s"}, "restart-on-change": "httpd.conf"}`)
	p := cfg.Procs[0]
	want := defaultHealth("http://127.0.0.1:{{ports[health]}}/status", nil)
	want.Interval = 30 * time.Second
	if diff := cmp.Diff(want, p.Health, ignorePositions); diff != "" {
		t.Errorf("health (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"http", "health"}, p.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"httpd.conf"}, p.RestartOnChange); diff != "" {
		t.Errorf("restart-on-change (-want +got):\n%s", diff)
	}
	if p.Health.Pos.String() != "/etc/s/web.json:1:102" {
		t.Errorf("health is at %s, want its value's place", p.Health.Pos)
	}
}

func TestServiceStopTime(t *testing.T) {
	for _, key := range []string{"stop_time", "stop-time"} {
		cfg := parseService(t, "s.json", `{"cmd": "x", "`+key+`": 3}`)
		if got := cfg.Procs[0].StopTime.Seconds(); got != 3 {
			t.Errorf("%s: 3 gives stop-time %vs", key, got)
		}
	}
}

func TestServiceProblems(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"not an object", `["x"]`, []string{
			`s.json:1:1: a service file must be an object of settings like {"name": …, "cmd": …}, found an array`,
		}},
		{"two commands", `{"tool": "a", "root_directory": "/", "cmd": "b"}`, []string{
			`s.json:1:38: give one of "tool", "cmd" and "command"; "tool" is at 1:2`,
		}},
		{"args without a command to take them", `{"command": ["x"], "args": ["y"]}`, []string{
			`s.json:1:20: "args" goes with "tool" or "cmd"; with "command", put the arguments in its array`,
		}},
		{"tool without root_directory", `{"tool": "infra.x"}`, []string{
			`s.json:1:2: "tool" needs "root_directory", the directory that holds run.py`,
		}},
		{"both spellings of stop time", `{"cmd": "x", "stop_time": 1, "stop-time": 2}`, []string{
			`s.json:1:30: "stop-time" and "stop_time" are the same setting; give one (the other is at 1:14)`,
		}},
		{"root_directory and dir", `{"cmd": "x", "dir": "/a", "root_directory": "/b"}`, []string{
			`s.json:1:27: "root_directory" and "dir" are the same setting; give one (the other is at 1:14)`,
		}},
		{"messages name the key as written", `{"cmd": "x", "stop_time": "soon", "root_directory": 7}`, []string{
			`s.json:1:27: invalid duration "soon" for "stop_time": expected a number at "soon"`,
			`s.json:1:53: "root_directory" must be a string, found a number (7)`,
		}},
		{"backoff on a job retries it", `{"cmd": "x", "scheduling": "every 1h", "backoff": [1], "max-failures": 2}`, nil},
		{"backoff on a job without max-failures", `{"cmd": "x", "scheduling": "every 1h", "backoff": [1]}`, []string{
			`s.json:1:51: warning: "backoff" has no effect without "max-failures": a job's backoff is the wait before retrying a failed run`,
		}},
		{"proc keys on a job", `{"cmd": "x", "scheduling": "every 1h", "health": {"command": "c"}, "hup-on-change": "x.rc"}`, []string{
			`s.json:1:40: "health" is only for procs, and this service is a job because of "scheduling" at 1:14`,
			`s.json:1:68: "hup-on-change" is only for procs, and this service is a job because of "scheduling" at 1:14`,
		}},
		{"proto", `{"cmd": "x", "proto": "base"}`, []string{
			`s.json:1:14: "proto" does not work in a services file: protos live in the config file, and a services file stands alone`,
		}},
		{"port reference in cmd", `{"cmd": "httpd -p {{ports[htp]}}", "ports": "http"}`, []string{
			`s.json:1:19: no port named "htp" in "ports" (did you mean "http"?)`,
		}},
		{"health without a port", `{"cmd": "httpd", "health": {"http": "/status"}}`, []string{
			`s.json:1:37: health http path needs a port: add "health" to "ports"`,
		}},
		{"a service without a command", `{"name": "idle"}`, []string{
			`s.json:1:10: proc "idle" has no "command"; a proc needs one to run`,
		}},
		{"empty name", `{"name": "", "cmd": "x"}`, []string{
			`s.json:1:10: a service needs a name; "" is none`,
		}},
		{"unknown key", `{"cmd": "x", "stop_tme": 1}`, []string{
			`s.json:1:14: unknown key "stop_tme" in proc "s" (did you mean "stop-time"?)`,
		}},
		{"schedule errors placed in the file", `{"cmd": "x", "scheduling": ["every 5m", "every 1d @ 25:00"]}`, []string{
			`s.json:1:53: 25:00 is outside the day: hours run from 00 to 23 (24:00 may only end a window)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, ParseService, "s.json", tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceManagerBrokenExampleAsServiceFile(t *testing.T) {
	got := problemsOf(t, ParseService, "cleanup_logs.json", mustRead(t, "../../examples/service-manager-broken.json"))
	want := []string{`cleanup_logs.json:6:13: missing comma after this value; the next one starts at 8:3`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
