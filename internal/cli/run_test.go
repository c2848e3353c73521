package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// End-to-end tests of kopf run: the real binary (this test binary under the
// name kopf, see TestMain) supervising real processes (this test binary
// again, under the name kopftest). They run for a few seconds at most and
// poll for what they wait for, so a loaded machine makes them slower, not
// flaky.

func init() {
	if filepath.Base(os.Args[0]) == "kopftest" {
		// Keep the main goroutine on the main thread: Pdeathsig belongs to
		// the thread that exec'd, so "nodeathsig" must clear it there.
		runtime.LockOSThread()
	}
}

// kopftest is the child processes' program: "kopftest pid FILE" writes its
// pid to FILE and then blocks; "kopftest record FILE ARGS..." appends its
// arguments as one line to FILE and exits; "kopftest nodeathsig ARGS..."
// clears its Pdeathsig first, then does ARGS; see healthtest for more.
func kopftest(args []string) int {
	if len(args) < 2 {
		return 2
	}
	switch args[0] {
	case "nodeathsig":
		// As if the kernel had ignored kopf's Pdeathsig: this process
		// outlives a SIGKILLed kopf.
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
			return 1
		}
		return kopftest(args[1:])
	case "say": // "kopftest say LINE ARGS...": print LINE, then do ARGS
		fmt.Println(args[1])
		return kopftest(args[2:])
	case "pid":
		if err := os.WriteFile(args[1], []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return 1
		}
		select {}
	case "record":
		f, err := os.OpenFile(args[1], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 1
		}
		defer f.Close()
		fmt.Fprintln(f, strings.Join(args[2:], "|"))
		return 0
	}
	if code, ok := leftovertest(args); ok {
		return code
	}
	return healthtest(args)
}

// daemon is a running kopf run.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startKopf(t *testing.T, config string) *daemon {
	t.Helper()
	return startKopfWith(t, config)
}

// startKopfWith starts kopf run with JSON logs and args.
func startKopfWith(t *testing.T, args ...string) *daemon {
	t.Helper()
	return startKopfEnv(t, nil, args...)
}

// startKopfEnv is startKopfWith with more environment variables.
func startKopfEnv(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	// Never the user's own journal and socket, nor those of another test.
	if !slices.Contains(args, "--journal") {
		args = append([]string{"--journal", filepath.Join(t.TempDir(), "journal.jsonl")}, args...)
	}
	if !slices.Contains(args, "--socket") {
		args = append([]string{"--socket", filepath.Join(t.TempDir(), "kopf.sock")}, args...)
	}
	if dir := testCgroup(); dir != "" && !slices.Contains(args, "--cgroup") {
		args = append([]string{"--cgroup", dir}, args...)
	}
	return startKopfEnvRaw(t, env, args...)
}

// startKopfEnvRaw starts kopf run with JSON logs and exactly args.
func startKopfEnvRaw(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command("kopf", append([]string{"run", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	d := &daemon{t: t, cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-d.done
	})
	return d
}

// stop sends SIGTERM and returns kopf's exit status.
func (d *daemon) stop() int {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		d.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		d.t.Fatalf("kopf did not stop within 20s after SIGTERM; log:\n%s", d.stderr)
	}
	return d.cmd.ProcessState.ExitCode()
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, d *daemon, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			log := ""
			if d != nil {
				log = d.stderr.String()
			}
			t.Fatalf("timed out waiting for %s; kopf's log:\n%s", what, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPid returns the pid written to file, or 0.
func readPid(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func writeConfig(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunRestartsAKilledProcAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "p.pid")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"procs": {"p": {"command": ["kopftest", "pid", %q], "idle": 0, "backoff": [0]}}
	}`, pidFile))
	d := startKopf(t, cfg)
	first := waitStarted(t, d, "the proc", pidFile, 0)
	killPid(first)
	waitFor(t, "the proc to be restarted", d, func() bool { p := readPid(pidFile); return p != 0 && p != first })
	second := readPid(pidFile)
	if code := d.stop(); code != 0 {
		t.Errorf("kopf exited with %d after SIGTERM, want 0; log:\n%s", code, d.stderr)
	}
	if alive(second) {
		t.Errorf("the proc (pid %d) outlived kopf's SIGTERM", second)
	}
	log := d.stderr.String()
	for _, want := range []string{"end p: killed by SIGKILL", "restart p at", "stopping p: kopf is stopping"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestSIGKILLedKopfLeavesNoChild(t *testing.T) {
	dir := t.TempDir()
	procPid, jobPid := filepath.Join(dir, "proc.pid"), filepath.Join(dir, "job.pid")
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"procs": {"p": {"command": ["kopftest", "pid", %q]}},
		"jobs": {"j": {"command": ["kopftest", "pid", %q], "run-on-start": true}}
	}`, procPid, jobPid))
	d := startKopf(t, cfg)
	waitFor(t, "both children to start", d, func() bool { return readPid(procPid) != 0 && readPid(jobPid) != 0 })
	children := []int{readPid(procPid), readPid(jobPid)}
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	d.done <- nil
	waitFor(t, "the children to die with kopf", nil, func() bool { return !alive(children[0]) && !alive(children[1]) })
}

