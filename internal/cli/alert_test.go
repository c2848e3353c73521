package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kopf/kopf/runtime/journal"
)

// TestAlertsEndToEnd: a real daemon's failing job posts its alert to a
// real HTTP server and pings it at start and failure; the recovery after
// it is posted too; every delivery is in the journal.
func TestAlertsEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var failure map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		line := r.Method + " " + r.URL.Path
		if r.Method == http.MethodPost {
			var body map[string]any
			b, _ := io.ReadAll(r.Body)
			json.Unmarshal(b, &body)
			line += " " + body["condition"].(string)
			if body["condition"] == "failure" {
				failure = body
			}
		}
		got = append(got, line)
	}))
	defer srv.Close()
	dir := t.TempDir()
	flag := dir + "/ok"
	cfg := writeConfig(t, dir, "kopf.json", `{"jobs": {"backup": {
		"title": "Backup",
		"command": "test -e `+flag+` || exit 3",
		"alert": {"webhook": "`+srv.URL+`/hook", "ping": "`+srv.URL+`/ping/abc"}}}}`)
	d, sock := controlled(t, dir, cfg)
	seen := func(line string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range got {
			if l == line {
				return true
			}
		}
		return false
	}
	client(t, sock, "trigger", "backup")
	waitFor(t, "the failure's alert and pings", d, func() bool {
		return seen("POST /hook failure") && seen("GET /ping/abc/start") && seen("GET /ping/abc/3")
	})
	writeConfig(t, dir, "ok", "")
	client(t, sock, "trigger", "backup")
	waitFor(t, "the recovery", d, func() bool { return seen("POST /hook recovery") && seen("GET /ping/abc") })
	mu.Lock()
	if failure["text"] == nil || !strings.HasPrefix(failure["text"].(string), "kopf: Backup failed on ") || failure["exit_code"] != 3.0 || failure["unit"] != "backup" {
		t.Errorf("the failure's body: %v", failure)
	}
	mu.Unlock()
	d.stop()
	n := 0
	for _, ev := range journalEvents(t, dir+"/journal.jsonl") {
		if ev.Type == journal.Alert && ev.Action == "sent" {
			n++
		}
	}
	if n < 5 {
		t.Errorf("%d alert deliveries journaled, want 5 (start, failure, fail ping, start, recovery, success ping)", n)
	}
}

// TestMailOnFailureEndToEnd: with alert's mail-on failure, only the failed
// run's output reaches the real SMTP server.
func TestMailOnFailureEndToEnd(t *testing.T) {
	box, addr := smtpServer(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{
		"mail": {"smtp": "`+addr+`"},
		"protos": {"mailed": {"mail-to": "ops@example.com", "alert": {"mail-on": "failure"}}},
		"jobs": {
			"fine": {"proto": "mailed", "command": "echo all well", "run-on-start": true},
			"broken": {"proto": "mailed", "command": "echo oops; exit 4", "run-on-start": true}
		}}`)
	d, _ := controlled(t, dir, cfg)
	waitFor(t, "the failed run's mail", d, func() bool { return len(box.mails()) >= 1 })
	waitFor(t, "both runs to end", d, func() bool { return d.logged("end fine") && d.logged("end broken") })
	d.stop()
	mails := box.mails()
	if len(mails) != 1 || !strings.Contains(mails[0].subject, "broken") || !strings.Contains(mails[0].body, "oops") {
		t.Errorf("mails %+v, want only broken's", mails)
	}
}
