// Command bigjournal measures how long kopf run takes to answer on a
// journal far larger than kopf lets one grow (issue 28): it writes a
// journal of the events a daemon of 20 every-minute jobs and a proc writes
// over weeks, with restarts, never rotated; then, for each kopf binary
// given, starts kopf run on a fresh copy of it with a one-job config and
// times until kopf status --journal answers. It prints a Markdown table for
// docs/performance.md.
//
//	go run ./bigjournal -size 1024 -kopf /tmp/kopf-before,/tmp/kopf
//	go run ./bigjournal -size 1024 -kopf /tmp/kopf -http   # with the status page's history
//	go run ./bigjournal -size 256 -keep /tmp/big          # keep the journal to look at
//
// The journal's lines are encoded as kopf's journal encodes them, its times
// spread over the weeks before now, so that the status page's last day is
// its last part.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/journal"
)

func main() {
	sizeMiB := flag.Int64("size", 1024, "the journal's size, in MiB")
	kopfs := flag.String("kopf", "", "the kopf binaries to measure, comma-separated (required)")
	http := flag.Bool("http", false, "run kopf with --http 127.0.0.1:0, which loads the status page's history")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up on a kopf that has not answered after this long")
	keep := flag.String("keep", "", "write the journal in this directory and keep it; default: a temporary one")
	exits := flag.Bool("exits", true, "write the jobs' exited events; without, every run the journal names looks still running (a hostile journal)")
	flag.Parse()
	if *kopfs == "" {
		fail(fmt.Errorf("-kopf is required"))
	}
	dir := *keep
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "kopf-bigjournal-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	master := filepath.Join(dir, "master.jsonl")
	start := time.Now()
	if err := write(master, *sizeMiB<<20, time.Now(), *exits); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d MiB) in %s\n", master, *sizeMiB, time.Since(start).Round(time.Millisecond))
	config := filepath.Join(dir, "kopf.json")
	if err := os.WriteFile(config, []byte(`{"jobs": {"tick": {"command": "true", "schedule": "every 1h"}}}`+"\n"), 0o644); err != nil {
		fail(err)
	}

	fmt.Printf("| kopf | journal | until kopf status answers | load average before |\n|---|---:|---:|---|\n")
	for _, kopf := range strings.Split(*kopfs, ",") {
		load := loadAverage()
		took, err := measure(kopf, dir, master, config, *http, *timeout)
		answer := took.Round(10 * time.Millisecond).String()
		if err != nil {
			answer = err.Error()
		}
		fmt.Printf("| %s | %d MiB | %s | %s |\n", kopf, *sizeMiB, answer, load)
	}
}

// measure starts kopf run on a copy of master and returns how long it took
// until kopf status answered.
func measure(kopf, dir, master, config string, http bool, timeout time.Duration) (time.Duration, error) {
	run := filepath.Join(dir, "run")
	os.RemoveAll(run)
	if err := os.MkdirAll(run, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(run)
	path := filepath.Join(run, "journal.jsonl")
	if err := copyFile(master, path); err != nil {
		return 0, err
	}
	syscall.Sync() // the copy's writeback is not kopf's start
	args := []string{"run", "--journal", path, "--cgroup", "none"}
	if http {
		args = append(args, "--http", "127.0.0.1:0")
	}
	cmd := exec.Command(kopf, append(args, config)...)
	log, err := os.Create(filepath.Join(dir, "kopf-run.log"))
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for {
		status := exec.Command(kopf, "status", "--journal", path)
		if status.Run() == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("no answer after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// write writes a journal of size bytes, its events' times ending about
// end: a daemon restarted every 10 days, with a proc and 20 jobs every
// minute, each run fired, spawned and exited.
func write(path string, size int64, end time.Time, exits bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &countWriter{w: bufio.NewWriterSize(f, 1<<20)}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // as kopf's journal does
	end = end.Truncate(time.Minute)
	// The bytes of a minute without a restart, which nearly all are.
	sample := &countWriter{w: bufio.NewWriter(io.Discard)}
	g := &generator{boot: journal.BootID(), pid: 1000, exits: exits}
	g.minute(json.NewEncoder(sample), end)
	first := sample.n
	g.minute(json.NewEncoder(sample), end.Add(time.Minute))
	span := time.Duration(size/(sample.n-first)) * time.Minute
	g = &generator{boot: journal.BootID(), pid: 1000, exits: exits, t: end.Add(-span)}
	for w.n < size {
		g.minute(enc, g.t)
		g.t = g.t.Add(time.Minute)
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// generator makes the events of a daemon, a minute at a time.
type generator struct {
	boot       string
	t, started time.Time
	pid, web   int
	exits      bool // write the jobs' exited events
}

// minute writes the events of the minute at t: a restart every 10 days,
// the 20 jobs' runs and the proc's health.
func (g *generator) minute(enc *json.Encoder, t time.Time) {
	if g.started.IsZero() || t.Sub(g.started) >= 10*24*time.Hour {
		if !g.started.IsZero() {
			enc.Encode(journal.Event{Time: t, Type: journal.Exited, Unit: "web", Kind: journal.KindProc, PID: g.web, Signal: "SIGTERM",
				Seconds: t.Sub(g.started).Seconds(), Graceful: true, StoppedBy: "shutdown"})
			enc.Encode(journal.Event{Time: t, Type: journal.Quit})
		}
		g.started = t
		g.pid++
		enc.Encode(journal.Event{Time: t, Type: journal.Acquired, JournalID: fmt.Sprintf("%016x", g.pid), PID: g.pid, BootID: g.boot})
		for i := range 20 {
			enc.Encode(journal.Event{Time: t, Type: journal.Source, Op: "add", Unit: "job" + strconv.Itoa(i), Kind: journal.KindJob, File: "/etc/kopf/kopf.json"})
		}
		enc.Encode(journal.Event{Time: t, Type: journal.Source, Op: "add", Unit: "web", Kind: journal.KindProc, File: "/etc/kopf/kopf.json"})
		g.pid++
		g.web = g.pid
		enc.Encode(journal.Event{Time: t, Type: journal.Spawned, Unit: "web", Kind: journal.KindProc, PID: g.web, StartTicks: uint64(g.web) * 100,
			Argv: []string{"/usr/local/bin/web", "--port", "8080"}, Reasons: []string{"kopf started"}})
	}
	code := 0
	for i := range 20 {
		g.pid++
		unit := "job" + strconv.Itoa(i)
		src := `schedule "every 1m"`
		at := t.Add(time.Duration(i) * time.Millisecond)
		enc.Encode(journal.Event{Time: at, Type: journal.Fired, Unit: unit, Source: src, At: t})
		enc.Encode(journal.Event{Time: at, Type: journal.Spawned, Unit: unit, Kind: journal.KindJob, PID: g.pid, StartTicks: uint64(g.pid) * 100,
			Argv: []string{"/bin/sh", "-c", "/usr/local/bin/backup --target /var/backups/" + unit}, Reasons: []string{src + " fired"}})
		if g.exits {
			enc.Encode(journal.Event{Time: at.Add(1500 * time.Millisecond), Type: journal.Exited, Unit: unit, Kind: journal.KindJob, PID: g.pid,
				Code: &code, Seconds: 1.5, Graceful: true, UserSeconds: 0.12, SystemSeconds: 0.03, MaxRSS: 12 << 20})
		}
	}
	enc.Encode(journal.Event{Time: t.Add(30 * time.Second), Type: journal.Health, Unit: "web", Kind: journal.KindProc, PID: g.web,
		Action: "healthy", Reason: "health check passed", Count: 6})
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bigjournal:", err)
	os.Exit(1)
}
