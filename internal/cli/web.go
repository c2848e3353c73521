package cli

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/metrics"
	"github.com/kopf/kopf/runtime/supervise"
)

// webServer is kopf run's --http: /metrics and /healthz.
type webServer struct {
	ln      net.Listener
	metrics *metrics.Metrics
	sup     chan *supervise.Supervisor // the supervisor, once there is one
}

// newWebServer listens on addr and sets up the metrics; it serves once
// the supervisor exists (serve).
func newWebServer(addr string) (*webServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	w := &webServer{ln: ln, sup: make(chan *supervise.Supervisor, 1)}
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

// serve answers HTTP requests with s until the returned function is
// called.
func (w *webServer) serve(log *slog.Logger, s *supervise.Supervisor) (stop func()) {
	w.sup <- s
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.metrics.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := s.Alive(5 * time.Second); err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info(fmt.Sprintf("kopf's metrics at http://%s/metrics", w.ln.Addr()), "http", w.ln.Addr().String())
	go srv.Serve(w.ln)
	return func() { srv.Close() }
}
