package cli_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// healthtest is more of kopftest:
//
//	serve PORT PIDFILE HEALTHFILE  serve GET /health on 127.0.0.1:PORT:
//	    200 "ok" while HEALTHFILE holds "ok", 503 otherwise; PORT must be
//	    the one in $KOPF_PORT_HEALTH; PIDFILE gets the pid once listening
//	hup PIDFILE LOG                write the pid, then add "hup" to LOG at
//	    each SIGHUP
//	flaky COUNTER N                count runs in COUNTER; the first N fail
func healthtest(args []string) int {
	switch args[0] {
	case "serve":
		if os.Getenv("KOPF_PORT_HEALTH") != args[1] {
			fmt.Fprintf(os.Stderr, "port %s is not KOPF_PORT_HEALTH=%s\n", args[1], os.Getenv("KOPF_PORT_HEALTH"))
			return 3
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+args[1])
		if err != nil {
			return 1
		}
		os.WriteFile(args[2], []byte(strconv.Itoa(os.Getpid())), 0o644)
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, _ := os.ReadFile(args[3]); strings.TrimSpace(string(b)) != "ok" {
				http.Error(w, "sick", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		}))
		return 1
	case "hup":
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		os.WriteFile(args[1], []byte(strconv.Itoa(os.Getpid())), 0o644)
		for range hup {
			f, _ := os.OpenFile(args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			fmt.Fprintln(f, "hup")
			f.Close()
		}
	case "flaky":
		b, _ := os.ReadFile(args[1])
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		os.WriteFile(args[1], []byte(strconv.Itoa(n+1)), 0o644)
		if limit, _ := strconv.Atoi(args[2]); n < limit {
			return 1
		}
		return 0
	}
	return 2
}

// unitStatus asks the daemon for one unit's status.
func unitStatus(t *testing.T, sock, name string) control.Unit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := control.Call(ctx, sock, control.Request{Cmd: control.CmdStatus})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range resp.Units {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("no %s in status", name)
	return control.Unit{}
}

// healthEvents returns the health events of unit as "ACTION" strings.
func healthEvents(t *testing.T, dir, unit string) []string {
	var out []string
	for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
		if ev.Type == journal.Health && ev.Unit == unit {
			out = append(out, string(ev.Action))
		}
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// server is a config for a checked HTTP proc named name in dir.
func server(dir, name, health string) string {
	return fmt.Sprintf(`%q: {
		"ports": ["health"],
		"command": ["kopftest", "serve", "{{ports[health]}}", %q, %q],
		"dir": %q,
		"health": %s,
		"backoff": [0],
		"idle": 0
	}`, name, filepath.Join(dir, name+".pid"), filepath.Join(dir, name+".health"), dir, health)
}

func TestHealthChecksRestartAnUnhealthyProc(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "web.health"), "ok", 0o644)
	cfg := writeConfig(t, dir, "kopf.json", `{"procs": {`+
		server(dir, "web", `{"interval": "300ms", "timeout": "2s", "initial-interval": 0, "max-consecutive-failures": 2}`)+`}}`)
	d, sock := controlled(t, dir, cfg)
	web := waitStarted(t, d, "web", filepath.Join(dir, "web.pid"), 0)
	waitFor(t, "web to be healthy", d, func() bool { return unitStatus(t, sock, "web").Health == "healthy" })
	if st := unitStatus(t, sock, "web"); st.LastCheck == nil || st.LastCheck.Error != "" {
		t.Errorf("last check = %+v, want a passed one", st.LastCheck)
	}

	mustWrite(t, filepath.Join(dir, "web.health"), "sick", 0o644)
	waitStarted(t, d, "web", filepath.Join(dir, "web.pid"), web)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	evs := healthEvents(t, dir, "web")
	// Three failures in a row: more than max-consecutive-failures 2. The
	// journal has the first failure and the restart, not each failure.
	if i := strings.Index(strings.Join(evs, " "), "healthy failed restart"); i < 0 {
		t.Errorf("health events %q: want the first failure, then a restart", evs)
	}
}

func TestHealthGracePeriodAndSnooze(t *testing.T) {
	dir := t.TempDir()
	// slow is sick from the start, but within its grace: 3s / 300ms = 10
	// checks whose failures do not count.
	mustWrite(t, filepath.Join(dir, "slow.health"), "sick", 0o644)
	mustWrite(t, filepath.Join(dir, "nap", "nap.health"), "ok", 0o644)
	cfg := writeConfig(t, dir, "kopf.json", `{"procs": {`+
		server(dir, "slow", `{"interval": "300ms", "timeout": "2s", "initial-interval": "3s"}`)+`, `+
		server(filepath.Join(dir, "nap"), "nap", `{"interval": "300ms", "timeout": "2s", "initial-interval": 0}`)+`}}`)
	d, sock := controlled(t, dir, cfg)
	slow := waitStarted(t, d, "slow", filepath.Join(dir, "slow.pid"), 0)
	nap := waitStarted(t, d, "nap", filepath.Join(dir, "nap", "nap.pid"), 0)

	// While .healthchecksnooze exists in nap's dir, its checks stop.
	waitFor(t, "nap to be healthy", d, func() bool { return unitStatus(t, sock, "nap").Health == "healthy" })
	mustWrite(t, filepath.Join(dir, "nap", ".healthchecksnooze"), "", 0o644)
	waitFor(t, "nap's checks to snooze", d, func() bool { return unitStatus(t, sock, "nap").Health == "snoozed" })
	mustWrite(t, filepath.Join(dir, "nap", "nap.health"), "sick", 0o644)

	// Five of slow's checks fail: one journal event for the first, and
	// the last check's time moves on for the others.
	waitFor(t, "slow's checks to fail", d, func() bool { return count(healthEvents(t, dir, "slow"), "failed") == 1 })
	first := unitStatus(t, sock, "slow").LastCheck.At
	waitFor(t, "four more of slow's checks", d, func() bool {
		st := unitStatus(t, sock, "slow")
		return st.LastCheck.At.Sub(first) >= 1200*time.Millisecond || st.PID != slow
	})
	if n := count(healthEvents(t, dir, "slow"), "failed"); n != 1 {
		t.Errorf("%d failed events for one run of failed checks, want 1", n)
	}
	if st := unitStatus(t, sock, "slow"); st.PID != slow || st.Health != "starting" {
		t.Errorf("slow within its grace: %+v, want pid %d still starting", st, slow)
	}
	if st := unitStatus(t, sock, "nap"); st.PID != nap || st.Health != "snoozed" {
		t.Errorf("nap while snoozed: %+v, want pid %d snoozed", st, nap)
	}
	// The snooze over, the sick nap is restarted.
	os.Remove(filepath.Join(dir, "nap", ".healthchecksnooze"))
	waitStarted(t, d, "nap", filepath.Join(dir, "nap", "nap.pid"), nap)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if evs := healthEvents(t, dir, "nap"); count(evs, "snoozed") != 1 || count(evs, "resumed") != 1 {
		t.Errorf("nap's health events %q: want one snoozed and one resumed", evs)
	}
}

