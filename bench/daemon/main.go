// Command daemon measures kopf run against supercronic with many jobs: the
// memory, start-up and CPU per start as the number of jobs grows, whether
// busy jobs among idle ones start every fire, how late they start, the
// daemon's wake-ups while an unrelated directory is busy, and the cost of
// reloading one changed job. It prints Markdown tables for
// docs/performance.md.
//
//	go run ./daemon                      # every scenario, kopf built from this checkout
//	go run ./daemon -only memory -jobs 1000,10000,100000
//	go run ./daemon -kopf /tmp/old/kopf  # another build, to compare
//	go run ./daemon -only busy -cgroup none  # runs tracked by session
//
// supercronic is measured when it is on PATH or in $GOBIN (go install
// github.com/aptible/supercronic@latest); otherwise its columns say so.
//
// Every figure comes from the kernel: RSS and CPU time from /proc/PID, the
// wake-ups from the context switches the daemon made, starts from the
// journal (kopf) or the log (supercronic). The machine's load average is
// printed with each table.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

func main() {
	only := flag.String("only", "", "run one scenario: memory, busy, wakeups, reload, spawn")
	jobs := flag.String("jobs", "1000,10000,100000", "job counts for the memory scenario")
	idle := flag.String("idle", "0,10000", "idle job counts beside the busy jobs")
	busy := flag.Int("busy", 50, "every-second jobs in the busy scenario")
	window := flag.Duration("window", 30*time.Second, "how long the busy and wake-up scenarios run")
	kopf := flag.String("kopf", "", "the kopf binary; default: build ../cmd/kopf")
	spawnJobs := flag.Int("spawn-jobs", 1000, "every-second jobs in the spawn scenario, more than the machine can start")
	peer := flag.Bool("supercronic", true, "measure supercronic too, when it is installed")
	cgroup := flag.String("cgroup", "", "kopf run's --cgroup (none: runs tracked by session); default: kopf's own choice")
	flag.Parse()
	dir, err := os.MkdirTemp("", "kopf-daemon-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	if *kopf == "" {
		*kopf = filepath.Join(dir, "kopf")
		build := exec.Command("go", "build", "-o", *kopf, "./cmd/kopf")
		build.Dir = ".."
		if _, err := os.Stat("../cmd/kopf"); err != nil {
			build.Dir = "../.."
		}
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fail(fmt.Errorf("build kopf: %w", err))
		}
	}
	b := &bench{dir: dir, kopf: *kopf, cgroup: *cgroup}
	if *peer {
		b.supercronic = findSupercronic()
	}
	run := func(name string, f func() error) {
		if *only != "" && *only != name {
			return
		}
		if err := f(); err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	run("memory", func() error { return b.memory(counts(*jobs)) })
	run("busy", func() error { return b.busy(*busy, counts(*idle), *window) })
	run("wakeups", func() error { return b.wakeups(*window) })
	run("reload", func() error { return b.reload(10000) })
	run("spawn", func() error { return b.spawn(*spawnJobs, *window) })
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "daemon:", err)
	os.Exit(1)
}

func counts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fail(fmt.Errorf("bad count %q", f))
		}
		out = append(out, n)
	}
	return out
}

