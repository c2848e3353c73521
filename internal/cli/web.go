package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/metrics"
	"github.com/kopf/kopf/runtime/statuspage"
	"github.com/kopf/kopf/runtime/supervise"
)

// webServer is kopf run's --http: the status page, /metrics and
// /healthz.
type webServer struct {
	ln      net.Listener
	metrics *metrics.Metrics
	history *statuspage.History
	token   string                     // --http-token's; "" is read-only
	sup     chan *supervise.Supervisor // the supervisor, once there is one
}

// newWebServer listens on addr and sets up the metrics and the page's
// history; it serves once the supervisor exists (serve). An address that
// is not on loopback needs a token: the page names every job.
func newWebServer(addr, token string) (*webServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); token == "" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s is not a loopback address: give --http-token FILE to serve kopf's page and metrics beyond this machine", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	w := &webServer{ln: ln, token: token, history: statuspage.NewHistory(24*time.Hour, 20000), sup: make(chan *supervise.Supervisor, 1)}
	v := readVersion()
	w.metrics = metrics.New(metrics.Build{Version: v.Version, Revision: v.Revision, GoVersion: v.Go}, w.status)
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
// (the control socket's), until the returned function is called.
func (w *webServer) serve(log *slog.Logger, s *supervise.Supervisor, handle func(context.Context, control.Request) control.Response) (stop func()) {
	w.sup <- s
	mux := http.NewServeMux()
	host, _ := os.Hostname()
	statuspage.New(statuspage.Options{Handle: handle, History: w.history, Token: w.token, Host: host}).Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := s.Alive(5 * time.Second); err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info(fmt.Sprintf("kopf's page at http://%s/, metrics at http://%s/metrics", w.ln.Addr(), w.ln.Addr()), "http", w.ln.Addr().String())
	go srv.Serve(w.ln)
	return func() { srv.Close() }
}
