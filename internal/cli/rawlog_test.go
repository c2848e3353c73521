package cli_test

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/journal"
)

// TestLogOutputRaw: a job's output with log-output "raw" passes through
// as it is; a line that is a JSON object stays an object in kopf's JSON
// log. Output lines of log-output true name the unit by its name, and
// its title apart.
func TestLogOutputRaw(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {
		"structured": {"title": "Structured", "log-output": "raw",
			"command": "echo '{\"level\":\"info\",\"msg\":\"done\",\"n\":3}'; echo plain line"},
		"wrapped": {"title": "Wrapped", "log-output": true, "command": "echo hello"}
	}}`)
	d, sock := controlled(t, dir, cfg)
	for _, job := range []string{"structured", "wrapped"} {
		if out, errs, code := client(t, sock, "trigger", job); code != 0 {
			t.Fatalf("trigger %s: %d %s%s", job, code, out, errs)
		}
	}
	waitFor(t, "the output", d, func() bool { return d.logged("plain line") && d.logged("Wrapped: hello") })
	var object, plain, wrapped map[string]any
	sc := bufio.NewScanner(strings.NewReader(d.stderr.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			t.Errorf("a log line is not JSON: %s", sc.Text())
			continue
		}
		switch {
		case rec["output"] != nil:
			object = rec
		case rec["msg"] == "plain line":
			plain = rec
		case rec["msg"] == "Wrapped: hello":
			wrapped = rec
		}
	}
	if o, ok := object["output"].(map[string]any); !ok || o["msg"] != "done" || o["n"] != 3.0 || object["unit"] != "structured" || object["title"] != "Structured" {
		t.Errorf("the JSON line's record = %v, want the object under output", object)
	}
	if plain == nil || plain["unit"] != "structured" || plain["stream"] != "stdout" {
		t.Errorf("the plain line's record = %v", plain)
	}
	if wrapped == nil || wrapped["unit"] != "wrapped" || wrapped["title"] != "Wrapped" {
		t.Errorf("a wrapped line's record = %v, want unit the name and title the title", wrapped)
	}
}

// TestLogOutputMaxBoundsTheLog: a job that writes 64 MiB of NUL bytes with
// log-output "raw" and log-output-max 1 MiB makes kopf's JSON log grow by
// no more than the escaping of that first MiB (a NUL is six bytes there);
// the exited event in the journal counts the rest.
func TestLogOutputMaxBoundsTheLog(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {
		"flood": {"log-output": "raw", "log-output-max": "1MiB", "command": "head -c 67108864 /dev/zero"}
	}}`)
	d, sock := controlled(t, dir, cfg)
	before := len(d.stderr.String())
	if out, errs, code := client(t, sock, "trigger", "flood"); code != 0 {
		t.Fatalf("trigger: %d %s%s", code, out, errs)
	}
	var exited journal.Event
	waitFor(t, "the run's end", d, func() bool {
		for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
			if ev.Type == journal.Exited && ev.Unit == "flood" {
				exited = ev
				return true
			}
		}
		return false
	})
	grew := len(d.stderr.String()) - before
	if grew > 7<<20 {
		t.Errorf("kopf's log grew by %d bytes for 64 MiB of output capped at 1 MiB; want at most about 6 MiB (a NUL escaped)", grew)
	}
	if exited.OutputCut < 62<<20 {
		t.Errorf("exited event's output_cut = %d, want the 63 MiB not logged", exited.OutputCut)
	}
	// (d.logged's scanner stops at the first line over 64 KiB.)
	if !strings.Contains(d.stderr.String(), `"msg":"flood: its output beyond log-output-max (1 MiB) is not logged`) {
		t.Errorf("no line says the output is cut:\n%.2000s", d.stderr.String()[before:])
	}
}
