package statuspage

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// backend answers the page's control requests as the daemon's handler
// does (FuzzRequest's way): the status of units, each job's next fires,
// and the actions, which it records and answers with an error for the
// names in fail.
type backend struct {
	units     []control.Unit
	tracking  string
	statusErr string              // answers status with this error
	next      map[string][]string // RFC 3339
	fail      map[string]string   // an action on the name answers this error

	mu  sync.Mutex
	got []control.Request // every request but status
}

func (b *backend) handle(_ context.Context, req control.Request) control.Response {
	if req.Cmd == control.CmdStatus {
		if b.statusErr != "" {
			return control.Response{Error: b.statusErr}
		}
		return control.Response{OK: true, Units: b.units, Tracking: b.tracking}
	}
	b.mu.Lock()
	b.got = append(b.got, req)
	b.mu.Unlock()
	if req.Cmd == control.CmdNext {
		return control.Response{OK: true, Times: b.next[req.Name]}
	}
	if e, ok := b.fail[req.Name]; ok {
		return control.Response{Error: e}
	}
	return control.Response{OK: true, Message: string(req.Cmd) + " " + req.Name + ": done"}
}

// requests returns the requests other than status, and forgets them.
func (b *backend) requests() []control.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	got := b.got
	b.got = nil
	return got
}

// testNow is the page's clock in these tests: a Monday noon.
var testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const testToken = "s3cret-t0ken"

// oneJob is units enough for the page to have forms.
var oneJob = []control.Unit{{Name: "backup", Kind: "job", State: control.Waiting}}

// serve returns the page's real routes on a mux, with b behind them.
func serve(b *backend, h *History, token string) *http.ServeMux {
	if h == nil {
		h = NewHistory(24*time.Hour, 100)
	}
	mux := http.NewServeMux()
	New(Options{Handle: b.handle, History: h, Token: token, Host: "box",
		Now: func() time.Time { return testNow }}).Register(mux)
	return mux
}