func findSupercronic() string {
	if p, err := exec.LookPath("supercronic"); err == nil {
		return p
	}
	for _, d := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("HOME"), "go", "bin")} {
		if p := filepath.Join(d, "supercronic"); d != "" && isFile(p) {
			return p
		}
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

type bench struct {
	dir, kopf, supercronic string
	cgroup                 string // kopf run's --cgroup, when given
	n                      int    // daemons started, for unique names
}

// job is one generated job: a crontab-like spec in both dialects.
type job struct {
	name   string
	kopf   string // a kopf schedule
	cron   string // the same, as a supercronic line's time fields
	argv   []string
	shell  string
	during bool // fires within the measurement window
}

// daily returns n jobs that fire once a day at 04:MM, never during a run.
func daily(n int) []job {
	var out []job
	for i := range n {
		m := i % 60
		out = append(out, job{
			name: fmt.Sprintf("daily-%d", i),
			kopf: fmt.Sprintf("%d 4 * * *", m),
			cron: fmt.Sprintf("0 %d 4 * * * *", m),
			argv: []string{"/bin/true"}, shell: "/bin/true",
		})
	}
	return out
}

// everySecond returns n jobs that run every second.
func everySecond(n int) []job {
	var out []job
	for i := range n {
		out = append(out, job{
			name: fmt.Sprintf("busy-%d", i),
			kopf: "every 1s",
			cron: "* * * * * * *",
			argv: []string{"/bin/true"}, shell: "/bin/true", during: true,
		})
	}
	return out
}

// daemon is one running kopf or supercronic.
type daemon struct {
	name    string // "kopf" or "supercronic"
	cmd     *exec.Cmd
	log     logFile
	journal string
	config  string
	socket  string // kopf's control socket
	exited  chan error
}

func (b *bench) writeKopf(path string, jobs []job) error {
	type jobCfg struct {
		Command  []string `json:"command"`
		Schedule string   `json:"schedule"`
	}
	cfg := struct {
		Jobs map[string]jobCfg `json:"jobs"`
	}{Jobs: map[string]jobCfg{}}
	for _, j := range jobs {
		cfg.Jobs[j.name] = jobCfg{Command: j.argv, Schedule: j.kopf}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func (b *bench) writeCrontab(path string, jobs []job) error {
	var buf bytes.Buffer
	for _, j := range jobs {
		fmt.Fprintf(&buf, "%s %s\n", j.cron, j.shell)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// logFile is where a daemon's output goes: a file, as a log would be in
// production. (A pipe into the bench would have the bench copy every line
// while the daemon runs, on the same two cores.)
type logFile string

// String returns what the daemon has logged so far.
func (l logFile) String() string {
	b, _ := os.ReadFile(string(l))
	return string(b)
}

// start starts a daemon of the given kind on jobs, in a directory of its
// own below parent ("" is a fresh one).
func (b *bench) start(kind string, jobs []job, parent string) (*daemon, error) {
	b.n++
	dir := filepath.Join(b.dir, fmt.Sprintf("%s-%d", kind, b.n))
	if parent != "" {
		dir = filepath.Join(parent, fmt.Sprintf("%s-%d", kind, b.n))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &daemon{name: kind, log: logFile(filepath.Join(dir, "daemon.log")), exited: make(chan error, 1)}
	switch kind {
	case "kopf":
		d.config, d.journal = filepath.Join(dir, "kopf.json"), filepath.Join(dir, "journal.jsonl")
		if err := b.writeKopf(d.config, jobs); err != nil {
			return nil, err
		}
		d.socket = filepath.Join(dir, "kopf.sock")
		args := []string{"run", "--journal", d.journal, "--socket", d.socket}
		if b.cgroup != "" {
			args = append(args, "--cgroup", b.cgroup)
		}
		d.cmd = exec.Command(b.kopf, append(args, d.config)...)
	case "supercronic":
		d.config = filepath.Join(dir, "crontab")
		if err := b.writeCrontab(d.config, jobs); err != nil {
			return nil, err
		}
		d.cmd = exec.Command(b.supercronic, d.config)
	}
	d.cmd.Dir = dir
	out, err := os.Create(string(d.log))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the daemon has its own descriptor
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.exited <- d.cmd.Wait() }()
	return d, nil
}

// settle waits until the daemon's CPU time stops growing for quiet, and
// returns how long that took from the start and the CPU time used.
func (d *daemon) settle(quiet time.Duration) (wall, cpu time.Duration, err error) {
	began := time.Now()
	last, lastChange := time.Duration(-1), time.Now()
	for {
		select {
		case err := <-d.exited:
			return 0, 0, fmt.Errorf("%s exited while starting: %v\n%s", d.name, err, tail(d.log.String()))
		case <-time.After(20 * time.Millisecond):
		}
		c, err := cpuOf(d.cmd.Process.Pid)
		if err != nil {
			return 0, 0, err
		}
		if c != last {
			last, lastChange = c, time.Now()
			continue
		}
		if time.Since(lastChange) >= quiet {
			return lastChange.Sub(began), c, nil
		}
	}
}

// started waits until the daemon has read its config and started its
// schedules: until its CPU use over a half second falls below half a core
// (its jobs keep it from falling to nothing).
func (d *daemon) started() error {
	last, _ := cpuOf(d.cmd.Process.Pid)
	for {
		select {
		case err := <-d.exited:
			return fmt.Errorf("%s exited while starting: %v\n%s", d.name, err, tail(d.log.String()))
		case <-time.After(500 * time.Millisecond):
		}
		c, err := cpuOf(d.cmd.Process.Pid)
		if err != nil {
			return err
		}
		if c-last < 250*time.Millisecond {
			return nil
		}
		last = c
	}
}

// ready waits until kopf answers on its control socket, which its loop
// does once the config is loaded and every unit is armed, and returns how
// long that took from the start and the CPU time used by then. The
// question, the next fire of job, costs the daemon next to nothing.
func (d *daemon) ready(began time.Time, job string) (wall, cpu time.Duration, err error) {
	for {
		select {
		case err := <-d.exited:
			return 0, 0, fmt.Errorf("%s exited while starting: %v\n%s", d.name, err, tail(d.log.String()))
		case <-time.After(5 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := control.Call(ctx, d.socket, control.Request{Cmd: control.CmdNext, Name: job, N: 1})
		cancel()
		var op *net.OpError
		if errors.As(err, &op) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			continue // not listening yet
		}
		wall = time.Since(began)
		cpu, err = cpuOf(d.cmd.Process.Pid)
		return wall, cpu, err
	}
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// cpuOf returns the user and system CPU time of a process.
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100, nil // USER_HZ
}

// statusOf returns a field of /proc/PID/status as a number (kB for sizes).
func statusOf(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// switches is the context switches of every thread of a process: each is
// a wake-up of the daemon.
func switches(pid int) int64 {
	var total int64
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
			}
		}
	}
	return total
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (b *bench) kinds() []string {
	if b.supercronic == "" {
		return []string{"kopf"}
	}
	return []string{"kopf", "supercronic"}
}

func (b *bench) memory(ns []int) error {
	fmt.Printf("\n### Memory and start-up, N daily jobs (load %s)\n\n", loadavg())
	fmt.Println("kopf's start-up ends when its control socket answers (its loop runs once every unit is")
	fmt.Println("armed); supercronic's when its CPU time stops growing for a second. RSS is taken then.")
	fmt.Println()
	fmt.Println("| daemon | jobs | RSS | start-up wall | start-up CPU |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, n := range ns {
		for _, kind := range b.kinds() {
			began := time.Now()
			d, err := b.start(kind, daily(n), "")
			if err != nil {
				return err
			}
			var wall, cpu time.Duration
			if kind == "kopf" {
				wall, cpu, err = d.ready(began, "daily-0")
				if err == nil {
					_, _, err = d.settle(time.Second)
				}
			} else {
				wall, cpu, err = d.settle(time.Second)
			}
			if err != nil {
				return err
			}
			rss := statusOf(d.cmd.Process.Pid, "VmRSS")
			d.stop()
			fmt.Printf("| %s | %d | %.1f MB | %s | %s |\n", kind, n, float64(rss)/1024, wall.Round(10*time.Millisecond), cpu)
		}
	}
	if b.supercronic == "" {
		fmt.Println("\nsupercronic: not installed (go install github.com/aptible/supercronic@latest)")
	}
	return nil
}

func (b *bench) busy(busy int, idles []int, window time.Duration) error {
	fmt.Printf("\n### %d every-second jobs among idle ones, %s (load %s)\n\n", busy, window, loadavg())
	fmt.Println("| daemon | idle jobs | starts | of | CPU | CPU per start | lateness p50 / p99 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, idle := range idles {
		for _, kind := range b.kinds() {
			starts, lateness, cpu, err := b.run(kind, append(daily(idle), everySecond(busy)...), window)
			if err != nil {
				return err
			}
			want := busy * int(window/time.Second)
			late := "—"
			if kind == "kopf" {
				late = percentiles(lateness)
			}
			per := "—"
			if starts > 0 {
				per = (cpu / time.Duration(starts)).Round(time.Microsecond).String()
			}
			fmt.Printf("| %s | %d | %d | %d | %s | %s | %s |\n", kind, idle, starts, want, cpu, per, late)
		}
	}
	return nil
}

// run runs a daemon of kind on jobs for window, from a whole second once
// it has started, and returns the busy jobs' starts in the window, how
// late each was after the whole second it was due at (kopf only: from its
// journal), and the CPU time the daemon used in the window.
func (b *bench) run(kind string, jobs []job, window time.Duration) (starts int, lateness []time.Duration, cpu time.Duration, err error) {
	d, err := b.start(kind, jobs, "")
	if err != nil {
		return 0, nil, 0, err
	}
	if err := d.started(); err != nil {
		return 0, nil, 0, err
	}
	// Whole seconds from a whole second, so each every-second job has
	// window/1s fires in it.
	from := time.Now().Truncate(time.Second).Add(2 * time.Second)
	time.Sleep(time.Until(from))
	cpu0, _ := cpuOf(d.cmd.Process.Pid)
	to := from.Add(window)
	time.Sleep(time.Until(to))
	cpu1, _ := cpuOf(d.cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond) // the starts due just before to are journaled
	d.stop()
	if kind == "kopf" {
		starts, lateness, err = kopfStarts(d.journal, from, to)
	} else {
		starts = supercronicStarts(d.log.String(), from, to)
	}
	return starts, lateness, cpu1 - cpu0, err
}

// kopfStarts counts the spawned events of the busy jobs in [from, to) in
// the journal and the files it was rotated into (a 100k-job load's source
// events alone fill one), and how late each was after the whole second it
// was due at.
func kopfStarts(path string, from, to time.Time) (int, []time.Duration, error) {
	var late []time.Duration
	err := journal.Read(path, journal.DefaultKeep, func(ev journal.Event, _ []byte) error {
		if ev.Type == journal.Spawned && strings.HasPrefix(ev.Unit, "busy-") && !ev.Time.Before(from) && ev.Time.Before(to) {
			late = append(late, ev.Time.Sub(ev.Time.Truncate(time.Second)))
		}
		return nil
	}, nil)
	return len(late), late, err
}

// supercronicStarts counts the jobs supercronic logged as starting in
// [from, to); its log has the time to the second.
func supercronicStarts(log string, from, to time.Time) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "msg=starting") {
			continue
		}
		_, rest, ok := strings.Cut(line, `time="`)
		if !ok {
			continue
		}
		stamp, _, _ := strings.Cut(rest, `"`)
		t, err := time.Parse(time.RFC3339, stamp)
		if err == nil && !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "—"
	}
	slices.Sort(d)
	p := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return fmt.Sprintf("%s / %s", p(0.5).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond))
}

// wakeups runs each daemon on a few jobs with its config in a directory
// whose parent gets 100 file events a second (files written and removed
// beside the config's directory, as in a busy /tmp), and counts its
// wake-ups.
func (b *bench) wakeups(window time.Duration) error {
	fmt.Printf("\n### Wake-ups while the config's parent directory is busy, %s (load %s)\n\n", window, loadavg())
	fmt.Println("| daemon | wake-ups per second | CPU |")
	fmt.Println("|---|---:|---:|")
	parent := filepath.Join(b.dir, "busy-parent")
	busyDir := parent
	if err := os.MkdirAll(busyDir, 0o755); err != nil {
		return err
	}
	for _, kind := range b.kinds() {
		d, err := b.start(kind, daily(10), parent)
		if err != nil {
			return err
		}
		if _, _, err := d.settle(time.Second); err != nil {
			return err
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				p := filepath.Join(busyDir, fmt.Sprintf("f%d", i%10))
				os.WriteFile(p, []byte("x"), 0o644)
				os.Remove(p)
			}
		}()
		pid := d.cmd.Process.Pid
		s0, c0 := switches(pid), mustCPU(pid)
		time.Sleep(window)
		s1, c1 := switches(pid), mustCPU(pid)
		close(stop)
		<-done
		d.stop()
		fmt.Printf("| %s | %.1f | %s |\n", kind, float64(s1-s0)/window.Seconds(), c1-c0)
	}
	return nil
}