func TestMaxFailuresRetriesAFlakyJob(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "runs")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"jobs": {
		"flaky": {"command": ["kopftest", "flaky", %q, "2"], "schedule": "every 1h", "run-on-start": true,
		          "max-failures": 3, "backoff": ["100ms"]}
	}}`, counter))
	d, sock := controlled(t, dir, cfg)
	waitFor(t, "three runs", d, func() bool { b, _ := os.ReadFile(counter); return strings.TrimSpace(string(b)) == "3" })
	waitFor(t, "the success to reset the count", d, func() bool {
		st := unitStatus(t, sock, "flaky")
		return st.State == control.Waiting && st.Failures == 0
	})
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	var kinds []string
	for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
		if ev.Type == journal.Retry || ev.Type == journal.GaveUp {
			kinds = append(kinds, string(ev.Type))
		}
	}
	if strings.Join(kinds, " ") != "retry retry" {
		t.Errorf("journal: %q, want two retries and no giving up", kinds)
	}
}

func TestRestartAndHUPOnChangeForReal(t *testing.T) {
	dir := t.TempDir()
	pid, log := filepath.Join(dir, "tor.pid"), filepath.Join(dir, "hups")
	mustWrite(t, filepath.Join(dir, "tor.bin"), "v1", 0o644)
	mustWrite(t, filepath.Join(dir, "tor.rc"), "a", 0o644)
	// The proc has a child in its process group, as a shell wrapper's
	// program would be: SIGHUP is for the proc, and would kill the child.
	child := filepath.Join(dir, "child")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"procs": {"tor": {
		"command": ["kopftest", "bg", %q, "hup", %q, %q], "dir": %q,
		"restart-on-change": "tor.bin", "hup-on-change": ["tor.rc"], "idle": 0, "backoff": [0]
	}}}`, child, pid, log, dir))
	d, _ := controlled(t, dir, cfg)
	tor := waitStarted(t, d, "tor", pid, 0)
	waitFor(t, "the proc's child", d, func() bool { return pidTicksAlive(child) })
	// A touch is no change; new content is.
	now := time.Now()
	os.Chtimes(filepath.Join(dir, "tor.rc"), now, now)
	atomicSave(t, filepath.Join(dir, "tor.rc"), "b")
	waitFor(t, "tor to get SIGHUP", d, func() bool { b, _ := os.ReadFile(log); return strings.Count(string(b), "hup") >= 1 })
	time.Sleep(50 * time.Millisecond) // a SIGHUP to the group would have killed the child by now
	if !pidTicksAlive(child) {
		t.Errorf("the proc's child died of the SIGHUP meant for the proc")
	}
	mustWrite(t, filepath.Join(dir, "tor.bin"), "v2", 0o644)
	waitStarted(t, d, "tor", pid, tor)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if b, _ := os.ReadFile(log); string(b) != "hup\n" {
		t.Errorf("tor got %q, want one SIGHUP", b)
	}
	var changes []string
	for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
		if ev.Type == journal.FileChanged {
			changes = append(changes, filepath.Base(ev.File)+" "+string(ev.Action))
		}
	}
	if strings.Join(changes, ", ") != "tor.rc hup, tor.bin restart" {
		t.Errorf("journal: %q", changes)
	}
}

func TestProtosAndPortsForReal(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"protos": {
			"quiet": {"log-start": false, "env": {"WHO": "proto"}},
			"local": {"proto": "quiet", "ports": ["http"], "stop-time": 1}
		},
		"jobs": {"show": {"proto": "local", "run-on-start": true,
			"command": "echo \"$WHO {{ports[http]}} $KOPF_PORT_HTTP\" > %s"}}
	}`, out))
	d, _ := controlled(t, dir, cfg)
	waitFor(t, "the job to run", d, func() bool { b, _ := os.ReadFile(out); return len(b) > 0 })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	f := strings.Fields(string(mustReadFile(t, out)))
	if len(f) != 3 || f[0] != "proto" || f[1] != f[2] {
		t.Fatalf("the job wrote %q, want the proto's env and its port twice", f)
	}
	if port, err := strconv.Atoi(f[1]); err != nil || port <= 0 || port > 65535 {
		t.Errorf("port %q", f[1])
	}
	if d.logged("start show") {
		t.Errorf("the proto's log-start false was not inherited")
	}

}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