// do sends the request to mux and returns what it answered.
func do(mux http.Handler, method, target string, form url.Values, header http.Header, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// login logs in on mux with token and returns the session cookie.
func login(t *testing.T, mux http.Handler, token string) *http.Cookie {
	t.Helper()
	rec := do(mux, "POST", "/login", url.Values{"token": {token}}, nil)
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	t.Fatalf("login answered %d without a session cookie: %s", rec.Code, rec.Body)
	return nil
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrfOf returns the CSRF token of the page's forms, as the browser sees
// it, or "" when the page has no form.
func csrfOf(t *testing.T, mux http.Handler, c *http.Cookie) string {
	t.Helper()
	rec := do(mux, "GET", "/", nil, nil, c)
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	if m == nil {
		return ""
	}
	return m[1]
}

// TestAPIStatus: GET /api/status is the units as JSON, an empty list
// rather than null when there are none, and 503 with why when the
// daemon cannot answer.
func TestAPIStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        *backend
		code     int
		contains []string
		absent   []string
	}{
		{"units", &backend{units: []control.Unit{{Name: "backup", Kind: "job", State: control.Waiting}, {Name: "web", Kind: "proc", State: control.Running, PID: 42}}, tracking: "cgroup"},
			200, []string{`"name":"backup"`, `"name":"web"`, `"pid":42`, `"tracking":"cgroup"`}, nil},
		{"none", &backend{}, 200, []string{`{"units":[]}`}, []string{"null", "tracking"}},
		{"no answer", &backend{statusErr: "kopf is starting"}, 503, []string{"kopf is starting"}, []string{`"units"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(serve(tc.b, nil, ""), "GET", "/api/status", nil, nil)
			body := rec.Body.String()
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tc.code, body)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body %s lacks %s", body, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("body %s has %s", body, s)
				}
			}
			if tc.code == 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var got struct{ Units []control.Unit }
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Units) != len(tc.b.units) {
					t.Errorf("decoded %d units (%v), want %d", len(got.Units), err, len(tc.b.units))
				}
			}
		})
	}
}

// TestAction: POST /api/units/NAME/ACTION carries out the action named,
// on the unit named, only for a client with the token or with the login
// cookie and the forms' CSRF token; an API client gets the daemon's
// answer as JSON, the page's form a redirect back to the unit's page.
func TestAction(t *testing.T) {
	b := &backend{units: oneJob, fail: map[string]string{"nope": `no job or proc named "nope"`}}
	mux := serve(b, nil, testToken)
	session := login(t, mux, testToken)
	csrf := csrfOf(t, mux, session)
	if csrf == "" || strings.Contains(csrf, testToken) {
		t.Fatalf("the logged-in page's CSRF token is %q", csrf)
	}
	// Another token's session and CSRF: a daemon started with another
	// --http-token.
	other := serve(&backend{units: oneJob}, nil, "another-token")
	otherSession := login(t, other, "another-token")
	otherCSRF := csrfOf(t, other, otherSession)

	for _, tc := range []struct {
		name     string
		target   string
		header   http.Header
		cookie   *http.Cookie
		csrf     string
		code     int
		want     *control.Request // what the daemon is asked; nil: nothing
		location string
		contains string
	}{
		{"trigger", "/api/units/backup/trigger", bearer(testToken), nil, "", 200,
			&control.Request{Cmd: control.CmdTrigger, Name: "backup"}, "", `"message":"trigger backup: done"`},
		{"start", "/api/units/web/start", bearer(testToken), nil, "", 200, &control.Request{Cmd: control.CmdStart, Name: "web"}, "", `"ok":true`},
		{"stop", "/api/units/web/stop", bearer(testToken), nil, "", 200, &control.Request{Cmd: control.CmdStop, Name: "web"}, "", `"ok":true`},
		{"restart", "/api/units/web/restart", bearer(testToken), nil, "", 200, &control.Request{Cmd: control.CmdRestart, Name: "web"}, "", `"ok":true`},
		{"the daemon refuses", "/api/units/nope/stop", bearer(testToken), nil, "", 409,
			&control.Request{Cmd: control.CmdStop, Name: "nope"}, "", `"error":"no job or proc named \"nope\""`},
		{"an escaped name", "/api/units/a%20b/trigger", bearer(testToken), nil, "", 200,
			&control.Request{Cmd: control.CmdTrigger, Name: "a b"}, "", `"ok":true`},
		{"unknown action", "/api/units/backup/kill", bearer(testToken), nil, "", 404, nil, "", "expected trigger, start, stop or restart"},
		{"wrong token", "/api/units/backup/trigger", bearer("s3cret"), nil, "", 401, nil, "", "not authorized"},
		{"token and more", "/api/units/backup/trigger", bearer(testToken + "x"), nil, "", 401, nil, "", "not authorized"},
		{"empty bearer", "/api/units/backup/trigger", bearer(""), nil, "", 401, nil, "", "not authorized"},
		{"the token as a cookie", "/api/units/backup/trigger", nil, &http.Cookie{Name: cookieName, Value: testToken}, csrf, 401, nil, "", "not authorized"},
		{"nothing", "/api/units/backup/trigger", nil, nil, "", 401, nil, "", "not authorized"},
		{"a wrong bearer with a good session", "/api/units/backup/trigger", bearer("wrong"), session, csrf, 401, nil, "", "not authorized"},
		{"the form", "/api/units/backup/trigger", nil, session, csrf, 303,
			&control.Request{Cmd: control.CmdTrigger, Name: "backup"}, "/units/backup", ""},
		{"the form, the daemon refuses", "/api/units/nope/restart", nil, session, csrf, 303,
			&control.Request{Cmd: control.CmdRestart, Name: "nope"}, "/units/nope", ""},
		{"the form without CSRF", "/api/units/backup/trigger", nil, session, "", 401, nil, "", "not authorized"},
		{"the form with a wrong CSRF", "/api/units/backup/trigger", nil, session, strings.Repeat("0", len(csrf)), 401, nil, "", "not authorized"},
		{"the session as CSRF", "/api/units/backup/trigger", nil, session, session.Value, 401, nil, "", "not authorized"},
		{"CSRF without session", "/api/units/backup/trigger", nil, nil, csrf, 401, nil, "", "not authorized"},
		{"another token's session", "/api/units/backup/trigger", nil, otherSession, otherCSRF, 401, nil, "", "not authorized"},
		{"another token's CSRF", "/api/units/backup/trigger", nil, session, otherCSRF, 401, nil, "", "not authorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var form url.Values
			if tc.csrf != "" {
				form = url.Values{"csrf": {tc.csrf}}
			}
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			rec := do(mux, "POST", tc.target, form, tc.header, cookies...)
			got := b.requests()
			if rec.Code != tc.code {
				t.Errorf("code %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			switch {
			case tc.want == nil && len(got) > 0:
				t.Errorf("the daemon was asked %+v; want nothing", got)
			case tc.want != nil && (len(got) != 1 || got[0].Cmd != tc.want.Cmd || got[0].Name != tc.want.Name):
				t.Errorf("the daemon was asked %+v; want %+v alone", got, *tc.want)
			}
			if loc := rec.Header().Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body %q lacks %q", rec.Body, tc.contains)
			}
			if tc.code == 200 || tc.code == 409 {
				var resp control.Response
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.OK != (tc.code == 200) {
					t.Errorf("response %+v (%v), want ok %v", resp, err, tc.code == 200)
				}
			}
		})
	}
}

// TestActionReadOnly: without a token, no action runs whatever the
// request carries, and the answer says how to allow them.
func TestActionReadOnly(t *testing.T) {
	b := &backend{}
	mux := serve(b, nil, "")
	for _, h := range []http.Header{nil, bearer(""), bearer(testToken)} {
		rec := do(mux, "POST", "/api/units/backup/trigger", url.Values{"csrf": {""}}, h, &http.Cookie{Name: cookieName, Value: ""})
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), "kopf run --http-token FILE") {
			t.Errorf("Authorization %q: %d %s; want 403 naming --http-token", h.Get("Authorization"), rec.Code, rec.Body)
		}
	}
	if rec := do(mux, "GET", "/api/units/backup/trigger", nil, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action: %d, want 405", rec.Code)
	}
	if got := b.requests(); len(got) > 0 {
		t.Errorf("a read-only page asked the daemon %+v", got)
	}
}

// TestLogin: the right token sets a session cookie that scripts cannot
// read nor other sites send, and that is not the token; a wrong one, or
// any on a read-only page (an empty token included), is refused.
func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		token  string // the server's
		target string
		sent   string
		code   int
		secure bool
	}{
		{"right", testToken, "/login", testToken, 303, false},
		{"right, over TLS", testToken, "https://box/login", testToken, 303, true},
		{"wrong", testToken, "/login", "s3cret", 403, false},
		{"empty", testToken, "/login", "", 403, false},
		{"read-only", "", "/login", "", 403, false},
		{"read-only, a token", "", "/login", testToken, 403, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(serve(&backend{}, nil, tc.token), "POST", tc.target, url.Values{"token": {tc.sent}}, nil)
			cookies := rec.Result().Cookies()
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if tc.code != 303 {
				if len(cookies) > 0 || !strings.Contains(rec.Body.String(), "wrong token") {
					t.Errorf("refused with cookies %v and %q", cookies, rec.Body)
				}
				return
			}
			if loc := rec.Header().Get("Location"); loc != "/" {
				t.Errorf("Location %q, want /", loc)
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want the session alone", cookies)
			}
			c := cookies[0]
			if c.Name != cookieName || c.Value == "" || strings.Contains(c.Value, tc.sent) || !c.HttpOnly ||
				c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tc.secure {
				t.Errorf("cookie %+v: want %s, not the token, HttpOnly, SameSite strict, Path /, Secure %v", c, cookieName, tc.secure)
			}
		})
	}
}

// TestSessionOutlivesARestart: the session and the CSRF token are the
// token's, so a daemon restarted with the same token takes them.
func TestSessionOutlivesARestart(t *testing.T) {
	first := serve(&backend{units: oneJob}, nil, testToken)
	session := login(t, first, testToken)
	csrf := csrfOf(t, first, session)
	b := &backend{}
	rec := do(serve(b, nil, testToken), "POST", "/api/units/backup/stop", url.Values{"csrf": {csrf}}, nil, session)
	if got := b.requests(); rec.Code != 303 || len(got) != 1 || got[0].Cmd != control.CmdStop {
		t.Errorf("after a restart: %d, asked %+v; want 303 and a stop", rec.Code, got)
	}
}

// TestPageAccess: the page shows a login form when a token is set and
// the client has no session, the action forms once it has, and says it
// is read-only without a token.
func TestPageAccess(t *testing.T) {
	units := []control.Unit{{Name: "backup", Kind: "job", State: control.Waiting}, {Name: "web", Kind: "proc", State: control.Running, PID: 42}}
	withToken := serve(&backend{units: units}, nil, testToken)
	session := login(t, withToken, testToken)
	for _, tc := range []struct {
		name    string
		mux     *http.ServeMux
		cookie  *http.Cookie
		target  string
		present []string
		absent  []string
	}{
		{"read-only", serve(&backend{units: units}, nil, ""), nil, "/",
			[]string{"Read-only: actions need <code>kopf run --http-token FILE</code>"},
			[]string{`action="/login"`, `name="csrf"`, "<th scope=\"col\">Actions</th>"}},
		{"read-only, with a cookie", serve(&backend{units: units}, nil, ""), &http.Cookie{Name: cookieName, Value: session.Value}, "/",
			[]string{"Read-only"}, []string{`name="csrf"`}},
		{"a token, no session", withToken, nil, "/",
			[]string{`<form method="post" action="/login">`, `type="password"`},
			[]string{"Read-only", `name="csrf"`, "/trigger"}},
		{"a token, a forged session", withToken, &http.Cookie{Name: cookieName, Value: "forged"}, "/",
			[]string{`action="/login"`}, []string{`name="csrf"`}},
		{"a session", withToken, session, "/",
			[]string{"<th scope=\"col\">Actions</th>", `action="/api/units/backup/trigger"`, `action="/api/units/web/restart"`,
				`action="/api/units/web/stop"`, `action="/api/units/web/start"`, `aria-label="trigger backup"`},
			[]string{`action="/login"`, "Read-only", `action="/api/units/web/trigger"`}},
		{"a session, a unit's page", withToken, session, "/units/web",
			[]string{`action="/api/units/web/stop"`}, []string{`action="/login"`, "backup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			rec := do(tc.mux, "GET", tc.target, nil, nil, cookies...)
			body := rec.Body.String()
			if rec.Code != 200 {
				t.Fatalf("code %d: %s", rec.Code, body)
			}
			for _, s := range tc.present {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %s", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("the page has %s", s)
				}
			}
		})
	}
}

// TestIndex: the front page's table shows each unit's state in words,
// escaped, and an error from the daemon instead of the units.
func TestIndex(t *testing.T) {
	code := 1
	units := []control.Unit{
		{Name: "backup", Kind: "job", State: control.Waiting, Since: testNow.Add(-5 * time.Minute),
			NextFire: time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC), Zone: "UTC",
			LastExit: &control.Exit{Code: &code, At: testNow.Add(-2*time.Hour - 30*time.Minute)}},
		{Name: "web <b>", Kind: "proc", State: control.Running, PID: 42, Since: testNow.Add(-3 * 24 * time.Hour),
			Health: "healthy", LastCheck: &control.Check{At: testNow, Error: "dial <tcp>: refused"},
			Ports: map[string]int{"http": 8080, "admin": 9090}},
		{Name: "flaky", Kind: "proc", State: control.Failed, RestartAt: time.Date(2026, 12, 7, 12, 0, 30, 0, time.UTC)},
	}
	for _, tc := range []struct {
		name    string
		b       *backend
		present []string
		absent  []string
	}{
		{"units", &backend{units: units, tracking: "cgroup v2"}, []string{
			"<title>kopf on box</title>",
			"As of 2026-12-07 12:00:00 &#43;00:00",
			`<a href="/units/backup">backup</a>`,
			`<td class="state-waiting">waiting for 5m</td>`,
			"exit 1, 2h30m ago",
			"2026-12-08 04:00:00 &#43;00:00 UTC",
			`<a href="/units/web%20%3Cb%3E">web &lt;b&gt;</a>`,
			"running for 3d",
			"healthy (last check failed: dial &lt;tcp&gt;: refused)",
			"admin=9090 http=8080",
			"restart at 2026-12-07 12:00:30 &#43;00:00",
			"<td>42</td>",
			"Processes tracked by cgroup v2.",
			`<table class="calendar" id="calendar">`,
		}, []string{"web <b>", "<tcp>", `role="alert"`}},
		{"no units", &backend{}, []string{"<title>kopf on box</title>"}, []string{`id="units"`, `id="timeline"`, `role="alert"`}},
		{"no answer", &backend{statusErr: "kopf's loop has not answered <within> 5s"},
			[]string{`<p class="error" role="alert">kopf&#39;s loop has not answered &lt;within&gt; 5s</p>`},
			[]string{`id="units"`, "<within>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(serve(tc.b, nil, ""), "GET", "/", nil, nil)
			body := rec.Body.String()
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range tc.present {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %s", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("the page has %s", s)
				}
			}
		})
	}
	if rec := do(serve(&backend{}, nil, ""), "GET", "/nothing", nil, nil); rec.Code != 404 {
		t.Errorf("GET /nothing: %d, want 404", rec.Code)
	}
}

