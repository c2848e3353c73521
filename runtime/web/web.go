// Package web is kopf run's HTTP server, for --http (the status page,
// /metrics and /healthz) and --health (/healthz alone). It is built to
// stay up beside the supervisor when other local users, or pages in a
// browser, are hostile (docs/observability.md, "Hardening"):
//
//   - every connection has deadlines: for its request's headers, its
//     request, its answer, and between requests;
//   - the connections open at once are capped, in total and per client
//     address, far below the daemon's file limit, so that no number of
//     connections takes the descriptors the daemon's runs need; an idle
//     connection is closed to make room for a new one, so that connections
//     held open lock nobody out;
//   - a request whose Host is not the server's own names is answered 421
//     with no content, which keeps a web page that rebinds its domain to
//     127.0.0.1 from reading anything.
//
// Use:
//
//	srv, err := web.Listen("127.0.0.1:9100", web.Options{Hosts: []string{"kopf.example.com"}})
//	if err != nil {
//		return err
//	}
//	mux := http.NewServeMux()
//	mux.Handle("GET /healthz", web.Healthz(supervisor.Alive))
//	go srv.Serve(mux)
//	defer srv.Close()
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a Server; the zero value is the defaults.
type Options struct {
	// Hosts are more names (--http-host) a request's Host may carry
	// besides the listen address, localhost, 127.0.0.1 and [::1]: NAME
	// with any port or none, as a reverse proxy forwards it, or NAME:PORT.
	Hosts []string
	// MaxConns caps the connections open at once; 0 is DefaultMaxConns,
	// lowered to an eighth of the process's file limit when that is
	// smaller.
	MaxConns int
	// MaxConnsPerClient caps those of one client address; 0 is
	// DefaultMaxConnsPerClient.
	MaxConnsPerClient int
	// Log gets the server's own errors (a failed accept, a bad request)
	// at debug level: a client's mistakes must not fill kopf's log or
	// journal. nil logs nothing.
	Log *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxConns          = 256
	DefaultMaxConnsPerClient = 64
)

// The deadlines of every connection.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 32 << 10
)

// Server is a listening HTTP server.
type Server struct {
	l     *limiter
	hosts *hosts
	stats counters
	srv   *http.Server
}

// Listen listens on addr (host:port; port 0 picks one).
func Listen(addr string, opts Options) (*Server, error) {
	for _, h := range opts.Hosts {
		if h == "" || len(h) > 255 {
			return nil, fmt.Errorf("host name %q: expected a name like kopf.example.com, or NAME:PORT", h)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{hosts: newHosts(ln.Addr(), opts.Hosts)}
	total, per := opts.MaxConns, opts.MaxConnsPerClient
	if total <= 0 {
		total = max(4, min(DefaultMaxConns, fileLimit()/8))
	}
	if per <= 0 {
		per = DefaultMaxConnsPerClient
	}
	s.l = newLimiter(ln, total, min(per, total), &s.stats)
	errLog := slog.New(slog.DiscardHandler)
	if opts.Log != nil {
		errLog = opts.Log
	}
	s.srv = &http.Server{
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       connContext,
		ConnState:         s.l.connState,
		ErrorLog:          slog.NewLogLogger(errLog.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// fileLimit is the process's limit of open files (RLIMIT_NOFILE), or
// 1024 when it cannot be read.
func fileLimit() int {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 1024
	}
	return int(r.Cur)
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Serve answers requests with h until Close; it returns nil after Close.
func (s *Server) Serve(h http.Handler) error {
	s.srv.Handler = s.l.track(s.check(h))
	if err := s.srv.Serve(s.l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops listening and closes every connection.
func (s *Server) Close() error {
	s.l.Close()
	return s.srv.Close()
}

// Stats are counts of what the server refused, since it started.
type Stats struct {
	// Open is the connections open now.
	Open int
	// Evicted counts idle connections closed to make room for new ones.
	Evicted uint64
	// Refused counts connections closed at once: their client had all its
	// connections busy.
	Refused uint64
	// Misdirected counts requests answered 421: their Host was not this
	// server's.
	Misdirected uint64
}

// Stats says what the server refused so far.
func (s *Server) Stats() Stats {
	return Stats{Open: s.l.open(), Evicted: s.stats.evicted.Load(), Refused: s.stats.refused.Load(), Misdirected: s.stats.misdirected.Load()}
}

// Healthz answers kopf's liveness: 200 "ok" while alive says the
// supervisor's loop answered within 5 seconds, 503 with why otherwise.
func Healthz(alive func(within time.Duration) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := alive(5 * time.Second); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}
