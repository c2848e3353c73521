package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// ask sends req to the daemon at sock.
func ask(t *testing.T, sock string, req control.Request) control.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := control.Call(ctx, sock, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Cmd, err)
	}
	return resp
}

// unitState is the state of unit in the daemon's status.
func unitState(t *testing.T, sock, unit string) string {
	t.Helper()
	for _, u := range ask(t, sock, control.Request{Cmd: control.CmdStatus}).Units {
		if u.Name == unit {
			return u.State
		}
	}
	return ""
}

// eventually waits up to 20 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
	}
}

// journalEvents reads a journal's events of type typ.
func journalEvents(t *testing.T, path string, typ journal.EventType) []journal.Event {
	t.Helper()
	var evs []journal.Event
	journal.Read(path, 0, func(ev journal.Event, _ []byte) error {
		if ev.Type == typ {
			evs = append(evs, ev)
		}
		return nil
	}, func(err error) { t.Errorf("journal: %v", err) })
	return evs
}

// notifySocket is a fake systemd's $NOTIFY_SOCKET; it records the state
// lines kopf sends.
type notifySocket struct {
	mu    sync.Mutex
	lines []string
}

func listenNotify(t *testing.T) *notifySocket {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	n := &notifySocket{}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.lines = append(n.lines, strings.Split(string(buf[:k]), "\n")...)
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) has(prefix string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestControlCommands: every command of the control socket reaches the
// supervisor or the reloader, a reload applies a changed config and
// journals what it did, an invalid one changes nothing and says where it
// is wrong, and systemd hears of it all by sd_notify.
func TestControlCommands(t *testing.T) {
	notify := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", "")
	dir := t.TempDir()
	cfg, log := testConfig(t, dir, `{"jobs": {"job": {"command": "true", "schedule": "every 1h"}}, "procs": {"p": {"command": "sleep 60"}}}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	askStatus(t, cfg.Socket)
	eventually(t, "p runs", func() bool { return unitState(t, cfg.Socket, "p") == "running" })
	eventually(t, "READY=1 and WATCHDOG=1 sent", func() bool { return notify.has("READY=1") && notify.has("WATCHDOG=1") })

	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdNext, Name: "job", N: 3}); !resp.OK || len(resp.Times) != 3 {
		t.Errorf("next job 3: %+v", resp)
	} else if a, b := resp.Times[0], resp.Times[1]; a >= b {
		t.Errorf("next times not in order: %v", resp.Times)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdTrigger, Name: "job"}); !resp.OK {
		t.Errorf("trigger: %+v", resp)
	}
	eventually(t, "the triggered run exits", func() bool {
		for _, ev := range journalEvents(t, cfg.Journal, journal.Exited) {
			if ev.Unit == "job" {
				return true
			}
		}
		return false
	})
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdStop, Name: "p"}); !resp.OK {
		t.Errorf("stop p: %+v", resp)
	}
	if st := unitState(t, cfg.Socket, "p"); st == "running" {
		t.Errorf("p is %s after stop", st)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdStart, Name: "p"}); !resp.OK {
		t.Errorf("start p: %+v", resp)
	}
	eventually(t, "p runs again", func() bool { return unitState(t, cfg.Socket, "p") == "running" })
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdRestart, Name: "p"}); !resp.OK {
		t.Errorf("restart p: %+v", resp)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdStop, Name: "nosuch"}); resp.OK || resp.Error == "" {
		t.Errorf("stop of an unknown unit: %+v", resp)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: "dance"}); resp.OK || !strings.Contains(resp.Error, `unknown command "dance"`) {
		t.Errorf("an unknown command: %+v", resp)
	}
	for _, cmd := range []control.Command{control.CmdCluster, control.CmdClaims, control.CmdHandoff} {
		req := control.Request{Cmd: cmd}
		if cmd != control.CmdCluster {
			req.Name = "job"
		}
		if resp := ask(t, cfg.Socket, req); resp.OK || resp.Error != errNoCluster.Error() {
			t.Errorf("%s outside a cluster: %+v", cmd, resp)
		}
	}

	// A reload with nothing changed, then one that adds a job.
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdReload}); !resp.OK || resp.Message != "nothing changed" {
		t.Errorf("reload of the same config: %+v", resp)
	}
	file := cfg.Sources.File
	os.WriteFile(file, []byte(`{"jobs": {"job": {"command": "true", "schedule": "every 1h"}, "new": {"command": "true", "schedule": "every 2h"}}, "procs": {"p": {"command": "sleep 60"}}}`), 0o644)
	resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdReload})
	if !resp.OK || !strings.HasPrefix(resp.Message, "reloaded: ") || !strings.Contains(resp.Message, "1 started (new)") {
		t.Errorf("reload that adds a job: %+v", resp)
	}
	if st := unitState(t, cfg.Socket, "new"); st == "" {
		t.Error("the added job is not in the status")
	}
	if !notify.has("RELOADING=1") || !notify.has("MONOTONIC_USEC=") {
		t.Error("systemd did not hear of the reload")
	}
	var reasons []string
	for _, ev := range journalEvents(t, cfg.Journal, journal.Reloaded) {
		reasons = append(reasons, ev.Reason)
	}
	if len(reasons) < 2 || reasons[0] != journal.ReloadStart || !strings.Contains(reasons[len(reasons)-1], "1 started (new)") {
		t.Errorf("reloaded events %q: want the start's, then the one that added", reasons)
	}

	// An invalid config: the answer says where, the units run on.
	os.WriteFile(file, []byte(`{"jobs": {"job": {"command": "true", "schedule": "every 1x"}}}`), 0o644)
	resp = ask(t, cfg.Socket, control.Request{Cmd: control.CmdReload})
	if resp.OK || !strings.Contains(resp.Error, "kopf.json:1:") {
		t.Errorf("reload of an invalid config: %+v", resp)
	}
	if st := unitState(t, cfg.Socket, "p"); st != "running" {
		t.Errorf("p is %q after an invalid reload, want running", st)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v\n%s", err, log)
	}
	if !notify.has("STOPPING=1") {
		t.Error("systemd did not hear kopf stop")
	}
}

// get fetches url with host as its Host header ("" for the URL's).
func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// addrIn is the address the log says a server listens on, after prefix.
func addrIn(t *testing.T, log *lockedBuffer, prefix string) string {
	t.Helper()
	var addr string
	eventually(t, "the log names "+prefix, func() bool {
		if _, rest, ok := strings.Cut(log.String(), prefix); ok {
			addr, _, _ = strings.Cut(rest, "/")
		}
		return addr != ""
	})
	return addr
}

// TestWebAndHealth: --http serves the page, /metrics and /healthz, and
// --health /healthz alone; both answer other names with 421; an address
// beyond loopback without a token is refused before anything starts.
func TestWebAndHealth(t *testing.T) {
	dir := t.TempDir()
	cfg, log := testConfig(t, dir, `{"jobs": {"nightly": {"command": "true", "schedule": "every 1d @ 03:00"}}}`)
	cfg.HTTP, cfg.Health = &HTTP{Addr: "127.0.0.1:0"}, "127.0.0.1:0"
	cfg.Hosts = []string{"kopf.internal"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	page := addrIn(t, log, "kopf's page at http://")
	health := addrIn(t, log, "kopf's own health at http://")
	for _, addr := range []string{page, health} {
		if code, body := get(t, "http://"+addr+"/healthz", ""); code != 200 || body != "ok\n" && body != "ok" {
			t.Errorf("%s/healthz: %d %q", addr, code, body)
		}
		if code, _ := get(t, "http://"+addr+"/healthz", "kopf.internal"); code != 200 {
			t.Errorf("%s/healthz as kopf.internal: %d", addr, code)
		}
		if code, body := get(t, "http://"+addr+"/healthz", "evil.example"); code != http.StatusMisdirectedRequest || body != "" {
			t.Errorf("%s/healthz as evil.example: %d %q", addr, code, body)
		}
	}
	if code, body := get(t, "http://"+page+"/metrics", ""); code != 200 || !strings.Contains(body, `kopf_next_fire_timestamp_seconds{unit="nightly"}`) || !strings.Contains(body, `kopf_http_requests_misdirected_total{server="http"} 1`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, body := get(t, "http://"+page+"/", ""); code != 200 || !strings.Contains(body, "nightly") {
		t.Errorf("the page: %d, nightly not in it", code)
	}
	if code, _ := get(t, "http://"+health+"/metrics", ""); code != 404 {
		t.Errorf("--health serves /metrics: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	cfg, log = testConfig(t, t.TempDir(), `{}`)
	cfg.HTTP = &HTTP{Addr: "0.0.0.0:0"}
	if err := Run(context.Background(), cfg); err == nil || !strings.Contains(log.String(), "not a loopback address") {
		t.Errorf("Run on 0.0.0.0 without a token = %v\n%s", err, log)
	}
}

// writeJournal writes a journal as a daemon that died left it: acquired
// on boot, then the spawned events.
func writeJournal(t *testing.T, path, boot string, spawned ...journal.Event) {
	t.Helper()
	var b []byte
	for _, ev := range append([]journal.Event{{Type: journal.Acquired, Time: time.Now().Add(-time.Hour), PID: 999999, BootID: boot, JournalID: "j1"}}, spawned...) {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLeftovers: a proc the previous daemon left running is stopped
// before the new daemon starts its own, and journaled; one of an earlier
// boot is only recorded gone.
func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	cfg, log := testConfig(t, dir, `{"procs": {"p": {"command": "sleep 60", "stop-time": "5s"}}}`)
	// kopf starts each run in a session of its own.
	old := exec.Command("sleep", "60")
	old.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { old.Wait(); close(exited) }()
	t.Cleanup(func() { old.Process.Kill() })
	ticks, ok := proc.StartTicks(old.Process.Pid)
	if !ok {
		t.Fatal("no start time of the leftover")
	}
	writeJournal(t, cfg.Journal, journal.BootID(),
		journal.Event{Type: journal.Spawned, Time: time.Now().Add(-time.Minute), Unit: "p", Kind: journal.KindProc, PID: old.Process.Pid, StartTicks: ticks, Run: "p-old"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	askStatus(t, cfg.Socket)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the leftover still runs\n%s", log)
	}
	evs := journalEvents(t, cfg.Journal, journal.Leftover)
	if len(evs) != 1 || evs[0].Unit != "p" || evs[0].PID != old.Process.Pid || evs[0].Action != proc.LeftoverStopped {
		t.Errorf("leftover events %+v, want p's stopped", evs)
	}
	if !strings.Contains(log.String(), "of the previous kopf: "+string(proc.LeftoverStopped)) {
		t.Errorf("the log does not say:\n%s", log)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// The previous daemon ran before the machine's last boot.
	dir = t.TempDir()
	cfg, log = testConfig(t, dir, `{}`)
	writeJournal(t, cfg.Journal, "an-earlier-boot",
		journal.Event{Type: journal.Spawned, Time: time.Now().Add(-time.Hour), Unit: "gone", Kind: journal.KindJob, PID: os.Getpid(), StartTicks: 1, Run: "gone-1"})
	ctx, cancel = context.WithCancel(context.Background())
	done = run(ctx, cfg)
	askStatus(t, cfg.Socket)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs = journalEvents(t, cfg.Journal, journal.Leftover)
	if len(evs) != 1 || evs[0].Action != proc.LeftoverGone || !strings.Contains(evs[0].Reason, "rebooted") {
		t.Errorf("leftover events %+v, want one gone since a reboot", evs)
	}
}
