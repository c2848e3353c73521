package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifySocket is a fake systemd: a datagram socket that records what
// kopf sends to $NOTIFY_SOCKET.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifySocket {
	n := &notifySocket{path: filepath.Join(t.TempDir(), "notify.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

// states returns every state line received, in order.
func (n *notifySocket) states() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.msgs {
		out = append(out, strings.Split(m, "\n")...)
	}
	return out
}

func (n *notifySocket) count(prefix string) int {
	c := 0
	for _, s := range n.states() {
		if strings.HasPrefix(s, prefix) {
			c++
		}
	}
	return c
}

// TestSdNotify runs kopf under a fake systemd: READY=1 once the config is
// applied, with a status; RELOADING=1 with MONOTONIC_USEC, then READY=1,
// around a reload; WATCHDOG=1 at half of WATCHDOG_USEC; STOPPING=1 at
// SIGTERM. The children do not see NOTIFY_SOCKET.
func TestSdNotify(t *testing.T) {
	n := listenNotify(t)
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {"j": {"command": "env > `+env+`", "run-on-start": true}}}`)
	d := startKopfEnv(t, []string{"NOTIFY_SOCKET=" + n.path, "WATCHDOG_USEC=400000", "WATCHDOG_PID="}, cfg)
	waitFor(t, "READY=1", d, func() bool { return n.count("READY=1") >= 1 })
	if s := n.states(); s[0] != "READY=1" {
		t.Errorf("the first state is %q, want READY=1: %q", s[0], s)
	}
	if n.count("STATUS=running 1 jobs and 0 procs") != 1 {
		t.Errorf("no status with the counts: %q", n.states())
	}
	// The run-on-start run writes its environment before the reload
	// changes its job (a changed job's run may be stopped).
	waitFor(t, "the job's environment", d, func() bool { b, _ := os.ReadFile(env); return len(b) > 0 && d.logged("end j") })
	writeConfig(t, dir, "kopf.json", `{"jobs": {"j": {"command": "true"}, "k": {"command": "true"}}}`)
	waitFor(t, "the reload's READY=1", d, func() bool { return n.count("READY=1") == 2 })
	states := strings.Join(n.states(), "\n")
	if !strings.Contains(states, "RELOADING=1\nMONOTONIC_USEC=") || !strings.Contains(states, "STATUS=running 2 jobs and 0 procs") {
		t.Errorf("around the reload: %q", n.states())
	}
	// 400ms watchdog: a ping every 200ms.
	before := n.count("WATCHDOG=1")
	time.Sleep(time.Second)
	if got := n.count("WATCHDOG=1") - before; got < 2 {
		t.Errorf("%d watchdog pings in a second, want about 5", got)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("kopf exited %d", code)
	}
	if n.count("STOPPING=1") != 1 {
		t.Errorf("no STOPPING=1: %q", n.states())
	}
	b, _ := os.ReadFile(env)
	if strings.Contains(string(b), "NOTIFY_SOCKET") || strings.Contains(string(b), "WATCHDOG_USEC") || len(b) == 0 {
		t.Errorf("the job's environment:\n%s", b)
	}
}
