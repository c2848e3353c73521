// Command chaos SIGKILLs a kopf daemon at random moments, again and again,
// and counts what kopf promises never happens: processes of a killed
// daemon's runs still alive once the next daemon answers its socket, job
// runs that start while an earlier run of the same unit still holds its
// lock, starts refused because of a dead daemon, and processes left after
// the last daemon's clean stop. It prints a Markdown table for
// docs/operations.md.
//
//	go run ./chaos -n 100                 # kopf built from this checkout
//	go run ./chaos -n 100 -cgroup none    # the fallback without cgroups
//	go run ./chaos -kopf /tmp/old/kopf    # another build, to compare
//
// It runs as root or as the user whose processes it may read: it finds the
// processes of kopf's runs by a variable in their environment.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// family marks every process of the runs: kopf passes its environment on,
// and the runs' commands do not clear it.
const family = "KOPF_CHAOS_FAMILY"

func main() {
	n := flag.Int("n", 100, "how many times to SIGKILL the daemon")
	kopf := flag.String("kopf", "", "the kopf binary; default: build ../cmd/kopf")
	cgroup := flag.String("cgroup", "", "kopf run's --cgroup (none: the fallback); default: kopf's own choice")
	seed := flag.Uint64("seed", 1, "seed for the moments of the SIGKILLs")
	flag.Parse()
	if err := run(*n, *kopf, *cgroup, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

// proc is one process, named by its pid and start time.
type proc struct {
	pid   int
	ticks uint64
}

type harness struct {
	kopf, dir, journal, socket, config, cgroup, id string
	log                                            *os.File
}

func run(n int, kopf, cgroup string, seed uint64) error {
	dir, err := os.MkdirTemp("", "kopf-chaos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	which := kopf
	if kopf == "" {
		which = "built from this checkout"
		kopf = filepath.Join(dir, "kopf")
		build := exec.Command("go", "build", "-o", kopf, "./cmd/kopf")
		build.Dir = ".."
		if _, err := os.Stat("../cmd/kopf"); err != nil {
			build.Dir = "../.." // run from bench/chaos
		}
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build kopf: %w", err)
		}
	}
	h := &harness{kopf: kopf, dir: dir, journal: filepath.Join(dir, "journal.jsonl"), socket: filepath.Join(dir, "kopf.sock"),
		config: filepath.Join(dir, "kopf.json"), cgroup: cgroup, id: strconv.FormatInt(time.Now().UnixNano(), 36)}
	if h.log, err = os.Create(filepath.Join(dir, "kopf.log")); err != nil {
		return err
	}
	if err := h.writeConfig(); err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(seed, seed))
	load0 := loadavg()
	var killedAlive, answerAlive, refused int
	var snapshot []proc
	var tracking string
	began := time.Now()
	for i := 0; i <= n; i++ {
		d, r, err := h.start()
		refused += r
		if err != nil {
			return err
		}
		for _, p := range snapshot {
			if p.alive() {
				answerAlive++
			}
		}
		if tracking == "" {
			tracking = h.tracking()
		}
		if i == n {
			time.Sleep(2 * time.Second)
			d.p.Signal(syscall.SIGTERM)
			<-d.exited
			break
		}
		time.Sleep(300*time.Millisecond + time.Duration(rnd.Int64N(int64(2700*time.Millisecond))))
		d.p.Kill()
		<-d.exited
		time.Sleep(100 * time.Millisecond)
		snapshot = h.family(d.p.Pid)
		killedAlive += len(snapshot)
	}
	left := h.family(0)
	for _, p := range left {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	overlaps, _ := os.ReadFile(filepath.Join(dir, "overlaps"))
	load1 := loadavg()

	fmt.Printf("| measure (%d SIGKILLs, %s) | count |\n|---|---|\n", n, time.Since(began).Round(time.Second))
	fmt.Printf("| processes of the runs alive 0.1 s after a SIGKILL (sum) | %d |\n", killedAlive)
	fmt.Printf("| of those, alive once the next daemon answered its socket | %d |\n", answerAlive)
	fmt.Printf("| runs that started while an earlier run of the unit held its lock | %d |\n", bytes.Count(overlaps, []byte("\n")))
	fmt.Printf("| starts refused (journal held by a dead daemon) | %d |\n", refused)
	fmt.Printf("| processes of the runs alive after the last daemon's clean stop | %d |\n", len(left))
	fmt.Printf("\nkopf: %s; tracking: %s; load average %s before, %s after\n", which, tracking, load0, load1)
	return nil
}

// writeConfig writes five jobs every 1–2 s and two procs. Every command
// first takes its unit's lock, which the processes it leaves inherit; a
// run that cannot take it writes a line to the overlaps file.
func (h *harness) writeConfig() error {
	if err := os.Mkdir(filepath.Join(h.dir, "locks"), 0o755); err != nil {
		return err
	}
	locked := func(unit, body string) []string {
		lock := filepath.Join(h.dir, "locks", unit)
		over := filepath.Join(h.dir, "overlaps")
		return []string{"/bin/sh", "-c", fmt.Sprintf(`exec 9>>%s; flock -n 9 || { echo %s >> %s; exit 1; }; %s`, lock, unit, over, body)}
	}
	job := func(every, body, unit string) map[string]any {
		return map[string]any{"command": locked(unit, body), "schedule": "every " + every, "stop-time": 2, "log-start": false}
	}
	cfg := map[string]any{
		"jobs": map[string]any{
			"setsid":    job("1s", `(setsid sleep 3600 &); sleep 0.5`, "setsid"),
			"long":      job("2s", `sleep 3 & wait`, "long"),
			"orphan":    job("1s", `(sleep 3600 &); sleep 0.3`, "orphan"),
			"plain":     job("2s", `sleep 1`, "plain"),
			"daemonize": job("1s", `(setsid sh -c 'sleep 3600 & sleep 3600' &); sleep 0.7`, "daemonize"),
		},
		"procs": map[string]any{
			"web":    map[string]any{"command": locked("web", `sleep 3600 & exec sleep 3600`), "stop-time": 2, "idle": 0},
			"worker": map[string]any{"command": locked("worker", `(setsid sleep 3600 &); sleep 3600`), "stop-time": 2, "idle": 0},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(h.config, b, 0o644)
}

// daemon is a started kopf run; exited is closed once it has ended.
type daemon struct {
	p      *os.Process
	exited chan struct{}
}

// start starts a daemon and waits until it answers on its socket. A start
// that fails is retried, as an operator's supervisor would; refused counts
// the failures.
func (h *harness) start() (*daemon, int, error) {
	refused := 0
	for try := 0; try < 50; try++ {
		args := []string{"run", "--log-format", "json", "--journal", h.journal, "--socket", h.socket}
		if h.cgroup != "" {
			args = append(args, "--cgroup", h.cgroup)
		}
		cmd := exec.Command(h.kopf, append(args, h.config)...)
		cmd.Env = append(os.Environ(), family+"="+h.id)
		cmd.Stderr = h.log
		if err := cmd.Start(); err != nil {
			return nil, refused, err
		}
		d := &daemon{p: cmd.Process, exited: make(chan struct{})}
		go func() { cmd.Wait(); close(d.exited) }()
		if h.answered(d) {
			return d, refused, nil
		}
		select {
		case <-d.exited:
			refused++
			time.Sleep(100 * time.Millisecond)
		default:
			d.p.Kill()
			<-d.exited
			return nil, refused, errors.New("kopf did not answer on its socket within 30s")
		}
	}
	return nil, refused, errors.New("kopf refused to start 50 times in a row")
}

// answered waits up to 30 s for the daemon to answer kopf status; false if
// it exits first or does not answer.
func (h *harness) answered(d *daemon) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-d.exited:
			return false
		default:
		}
		if exec.Command(h.kopf, "status", "--socket", h.socket).Run() == nil {
			return true
		}
	}
	return false
}

// tracking asks the daemon how it tracks its runs.
func (h *harness) tracking() string {
	out, err := exec.Command(h.kopf, "status", "--json", "--socket", h.socket).Output()
	if err != nil {
		return "unknown"
	}
	var st struct{ Tracking string }
	json.Unmarshal(out, &st)
	if st.Tracking == "" {
		return "process groups (this kopf does not say)"
	}
	return st.Tracking
}

// family lists the running processes of the runs, but not the daemon.
func (h *harness) family(daemon int) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == daemon || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, []byte(family+"="+h.id+"\x00")) {
			continue
		}
		p := proc{pid: pid}
		if p.ticks = ticks(pid); p.ticks != 0 && p.alive() && !isKopf(pid, h.kopf) {
			out = append(out, p)
		}
	}
	return out
}

// isKopf reports whether pid is a kopf daemon (one still starting, say).
func isKopf(pid int, kopf string) bool {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return exe == kopf
}

func (p proc) alive() bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 19 && f[0] != "Z" && f[0] != "X" && f[19] == strconv.FormatUint(p.ticks, 10)
}

func ticks(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
