package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
)

// End-to-end tests of the control socket and the client commands: a real
// daemon, real clients (the kopf binary, and raw connections for what the
// binary never sends).

// client runs "kopf ARGS... --socket SOCK" and returns stdout, stderr and
// the exit status.
func client(t *testing.T, sock string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("kopf", append([]string{args[0], "--socket", sock}, args[1:]...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// controlled starts a daemon with a socket in dir and waits until it runs.
func controlled(t *testing.T, dir, cfg string, more ...string) (*daemon, string) {
	t.Helper()
	sock := filepath.Join(dir, "kopf.sock")
	d := startKopfWith(t, append([]string{"--socket", sock, "--journal", filepath.Join(dir, "journal.jsonl")}, append(more, cfg)...)...)
	waitFor(t, "kopf to run", d, func() bool { return d.logged("kopf running") })
	return d, sock
}

func TestControlCommands(t *testing.T) {
	dir := t.TempDir()
	webPid, record := filepath.Join(dir, "web.pid"), filepath.Join(dir, "record")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"procs": {"web": {"command": ["kopftest", "pid", %q], "stop-time": 5}},
		"jobs": {"backup": {"command": ["kopftest", "record", %q], "schedule": ["every 1d @ 04:15", "every 1d @ 16:15"], "timezone": "Europe/Berlin"}}
	}`, webPid, record))
	d, sock := controlled(t, dir, cfg)
	web := waitStarted(t, d, "web", webPid, 0)

	out, errs, code := client(t, sock, "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("web     proc  running  %d", web)) || !strings.Contains(out, "backup  job   waiting") {
		t.Errorf("kopf status: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = client(t, sock, "status", "--json")
	var st struct{ Units []control.Unit }
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || len(st.Units) != 2 {
		t.Fatalf("kopf status --json: exit %d, %v:\n%s", code, err, out)
	}
	if b := st.Units[0]; b.Name != "backup" || b.Zone != "Europe/Berlin" || b.NextFire.IsZero() {
		t.Errorf("backup's status = %+v, want its next fire in Europe/Berlin", b)
	}

	// Arguments travel as argv entries: no shell sees them.
	out, errs, code = client(t, sock, "trigger", "backup", "a b", "$(touch x)", "--full")
	if code != 0 || !strings.HasPrefix(out, "started backup now (pid ") {
		t.Errorf("kopf trigger: exit %d: %s%s", code, out, errs)
	}
	waitFor(t, "the triggered run", d, func() bool { b, _ := os.ReadFile(record); return len(b) > 0 })
	if b, _ := os.ReadFile(record); string(b) != "a b|$(touch x)|--full\n" {
		t.Errorf("the run got %q", b)
	}

	out, errs, code = client(t, sock, "stop", "web")
	if want := fmt.Sprintf("stopped web: pid %d ended by SIGTERM after ", web); code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("kopf stop: exit %d: %s%s; want %q…", code, out, errs, want)
	}
	if alive(web) {
		t.Errorf("web (pid %d) runs after kopf stop answered", web)
	}
	if out, _, _ = client(t, sock, "status"); !strings.Contains(out, "web     proc  stopped") {
		t.Errorf("status after stop:\n%s", out)
	}
	out, _, code = client(t, sock, "start", "web")
	if code != 0 || !strings.HasPrefix(out, "started web (pid ") {
		t.Errorf("kopf start: exit %d: %s", code, out)
	}
	web = waitStarted(t, d, "web", webPid, web)
	out, _, code = client(t, sock, "restart", "web")
	if want := fmt.Sprintf("restarted web: pid %d ended, pid ", web); code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("kopf restart: exit %d: %s; want %q…", code, out, want)
	}
	waitStarted(t, d, "web", webPid, web)

	out, _, code = client(t, sock, "next", "--job", "backup", "-n", "3")
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 3 {
		t.Fatalf("kopf next --job: exit %d:\n%s", code, out)
	}
	for _, l := range lines {
		at, err := time.Parse(time.RFC3339, l)
		berlin, _ := time.LoadLocation("Europe/Berlin")
		if err != nil || at.In(berlin).Minute() != 15 || !strings.HasSuffix(l, at.In(berlin).Format("-07:00")) {
			t.Errorf("next time %q is not a :15 fire in Berlin's offset", l)
		}
	}

	out, _, code = client(t, sock, "reload")
	if code != 0 || strings.TrimSpace(out) != "nothing changed" {
		t.Errorf("kopf reload of an unchanged config: exit %d: %q", code, out)
	}
	writeConfig(t, dir, "kopf.json", `{"procs": {"web": {"command": ["x"], "stop-tme": 5}}}`)
	_, errs, code = client(t, sock, "reload")
	if code != 1 || !strings.Contains(errs, cfg+`:1:38: unknown key "stop-tme"`) {
		t.Errorf("kopf reload of an invalid config: exit %d, stderr %q", code, errs)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trigger", "web"}, 1, "kopf trigger: web is a proc, not a job; kopf restart web restarts it\n"},
		{[]string{"stop", "wbe"}, 1, "kopf stop: no job or proc named \"wbe\" (did you mean \"web\"?)\n"},
		{[]string{"start"}, 2, "kopf start: expected one NAME, got 0 arguments\n"},
		{[]string{"next", "--job", "backup", "--tz", "UTC"}, 2, "kopf next: --tz cannot go with --job: the job's times are from now, in its own zone, under its own DST policy and jitter\n"},
	} {
		_, errs, code := client(t, sock, tt.args...)
		if code != tt.code || !strings.HasPrefix(errs, tt.want) {
			t.Errorf("kopf %s: exit %d, stderr %q; want %d, %q", strings.Join(tt.args, " "), code, errs, tt.code, tt.want)
		}
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind after kopf stopped: %v", err)
	}
}

func TestControlNoDaemon(t *testing.T) {
	_, errs, code := client(t, filepath.Join(t.TempDir(), "kopf.sock"), "status")
	if code != 1 || !strings.Contains(errs, "no kopf is running at") {
		t.Errorf("kopf status without a daemon: exit %d, %q", code, errs)
	}
}

// raw sends lines on one connection and returns the response lines read
// until the daemon closes it or answered want of them.
func raw(t *testing.T, sock string, want int, lines ...string) []string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, l := range lines {
		if _, err := io.WriteString(c, l); err != nil {
			break // the daemon may close on an oversize line
		}
	}
	var out []string
	sc := bufio.NewScanner(c)
	for len(out) < want && sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestControlSocketRobustness(t *testing.T) {
	dir := t.TempDir()
	tick := filepath.Join(dir, "tick")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{"jobs": {"tick": {"command": ["kopftest", "record", %q, "t"], "schedule": "every 1s"}}}`, tick))
	d, sock := controlled(t, dir, cfg)

	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket: %v, %v; want a socket with mode 0600", fi.Mode(), err)
	}

	// Malformed and unknown requests get an error and the connection goes
	// on; an oversize one ends it.
	got := raw(t, sock, 3, "{bad\n", `{"cmd": "dance"}`+"\n", `{"cmd": "status"}`+"\n")
	if len(got) != 3 || !strings.Contains(got[0], `"ok":false`) || !strings.Contains(got[1], `unknown command \"dance\"`) || !strings.Contains(got[2], `"ok":true`) {
		t.Errorf("responses to bad, unknown and good requests:\n%s", strings.Join(got, "\n"))
	}
	got = raw(t, sock, 2, `{"cmd": "status", "name": "`+strings.Repeat("x", control.MaxRequest)+`"}`+"\n", `{"cmd": "status"}`+"\n")
	if len(got) != 1 || !strings.Contains(got[0], "longer than") {
		t.Errorf("responses to an oversize request then another: %q", got)
	}

	// A client that stalls mid-request blocks nobody.
	stalled, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	io.WriteString(stalled, `{"cmd": "sta`)
	if out, errs, code := client(t, sock, "status"); code != 0 {
		t.Errorf("status while another client stalls: exit %d: %s%s", code, out, errs)
	}

	// 100 clients at once, again and again, while tick fires every second:
	// every answer comes, and every fire starts its run within a second.
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i := range 100 {
		wg.Go(func() {
			for time.Since(start) < 3*time.Second {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				req := control.Request{Cmd: control.CmdStatus}
				if i%10 == 0 {
					req = control.Request{Cmd: control.CmdNext, Name: "tick", N: 5}
				}
				resp, err := control.Call(ctx, sock, req)
				cancel()
				if err != nil || !resp.OK {
					mu.Lock()
					failures = append(failures, fmt.Sprint(err, resp.Error))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d clients failed, the first: %s", len(failures), failures[0])
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	fired := map[string]time.Time{}
	late := 0
	n := 0
	for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
		switch {
		case ev.Type == journal.Fired && !ev.Time.Before(start):
			fired[ev.At.String()] = ev.At
			if ev.Time.Sub(ev.At) > time.Second {
				late++
			}
			n++
		}
	}
	if n < 3 || late > 0 {
		t.Errorf("%d fires during the load, %d of them handled over a second late", n, late)
	}
}

// A user other than kopf's own (and root) is refused, whatever the
// socket's mode lets through.
func TestControlRefusesAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{}`)
	d, sock := controlled(t, dir, cfg)
	// The client is this test binary under the name kopf, copied where
	// another user may run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.MkdirTemp("", "kopf-client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	kopf := filepath.Join(pub, "kopf")
	if err := os.WriteFile(kopf, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(pub, 0o755)
	asNobody := func() (string, error) {
		cmd := exec.Command(kopf, "status", "--socket", sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := asNobody()
	if strings.Contains(out, "permission denied") && strings.Contains(out, "fork/exec") || err != nil && strings.Contains(err.Error(), "permission denied") && out == "" {
		t.Skipf("cannot run kopf as uid 65534 here: %v %s", err, out)
	}
	if err == nil || !strings.Contains(out, "permission denied on "+sock) {
		t.Errorf("uid 65534 on a 0600 socket: %v\n%s", err, out)
	}
	// Opened up by hand, the socket still refuses another user.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	os.Chmod(sock, 0o666)
	out, err = asNobody()
	if err == nil || !strings.Contains(out, "permission denied: uid 65534 may not control this kopf") {
		t.Errorf("uid 65534 on a 0666 socket: %v\n%s", err, out)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// A second daemon (on another journal) never takes a live socket; a dead
// daemon's socket is replaced.
func TestControlSocketIsNeverStolen(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{}`)
	d, sock := controlled(t, dir, cfg)
	cmd := exec.Command("kopf", "run", "--log-format", "text", "--socket", sock, "--journal", filepath.Join(dir, "other.jsonl"), cfg)
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "control socket "+sock+" is in use by a running kopf") {
		t.Errorf("a second kopf on a live socket: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	if _, errs, code := client(t, sock, "status"); code != 0 {
		t.Errorf("the first kopf no longer answers: %s", errs)
	}
	// SIGKILL leaves the socket file behind; the next kopf replaces it.
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("a SIGKILLed kopf's socket is gone (%v); the test needs it left behind", err)
	}
	d, _ = controlled(t, dir, cfg)
	if _, errs, code := client(t, sock, "status"); code != 0 {
		t.Errorf("the new kopf does not answer on the replaced socket: %s", errs)
	}
	d.stop()
}
