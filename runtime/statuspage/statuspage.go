// Package statuspage is kopf run's web page (--http): a table of the
// units, a timeline of the last day's runs with the coming fires, a
// week's calendar of fires, a page per unit, and a small JSON API
// (docs/observability.md). It is read-only unless a token is given; then
// the page's forms and POST /api/units/NAME/ACTION trigger, start, stop
// and restart units, through the same requests as the control socket.
package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/control"
)

//go:embed page.html
var pages embed.FS

// Options are what the page shows and acts with.
type Options struct {
	// Handle answers control requests, as the control socket does.
	Handle func(ctx context.Context, req control.Request) control.Response
	// History is the last day's runs.
	History *History
	// Token, when not empty, allows actions: with "Authorization:
	// Bearer TOKEN", or the cookie the login form sets. Empty: read-only.
	Token string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Host names the machine in the title.
	Host string
}

// Server serves the page and the API.
type Server struct {
	opts Options
	tmpl *template.Template
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := template.Must(template.New("").Funcs(template.FuncMap{
		"since": func(t time.Time) string { return age(opts.Now().Sub(t)) },
		"clock": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 -07:00") },
		"hm":    func(t time.Time) string { return t.Format("15:04") },
		"add":   func(a, b int) int { return a + b },
		"args":  func(a ...any) []any { return a },
		// A unit's name as one path segment: a crontab's "# name:" may
		// hold '?', '#' or '/'.
		"path": url.PathEscape,
	}).ParseFS(pages, "page.html"))
	return &Server{opts: opts, tmpl: t}
}

const cookieName = "kopf_session"

// Register adds the page's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /units/{name}", s.unit)
	mux.HandleFunc("GET /api/status", s.apiStatus)
	mux.HandleFunc("POST /api/units/{name}/{action}", s.action)
	mux.HandleFunc("POST /login", s.login)
}

// status asks for the units' state.
func (s *Server) status(ctx context.Context) ([]control.Unit, string, error) {
	resp := s.opts.Handle(ctx, control.Request{Cmd: control.CmdStatus})
	if !resp.OK {
		return nil, "", fmt.Errorf("%s", resp.Error)
	}
	return resp.Units, resp.Tracking, nil
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	units, tracking, err := s.status(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if units == nil {
		units = []control.Unit{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Units    []control.Unit `json:"units"`
		Tracking string         `json:"tracking,omitempty"`
	}{units, tracking})
}

// authorized says whether r may act: a bearer token, or the login
// cookie with the form's CSRF token.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return false
	}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(bearer), []byte(s.opts.Token)) == 1
	}
	c, err := r.Cookie(cookieName)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(s.mac("session"))) {
		return false
	}
	return hmac.Equal([]byte(r.FormValue("csrf")), []byte(s.mac("csrf")))
}

// mac is an HMAC of what under the token, hex: the session cookie's value
// and the forms' CSRF token are both derived from the token, so a
// restart with the same token keeps them valid and another token voids
// them.
func (s *Server) mac(what string) string {
	m := hmac.New(sha256.New, []byte(s.opts.Token))
	m.Write([]byte("kopf " + what))
	return hex.EncodeToString(m.Sum(nil))
}

// loggedIn says whether the request has the login cookie.
func (s *Server) loggedIn(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	return s.opts.Token != "" && err == nil && hmac.Equal([]byte(c.Value), []byte(s.mac("session")))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" || subtle.ConstantTimeCompare([]byte(r.FormValue("token")), []byte(s.opts.Token)) != 1 {
		http.Error(w, "wrong token", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.mac("session"), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var actions = map[string]control.Command{
	"trigger": control.CmdTrigger, "start": control.CmdStart, "stop": control.CmdStop, "restart": control.CmdRestart,
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	cmd, ok := actions[r.PathValue("action")]
	switch {
	case !ok:
		http.Error(w, "unknown action; expected trigger, start, stop or restart", http.StatusNotFound)
		return
	case s.opts.Token == "":
		http.Error(w, "actions need kopf run --http-token FILE", http.StatusForbidden)
		return
	case !s.authorized(r):
		http.Error(w, "not authorized: send Authorization: Bearer TOKEN, or log in on the page", http.StatusUnauthorized)
		return
	}
	resp := s.opts.Handle(r.Context(), control.Request{Cmd: cmd, Name: r.PathValue("name")})
	if r.Header.Get("Authorization") == "" { // the page's form: back to the page
		http.Redirect(w, r, "/units/"+url.PathEscape(r.PathValue("name")), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if !resp.OK {
		w.WriteHeader(http.StatusConflict)
	}
	json.NewEncoder(w).Encode(resp)
}

// view is what the template gets.
type view struct {
	Host     string
	Now      time.Time
	Units    []control.Unit
	Tracking string
	Timeline timeline
	Calendar []day
	Unit     *control.Unit
	Runs     []Run
	Tail     []string // the unit's last output lines, when it logs them
	CanAct   bool
	LoggedIn bool
	Token    bool // a token is set: show the login form
	CSRF     string
	Error    string
}

func (s *Server) render(w http.ResponseWriter, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, "page", v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (s *Server) base(r *http.Request) view {
	v := view{Host: s.opts.Host, Now: s.opts.Now(), Token: s.opts.Token != "", LoggedIn: s.loggedIn(r)}
	v.CanAct = v.LoggedIn
	if v.CanAct {
		v.CSRF = s.mac("csrf")
	}
	return v
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	v := s.base(r)
	units, tracking, err := s.status(r.Context())
	if err != nil {
		v.Error = err.Error()
		s.render(w, v)
		return
	}
	v.Units, v.Tracking = units, tracking
	v.Timeline = s.timeline(r.Context(), units, s.opts.History.Runs(v.Now.Add(-24*time.Hour), ""), v.Now)
	v.Calendar = s.calendar(r.Context(), units, v.Now)
	s.render(w, v)
}

func (s *Server) unit(w http.ResponseWriter, r *http.Request) {
	v := s.base(r)
	units, _, err := s.status(r.Context())
	if err != nil {
		v.Error = err.Error()
		s.render(w, v)
		return
	}
	name := r.PathValue("name")
	i := slices.IndexFunc(units, func(u control.Unit) bool { return u.Name == name })
	if i < 0 {
		w.WriteHeader(http.StatusNotFound)
		v.Error = fmt.Sprintf("no job or proc named %q", name)
		s.render(w, v)
		return
	}
	v.Unit, v.Units = &units[i], units[i:i+1]
	v.Runs = s.opts.History.Runs(v.Now.Add(-24*time.Hour), name)
	v.Tail = s.opts.History.Tail(name)
	slices.Reverse(v.Runs)
	s.render(w, v)
}

// next asks for a job's next fires, at most n.
func (s *Server) next(ctx context.Context, job string, n int) []time.Time {
	resp := s.opts.Handle(ctx, control.Request{Cmd: control.CmdNext, Name: job, N: n})
	var out []time.Time
	for _, t := range resp.Times {
		if at, err := time.Parse(time.RFC3339, t); err == nil {
			out = append(out, at)
		}
	}
	return out
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}