// TestUnitPage: a unit's page shows that unit alone, its runs of the last
// day newest first and its output, escaped; an unknown name is 404.
func TestUnitPage(t *testing.T) {
	units := []control.Unit{
		{Name: "backup", Kind: "job", State: control.Running, PID: 9},
		{Name: "web", Kind: "proc", State: control.Running, PID: 42},
		{Name: "idle", Kind: "job", State: control.Waiting},
	}
	h := NewHistory(24*time.Hour, 100)
	zero, two := 0, 2
	at := func(d time.Duration) time.Time { return testNow.Add(-d) }
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "backup", PID: 7, Time: at(30 * time.Hour)})
	h.Observe(journal.Event{Type: journal.Exited, Unit: "backup", PID: 7, Time: at(30*time.Hour - time.Second), Code: &zero, Seconds: 1})
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "backup", PID: 8, Time: at(3 * time.Hour), Reasons: []string{"fire 09:00", "<manual>"}})
	h.Observe(journal.Event{Type: journal.Exited, Unit: "backup", PID: 8, Time: at(3*time.Hour - 2*time.Second), Code: &two, Seconds: 2})
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "web", PID: 42, Time: at(2 * time.Hour)})
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "backup", PID: 9, Time: at(time.Hour)})
	h.Output("backup", "stderr", "copying <files>")
	h.Output("backup", "stdout", "done & dusted")

	for _, tc := range []struct {
		name    string
		b       *backend
		target  string
		code    int
		present []string
		absent  []string
		order   []string // these appear in this order
	}{
		{"backup", &backend{units: units}, "/units/backup", 200, []string{
			"<title>kopf on box: backup</title>",
			`<tr class="unit" data-unit="backup">`,
			`<td class="failure">exit 2 after 2s</td>`,
			"<td>fire 09:00; &lt;manual&gt;; </td>",
			"kopf journal --job backup",
			`<pre id="output" aria-labelledby="output-title">copying &lt;files&gt;` + "\ndone &amp; dusted\n</pre>",
		}, []string{`data-unit="web"`, `data-unit="idle"`, "2026-12-06 06:00:00", "No run in the last 24 hours", "<files>"},
			[]string{"2026-12-07 11:00:00 &#43;00:00</td><td>running</td>", "2026-12-07 09:00:00 &#43;00:00</td><td>2026-12-07 09:00:02"}},
		{"web", &backend{units: units}, "/units/web", 200, []string{
			`<td class="">running</td><td>42</td>`,
		}, []string{`id="output"`, "backup"}, nil},
		{"no runs", &backend{units: units}, "/units/idle", 200, []string{"No run in the last 24 hours."}, []string{`id="output"`}, nil},
		{"unknown", &backend{units: units}, "/units/%3Cnope%3E", 404,
			[]string{`<p class="error" role="alert">no job or proc named &#34;&lt;nope&gt;&#34;</p>`},
			[]string{`id="units"`, "<nope>"}, nil},
		{"no answer", &backend{units: units, statusErr: "kopf is starting"}, "/units/backup", 200,
			[]string{`<p class="error" role="alert">kopf is starting</p>`}, []string{`id="units"`, `id="runs"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(serve(tc.b, h, ""), "GET", tc.target, nil, nil)
			body := rec.Body.String()
			if rec.Code != tc.code {
				t.Errorf("code %d, want %d", rec.Code, tc.code)
			}
			for _, s := range tc.present {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %s", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("the page has %s", s)
				}
			}
			last := -1
			for _, s := range tc.order {
				i := strings.Index(body, s)
				if i < 0 || i < last {
					t.Errorf("%s is at %d, want after %d", s, i, last)
				}
				last = i
			}
		})
	}
}

// TestAge: how long ago, in the page's words: seconds under a minute,
// minutes under an hour, hours and minutes under two days, then days.
func TestAge(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1499 * time.Millisecond, "1s"},
		{1500 * time.Millisecond, "2s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h0m"},
		{25*time.Hour + 7*time.Minute, "25h7m"},
		{47*time.Hour + 59*time.Minute, "47h59m"},
		{48 * time.Hour, "2d"},
		{10*24*time.Hour - time.Second, "9d"},
	} {
		if got := age(tc.d); got != tc.want {
			t.Errorf("age(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestDefaultClock: without Now, the page tells the time by the wall
// clock.
func TestDefaultClock(t *testing.T) {
	mux := http.NewServeMux()
	b := &backend{}
	New(Options{Handle: b.handle, History: NewHistory(time.Hour, 10)}).Register(mux)
	before := time.Now().Truncate(time.Second)
	rec := do(mux, "GET", "/", nil, nil)
	m := regexp.MustCompile(`As of ([^;]+);`).FindStringSubmatch(strings.ReplaceAll(rec.Body.String(), "&#43;", "+"))
	if m == nil {
		t.Fatalf("no time on the page: %s", rec.Body)
	}
	got, err := time.Parse("2006-01-02 15:04:05 -07:00", m[1])
	if err != nil || got.Before(before) || got.After(time.Now()) {
		t.Errorf("the page's time %s (%v), want between %s and now", m[1], err, before)
	}
}

// TestNamesThatAreNotPaths: a unit's name may hold what a URL path gives
// a meaning ('?', '#', '/', '%', a space: a crontab's "# name:" says
// anything). Its link, each form's action and the redirect after an
// action lead to that unit, and the daemon is asked about that name.
func TestNamesThatAreNotPaths(t *testing.T) {
	for _, name := range []string{"a?b", "c#d", "e/f", "g%20h", "i j", "k&l"} {
		b := &backend{units: []control.Unit{{Name: name, Kind: "job", State: control.Waiting}}}
		mux := serve(b, nil, testToken)
		session := login(t, mux, testToken)
		index := do(mux, "GET", "/", nil, nil, session).Body.String()
		link := regexp.MustCompile(`<a href="(/units/[^"]*)">`).FindStringSubmatch(index)
		if link == nil {
			t.Fatalf("%q: no link to the unit on the index:\n%s", name, index)
		}
		href := strings.ReplaceAll(link[1], "&amp;", "&")
		page := do(mux, "GET", href, nil, nil, session)
		if page.Code != 200 || !strings.Contains(page.Body.String(), "kopf journal --job "+strings.ReplaceAll(name, "&", "&amp;")) {
			t.Errorf("%q: the link %s answers %d, not its page", name, href, page.Code)
		}
		action := regexp.MustCompile(`action="(/api/units/[^"]*/trigger)"`).FindStringSubmatch(page.Body.String())
		if action == nil {
			t.Fatalf("%q: no trigger form on its page", name)
		}
		csrf := csrfInput.FindStringSubmatch(page.Body.String())[1]
		rec := do(mux, "POST", strings.ReplaceAll(action[1], "&amp;", "&"), url.Values{"csrf": {csrf}}, nil, session)
		got := b.requests()
		if rec.Code != 303 || len(got) != 1 || got[0].Name != name {
			t.Errorf("%q: the form's action %s answered %d and asked %+v", name, action[1], rec.Code, got)
			continue
		}
		if back := do(mux, "GET", rec.Header().Get("Location"), nil, nil, session); back.Code != 200 {
			t.Errorf("%q: the redirect to %s answers %d", name, rec.Header().Get("Location"), back.Code)
		}
	}
}