func mustCPU(pid int) time.Duration {
	c, _ := cpuOf(pid)
	return c
}

// reload changes one job of an n-job kopf config and measures the CPU the
// reload costs, and an identical save.
func (b *bench) reload(n int) error {
	fmt.Printf("\n### Reload of a %d-job config (kopf; load %s)\n\n", n, loadavg())
	fmt.Println("| change | CPU | wall |")
	fmt.Println("|---|---:|---:|")
	jobs := daily(n)
	d, err := b.start("kopf", jobs, "")
	if err != nil {
		return err
	}
	defer d.stop()
	if _, _, err := d.settle(time.Second); err != nil {
		return err
	}
	for _, change := range []string{"one job changed", "identical save"} {
		if change == "one job changed" {
			jobs[n/2].kopf = "17 5 * * *"
		}
		before := strings.Count(d.log.String(), "restarted,")
		c0 := mustCPU(d.cmd.Process.Pid)
		began := time.Now()
		if err := b.writeKopf(d.config, jobs); err != nil {
			return err
		}
		wall, c1, err := d.settle(time.Second)
		if err != nil {
			return err
		}
		if change == "one job changed" && strings.Count(d.log.String(), "restarted,") == before {
			return errors.New("kopf did not log the reload")
		}
		_ = began
		fmt.Printf("| %s | %s | %s |\n", change, c1-c0, wall.Round(10*time.Millisecond))
	}
	return nil
}

