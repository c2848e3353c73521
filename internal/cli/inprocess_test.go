package cli

// Tests that run kopf's client commands in this process (run with an
// env of buffers), against a daemon of runtime/daemon also run here, and
// tests of the tables kopf prints.

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/cluster/etcdtest"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/daemon"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/sources"
)

// kopf runs a kopf command line here and returns its stdout, stderr and
// exit status.
func kopf(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errs strings.Builder
	e := &env{stdout: &out, stderr: &errs, now: time.Now, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	return out.String(), errs.String(), code
}

// TestClusterCommands: kopf cluster members, claims and handoff, and kopf
// status's cluster section, against a member of a real etcd.
func TestClusterCommands(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "kopf.json")
	os.WriteFile(file, []byte(`{"jobs": {"job": {"command": "true", "schedule": "every 1h"}}}`), 0o644)
	sock := filepath.Join(dir, "kopf.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Config{Sources: sources.Spec{File: file}, Journal: filepath.Join(dir, "journal.jsonl"), Socket: sock,
			Host: proc.Options{NoCgroups: true}, Log: slog.New(slog.DiscardHandler),
			Cluster: daemon.Cluster{Endpoints: etcd.Endpoints(), Name: "clitest", Member: "m1", TTL: 5 * time.Second}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitOwned := time.Now().Add(20 * time.Second)
	for {
		out, _, code := kopf(t, "cluster", "--socket", sock, "members")
		if code == 0 && strings.Contains(out, "job   m1") {
			if !strings.Contains(out, "cluster clitest, seen from member m1 (live)") || !strings.Contains(out, "MEMBER  HOST") {
				t.Errorf("kopf cluster members:\n%s", out)
			}
			break
		}
		if time.Now().After(waitOwned) {
			t.Fatalf("m1 does not own job after 20s: exit %d\n%s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _, code := kopf(t, "cluster", "--socket", sock, "members", "--json")
	var st cluster.Status
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Member != "m1" {
		t.Errorf("kopf cluster members --json: exit %d, %v\n%s", code, err, out)
	}
	if out, _, code := kopf(t, "cluster", "--socket", sock, "claims", "job"); code != 0 || out != "no claims of job yet\n" {
		t.Errorf("claims before a run: exit %d %q", code, out)
	}
	if out, errs, code := kopf(t, "trigger", "--socket", sock, "job"); code != 0 {
		t.Fatalf("kopf trigger job: exit %d\n%s%s", code, out, errs)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, _, code = kopf(t, "cluster", "--socket", sock, "claims", "job", "5")
		if code == 0 && strings.Contains(out, "INSTANT") && strings.Contains(out, " ended ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ran claim of job after 20s: exit %d\n%s", code, out)
		}
	}
	if !strings.Contains(out, "m1      ") || !strings.Contains(out, "exit 0") || strings.Count(out, "\n") != 2 {
		t.Errorf("kopf cluster claims job 5:\n%s", out)
	}
	out, _, code = kopf(t, "status", "--socket", sock)
	if code != 0 || !strings.Contains(out, "job   job   waiting") || !strings.Contains(out, "cluster clitest, seen from member m1") {
		t.Errorf("kopf status in a cluster: exit %d\n%s", code, out)
	}
	out, _, code = kopf(t, "status", "--socket", sock, "--json")
	var status struct {
		Units   []control.Unit  `json:"units"`
		Cluster json.RawMessage `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil || len(status.Units) != 1 || len(status.Cluster) == 0 {
		t.Errorf("kopf status --json: exit %d, %v\n%s", code, err, out)
	}
	// What cannot be: a handoff to the owner itself, bad arguments.
	if _, errs, code := kopf(t, "cluster", "--socket", sock, "handoff", "job", "m1"); code != 1 || errs == "" {
		t.Errorf("handoff to the owner: exit %d %q", code, errs)
	}
	for _, args := range [][]string{{}, {"claims"}, {"claims", "job", "0"}, {"members", "extra"}, {"dance"}} {
		if _, errs, code := kopf(t, append([]string{"cluster", "--socket", sock}, args...)...); code != 2 || !strings.Contains(errs, "usage: kopf cluster") {
			t.Errorf("kopf cluster %v: exit %d, want a usage error\n%s", args, code, errs)
		}
	}
}

// TestPrintStatus: each state's columns as kopf status prints them.
func TestPrintStatus(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	code1 := 1
	units := []control.Unit{
		{Name: "web", Kind: "proc", State: control.Running, PID: 42, Since: now.Add(-3*time.Hour - 4*time.Minute), Ports: map[string]int{"http": 8080, "admin": 9090},
			Health: "healthy", LastCheck: &control.Check{At: now.Add(-5 * time.Second)},
			Kept: []control.Kept{{PID: 77, Run: "web-1", Command: strings.Repeat("x", 100)}}},
		{Name: "flaky", Kind: "job", State: control.Retrying, Failures: 2, RestartAt: now.Add(45 * time.Second),
			LastExit: &control.Exit{Code: &code1, At: now.Add(-2*24*time.Hour - 5*time.Hour)},
			Health:   "unhealthy", LastCheck: &control.Check{At: now.Add(-time.Minute), Error: strings.Repeat("refused ", 10)}},
		{Name: "crashy", Kind: "proc", State: control.BackingOff, RestartAt: now.Add(5*time.Minute + 12*time.Second), LastExit: &control.Exit{Signal: "SIGKILL", At: now.Add(-time.Second)}},
		{Name: "nightly", Kind: "job", State: control.Waiting, NextFire: time.Date(2026, 12, 8, 3, 0, 0, 0, time.FixedZone("CET", 3600)), Zone: "Europe/Berlin"},
	}
	var out strings.Builder
	printStatus(&env{stdout: &out, now: func() time.Time { return now }}, units)
	for _, want := range []string{
		"web      proc  running      42   admin=9090,http=8080  3h4m ago  healthy (ok, 5s ago)",
		"retry 2 in 45s",
		"unhealthy (failed: refused refused refused refused refused…, 1m0s ago)",
		"exit 1, 2d5h ago",
		"SIGKILL, 1s ago   restart in 5m12s",
		"2026-12-08 03:00:00 +01:00 Europe/Berlin",
		"Left running by ended runs",
		"web   77   web-1  " + strings.Repeat("x", 79) + "…",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPrintVersion: a checkout's build names its revision, and whether
// it had changes.
func TestPrintVersion(t *testing.T) {
	var out strings.Builder
	printVersion(&env{stdout: &out}, buildVersion{Version: "v1.2.3", Revision: "abc123", Time: "2026-12-07T10:00:00Z", Modified: true, Go: "go1.26"})
	want := "kopf v1.2.3\nrevision abc123 (modified) of 2026-12-07T10:00:00Z\nbuilt with go1.26\n"
	if out.String() != want {
		t.Errorf("version:\n%s\nwant:\n%s", out.String(), want)
	}
}
