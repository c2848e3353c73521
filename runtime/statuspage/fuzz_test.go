package statuspage

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// FuzzRequest sends the page's routes any request line, Host, cookie and
// authorization a client could, parsed by net/http's own reader as the
// server would: nothing panics or answers 500, an action runs only with
// the token, a unit's page answers 200 only for a unit that exists, and
// nothing from the request reaches the page unescaped.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ method, path, auth string }{
		{"GET", "/", ""},
		{"GET", "/units/backup", ""},
		{"GET", "/units/no%20such", ""},
		{"GET", "/units/%3Cscript%3Ealert(1)%3C%2Fscript%3E", ""},
		{"GET", "/api/status", ""},
		{"POST", "/api/units/backup/trigger", "Bearer " + fuzzToken},
		{"POST", "/api/units/backup/stop", "Bearer wrong"},
		{"POST", "/api/units/../../trigger", ""},
		{"POST", "/login", ""},
		{"GET", "/units/a%2Fb", ""},
		{"GET", "//units//backup", ""},
		{"GET", "/?" + strings.Repeat("x", 300), ""},
	} {
		f.Add(seed.method, seed.path, seed.auth, "")
	}
	var mu sync.Mutex
	var acted []control.Request
	handle := func(_ context.Context, req control.Request) control.Response {
		switch req.Cmd {
		case control.CmdStatus:
			code := 1
			return control.Response{OK: true, Units: []control.Unit{
				{Name: "backup", Kind: "job", State: control.Waiting, NextFire: time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC), Zone: "UTC"},
				{Name: "web <b>", Kind: "proc", State: control.Running, PID: 42, LastExit: &control.Exit{Code: &code, At: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)}},
			}}
		case control.CmdNext:
			return control.Response{OK: true, Times: []string{"2026-12-08T04:00:00Z"}}
		}
		mu.Lock()
		acted = append(acted, req)
		mu.Unlock()
		return control.Response{OK: true, Message: "done"}
	}
	h := NewHistory(24*time.Hour, 100)
	code := 3
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "backup", PID: 7, Time: time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)})
	h.Observe(journal.Event{Type: journal.Exited, Unit: "backup", PID: 7, Code: &code, Seconds: 2, Time: time.Date(2026, 12, 7, 4, 0, 2, 0, time.UTC)})
	h.Output("backup", "stderr", "<script>alert('output')</script>")
	mux := http.NewServeMux()
	New(Options{Handle: handle, History: h, Token: fuzzToken, Host: "fuzz",
		Now: func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }}).Register(mux)

	f.Fuzz(func(t *testing.T, method, path, auth, cookie string) {
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n", method, path)
		if auth != "" {
			raw += "Authorization: " + auth + "\r\n"
		}
		if cookie != "" {
			raw += "Cookie: " + cookie + "\r\n"
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
		if err != nil {
			return // the server answers 400 before any handler
		}
		mu.Lock()
		acted = acted[:0]
		mu.Unlock()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d\n%s", method, path, rec.Code, body)
		}
		mu.Lock()
		n := len(acted)
		mu.Unlock()
		if n > 0 && auth != "Bearer "+fuzzToken {
			t.Fatalf("%s %s ran %d actions without the token (Authorization %q, Cookie %q)", method, path, n, auth, cookie)
		}
		if strings.Contains(strings.ToLower(body), "<script") {
			t.Fatalf("%s %s: a <script> reached the page unescaped:\n%s", method, path, body)
		}
		if name, ok := strings.CutPrefix(req.URL.Path, "/units/"); ok && method == "GET" && rec.Code == 200 && name != "backup" && name != "web <b>" {
			t.Fatalf("GET /units/%s: 200 for a unit that does not exist", name)
		}
	})
}

const fuzzToken = "fuzz-token-fuzz-token"
