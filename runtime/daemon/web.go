package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/metrics"
	"github.com/kopf/kopf/runtime/statuspage"
	"github.com/kopf/kopf/runtime/supervise"
	"github.com/kopf/kopf/runtime/web"
)

// webServer is --http: the status page, /metrics and /healthz, on a
// hardened server (runtime/web).
type webServer struct {
	srv     *web.Server
	metrics *metrics.Metrics
	history *statuspage.History
	token   string                     // --http-token's; "" is read-only
	sup     chan *supervise.Supervisor // the supervisor, once there is one
}

// newWebServer listens on addr and sets up the metrics and the page's
// history; it serves once the supervisor exists (serve). An address that
// is not on loopback needs a token: the page names every job. hosts are
// --http-host's names.
func newWebServer(addr, token string, hosts []string, build metrics.Build, log *slog.Logger) (*webServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); token == "" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s is not a loopback address: give --http-token FILE to serve kopf's page and metrics beyond this machine", addr)
	}
	srv, err := web.Listen(addr, web.Options{Hosts: hosts, Log: log})
	if err != nil {
		return nil, err
	}
	w := &webServer{srv: srv, token: token, history: statuspage.NewHistory(24*time.Hour, 20000), sup: make(chan *supervise.Supervisor, 1)}
	w.metrics = metrics.New(build, w.status)
	w.metrics.WatchHTTP("http", srv.Stats)
	return w, nil
}

// status is the units' state for a scrape, or an error when the
// supervisor does not answer within 5 seconds (a stuck loop must not hang
// the scrape).
func (w *webServer) status() ([]control.Unit, error) {
	var s *supervise.Supervisor
	select {
	case s = <-w.sup:
		w.sup <- s
	default:
		return nil, fmt.Errorf("kopf is starting")
	}
	type result struct {
		units []control.Unit
		err   error
	}
	done := make(chan result, 1)
	go func() {
		units, err := s.Status()
		done <- result{units, err}
	}()
	select {
	case r := <-done:
		return r.units, r.err
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("kopf's loop has not answered within 5s")
	}
}

// outputTail is where the supervisor hands the units' output lines for
// their pages; nil without --http.
func (d *daemon) outputTail() func(unit, stream, line string) {
	if d.web == nil {
		return nil
	}
	return d.web.history.Output
}

// serve answers HTTP requests with s, and the page's requests with handle
// (the control socket's), until the server is closed.
func (w *webServer) serve(log *slog.Logger, s *supervise.Supervisor, handle func(context.Context, control.Request) control.Response) {
	w.sup <- s
	mux := http.NewServeMux()
	host, _ := os.Hostname()
	statuspage.New(statuspage.Options{Handle: handle, History: w.history, Token: w.token, Host: host}).Register(mux)
	mux.Handle("GET /metrics", w.metrics.Handler(log))
	mux.Handle("GET /healthz", web.Healthz(s.Alive))
	addr := w.srv.Addr()
	log.Info(fmt.Sprintf("kopf's page at http://%s/, metrics at http://%s/metrics", addr, addr), "http", addr.String())
	go w.srv.Serve(mux)
}

// listenHealth is --health: a server of /healthz alone.
func listenHealth(addr string, hosts []string, log *slog.Logger) (*web.Server, error) {
	return web.Listen(addr, web.Options{Hosts: hosts, Log: log})
}

// serveHealth answers GET /healthz on srv — 200 "ok" while the
// supervisor's loop answers within 5 seconds, 503 with why when it does
// not or kopf is stopping — for a container orchestrator's liveness probe
// of kopf itself, until srv is closed.
func serveHealth(log *slog.Logger, srv *web.Server, s *supervise.Supervisor) {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", web.Healthz(s.Alive))
	log.Info(fmt.Sprintf("kopf's own health at http://%s/healthz", srv.Addr()), "health", srv.Addr().String())
	go srv.Serve(mux)
}