func TestRunChainsJobsOnASecondsSchedule(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	cfg := writeConfig(t, dir, "kopf.yaml", fmt.Sprintf(`
jobs:
  tick:
    command: [kopftest, record, %q, tick]
    schedule: every 1s
    trigger: {relay: ["a b", "$(not a shell)"]}
  relay:
    trigger: {tock: [relayed]}
  tock:
    command: [kopftest, record, %q, tock]
`, record, record))
	d := startKopf(t, cfg)
	lines := func() []string {
		b, _ := os.ReadFile(record)
		return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	}
	waitFor(t, "two ticks and their tocks", d, func() bool {
		n := 0
		for _, l := range lines() {
			if strings.HasPrefix(l, "tock") {
				n++
			}
		}
		return n >= 2
	})
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	// Every tock is caused by an earlier tick (processes record in their
	// own time, so a tick may come between a tick and its tock), and gets
	// relay's extra argument; tick's arguments go to relay, which has no
	// command, and not on to tock.
	got := lines()
	ticks, tocks := 0, 0
	for _, l := range got {
		switch l {
		case "tick":
			ticks++
		case "tock|relayed":
			tocks++
		default:
			t.Fatalf("unexpected record %q in %q", l, got)
		}
		if tocks > ticks {
			t.Fatalf("a tock without a tick before it: %q", got)
		}
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	aPid, bPid := filepath.Join(dir, "a.pid"), filepath.Join(dir, "b.pid")
	one := fmt.Sprintf(`{"procs": {"a": {"command": ["kopftest", "pid", %q]}}}`, aPid)
	two := fmt.Sprintf(`{"procs": {"a": {"command": ["kopftest", "pid", %q]}, "b": {"command": ["kopftest", "pid", %q]}}}`, aPid, bPid)
	cfg := writeConfig(t, dir, "kopf.json", one)
	d := startKopf(t, cfg)
	waitFor(t, "a to start", d, func() bool { return readPid(aPid) != 0 })
	a := readPid(aPid)

	writeConfig(t, dir, "kopf.json", two)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "b to start after the reload", d, func() bool { return readPid(bPid) != 0 })
	if readPid(aPid) != a || !alive(a) {
		t.Errorf("a was restarted by a reload that did not change it")
	}

	writeConfig(t, dir, "kopf.json", `{"procs": {"a": {"command": ["kopftest"], "bogus": 1}}}`)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the bad reload to be refused", d, func() bool { return strings.Contains(d.stderr.String(), "keeping its last valid version") })
	if !alive(a) || !alive(readPid(bPid)) {
		t.Errorf("a bad config stopped what was running")
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	// In JSON logs too, a message about the file names file:line:col in its
	// text.
	found := false
	sc := bufio.NewScanner(strings.NewReader(d.stderr.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", sc.Text())
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, cfg+":1:") && strings.Contains(msg, `unknown key "bogus"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log record names %s:line:col for the bad key:\n%s", cfg, d.stderr)
	}
}

func TestRunRefusesAnInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {"j": {"command": "x", "schedule": "every 1h @ 70m"}}}`)
	cmd := exec.Command("kopf", "run", "--log-format", "text", "--journal", filepath.Join(dir, "journal.jsonl"), cfg)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; output:\n%s", err, out)
	}
	want := cfg + `:1:57: @ 70m is outside the unit of \"every 1h\"`
	if !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