// spawn measures the most processes each daemon starts in a second: n
// jobs of /bin/true every second, more than the machine can start, for
// window; and, in the same run, the machine's own ceiling: two goroutines
// starting /bin/true with os/exec as fast as they can (a daemon on two
// cores does no better). The ceiling is measured before and after each
// daemon, and the daemon is compared with their mean: on a shared machine
// the ceiling drifts by a tenth from one minute to the next.
func (b *bench) spawn(n int, window time.Duration) error {
	fmt.Printf("\n### Spawn ceiling: %d jobs of /bin/true every second, %s (load %s)\n\n", n, window, loadavg())
	fmt.Println("| what | starts | starts/s | of the os/exec loop |")
	fmt.Println("|---|---:|---:|---:|")
	rate := func(n int) float64 { return float64(n) / window.Seconds() }
	before := rawSpawns(window)
	fmt.Printf("| os/exec loop, 2 goroutines | %d | %.0f | |\n", before, rate(before))
	for _, kind := range b.kinds() {
		starts, _, _, err := b.run(kind, everySecond(n), window)
		if err != nil {
			return err
		}
		after := rawSpawns(window)
		ceiling := float64(before+after) / 2
		fmt.Printf("| %s | %d | %.0f | %.0f %% |\n", kind, starts, rate(starts), 100*float64(starts)/ceiling)
		fmt.Printf("| os/exec loop, 2 goroutines | %d | %.0f | |\n", after, rate(after))
		before = after
	}
	return nil
}

// rawSpawns starts /bin/true from two goroutines for window and returns
// how many it started.
func rawSpawns(window time.Duration) int {
	deadline := time.Now().Add(window)
	counts := make(chan int)
	for range 2 {
		go func() {
			n := 0
			for time.Now().Before(deadline) {
				if exec.Command("/bin/true").Run() == nil {
					n++
				}
			}
			counts <- n
		}()
	}
	return <-counts + <-counts
}
