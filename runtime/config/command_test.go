package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProgramInDir: kopf.md's ["tor.bin", "-f", "tor.rc"] with tor.bin in
// the proc's dir would fail to start (PATH only); check says to write
// ./tor.bin.
func TestProgramInDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tor.bin"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := func(cmd string) string { return `{"procs": {"tor": {"command": ` + cmd + `, "dir": "` + dir + `"}}}` }
	tests := []struct {
		name, cmd string
		want      []string
	}{
		{"in dir", `["tor.bin", "-f", "tor.rc"]`, []string{
			`k.json:1:32: warning: "tor.bin" is not in PATH but is in ` + dir + `: write ./tor.bin (a program without a slash is looked up in PATH only)`}},
		{"written ./", `["./tor.bin"]`, nil},
		{"in PATH", `["sh", "-c", "x"]`, nil},
		{"not executable", `["notes"]`, nil},
		{"a string", `"tor.bin"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problems(t, "k.json", proc(tt.cmd))); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceArgsWithoutDollarAt: a string cmd gets its args as $1, $2,
// …; one that uses none of them drops them, and check says so.
func TestServiceArgsWithoutDollarAt(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"dropped", `{"cmd": "backup --all", "args": ["--fast"]}`, []string{
			`svc.json:1:25: warning: "args" reach "cmd" as $1, $2, …, and "cmd" uses none of them, so they are dropped; write "cmd": "backup --all \"$@\"" to pass them on`}},
		{"passed", `{"cmd": "backup \"$@\"", "args": ["--fast"]}`, nil},
		{"one of them", `{"cmd": "backup --to $1", "args": ["/srv"]}`, nil},
		{"braces", `{"cmd": "backup ${1}", "args": ["/srv"]}`, nil},
		{"no args", `{"cmd": "backup"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problemsOf(t, ParseService, "svc.json", tt.src)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
