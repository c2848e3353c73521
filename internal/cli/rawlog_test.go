package cli_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
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
