package cli_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientsFindADaemonWithAnotherJournal: a daemon started with
// --journal listens beside it; clients find it with the same --journal,
// and without flags through the link it leaves at the default socket,
// which it removes when it stops.
func TestClientsFindADaemonWithAnotherJournal(t *testing.T) {
	dir := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_RUNTIME_DIR=", "KOPF_SOCKET="}
	jnl := filepath.Join(dir, "elsewhere", "journal.jsonl")
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {"backup": {"command": "true", "schedule": "every 1d @ 04:00"}}}`)
	args := []string{"--journal", jnl, cfg}
	if cg := testCgroup(); cg != "" {
		args = append([]string{"--cgroup", cg}, args...)
	}
	d := startKopfEnvRaw(t, env, args...)
	waitFor(t, "kopf to run", d, func() bool { return d.logged("kopf running") })
	client := func(args ...string) (string, int) {
		cmd := exec.Command("kopf", args...)
		cmd.Env = append(os.Environ(), env...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := client("status", "--journal", jnl); code != 0 || !strings.Contains(out, "backup") {
		t.Errorf("kopf status --journal: exit %d\n%s", code, out)
	}
	link := filepath.Join(dir, "state", "kopf", "kopf.sock")
	if target, err := os.Readlink(link); err != nil || target != filepath.Join(dir, "elsewhere", "kopf.sock") {
		t.Errorf("the default socket %s links to %q (%v), want the daemon's", link, target, err)
	}
	if out, code := client("status"); code != 0 || !strings.Contains(out, "backup") {
		t.Errorf("kopf status without flags: exit %d\n%s", code, out)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("kopf exited %d", code)
	}
	if _, err := os.Lstat(link); err == nil {
		t.Errorf("the link %s is left after kopf stopped", link)
	}
}

// TestHealthEndpoint: --health serves kopf's own liveness.
func TestHealthEndpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {"j": {"command": "true", "schedule": "every 1d @ 04:00"}}}`)
	d := startKopfWith(t, "--health=127.0.0.1:0", cfg)
	var addr string
	waitFor(t, "the health endpoint", d, func() bool {
		for _, m := range d.logs() {
			if a, ok := strings.CutPrefix(m, "kopf's own health at "); ok {
				addr = a
				return true
			}
		}
		return false
	})
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Errorf("GET %s: %d %q", addr, resp.StatusCode, b)
	}
	d.stop()
}
