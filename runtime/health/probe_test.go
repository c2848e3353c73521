package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serve starts a server whose /health answers with h.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", h)
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/health"
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestHTTP(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		body    string // the body to expect; "" for any
		want    string // the error after "GET url: "; "" for healthy
	}{
		{"ok", answer(200, "ok"), "ok", ""},
		{"ok with white space", answer(200, " \r\n\tok\n"), "ok", ""},
		{"another body", answer(200, "nope"), "ok", `body "nope", want "ok"`},
		{"a body around ok", answer(200, "ok, mostly"), "ok", `body "ok, mostly", want "ok"`},
		{"empty body", answer(200, ""), "ok", `body "", want "ok"`},
		{"a long body is cut in the message", answer(200, strings.Repeat("x", 100<<10)), "ok",
			fmt.Sprintf(`body "%s"..., want "ok"`, strings.Repeat("x", 80))},
		{"any body by default", answer(200, `{"status":"ok"}`), "", ""},
		{"204 by default", answer(204, ""), "", ""},
		{"any 2xx", answer(299, "ok"), "ok", ""},
		{"503", answer(503, "ok"), "", "status 503"},
		{"503 with ok", answer(503, "ok"), "ok", "status 503"},
		{"404", answer(404, ""), "", "status 404"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/ok", http.StatusFound)
		}, "", `status 302, redirect to "/ok" not followed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, tt.handler)
			err := HTTP(t.Context(), url, 5*time.Second, tt.body)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("HTTP() = %v, want healthy", err)
			case tt.want != "" && err == nil:
				t.Errorf("HTTP() = nil, want %s", tt.want)
			case tt.want != "" && err.Error() != "GET "+url+": "+tt.want:
				t.Errorf("HTTP() =\n%v\nwant\nGET %s: %s", err, url, tt.want)
			}
		})
	}
}

func TestHTTPLongBodyIsNotReadWhole(t *testing.T) {
	// A server that streams forever: the check must stop reading at 64 KiB
	// rather than wait for the timeout.
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("y", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	err := HTTP(t.Context(), url, time.Minute, "ok")
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `want "ok"`) {
		t.Errorf("HTTP() = %v, want a wrong body", err)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		fmt.Fprint(w, "ok")
	})
	defer close(release) // before the server's Close, which waits for handlers
	const timeout = 200 * time.Millisecond
	start := time.Now()
	err := HTTP(t.Context(), url, timeout, "")
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("HTTP() = %v, want a deadline exceeded", err)
	}
	if want := "GET " + url + ": no answer within 200ms"; err != nil && !strings.HasPrefix(err.Error(), want) {
		t.Errorf("HTTP() = %v, want it to start with %q", err, want)
	}
	if took > timeout+2*time.Second {
		t.Errorf("HTTP() returned after %s, timeout %s", took, timeout)
	}
}

func TestHTTPConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/health"
	l.Close()
	err = HTTP(t.Context(), url, 5*time.Second, "")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("HTTP() = %v, want connection refused", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "GET "+url+": ") {
		t.Errorf("HTTP() = %v, want it to start with GET %s", err, url)
	}
}

func TestHTTPCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	url := serve(t, answer(200, "ok"))
	if err := HTTP(ctx, url, 5*time.Second, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("HTTP() = %v, want canceled", err)
	}
}

func TestHTTPBadURL(t *testing.T) {
	if err := HTTP(t.Context(), "http://[::1", time.Second, ""); err == nil {
		t.Error("HTTP() of a malformed URL = nil")
	}
}

// TestHTTPFreshConnections checks that each check opens its own
// connection, so a server that accepts no more connections is unhealthy
// even though an old one could still carry requests.
func TestHTTPFreshConnections(t *testing.T) {
	srv := httptest.NewUnstartedServer(answer(200, "ok"))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	url := srv.URL
	for range 3 {
		if err := HTTP(t.Context(), url, 5*time.Second, ""); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	if n := conns.Load(); n != 3 {
		t.Errorf("3 checks opened %d connections, want 3", n)
	}
}

func TestSnoozeFile(t *testing.T) {
	dir := t.TempDir()
	if SnoozeFile(dir) {
		t.Error("SnoozeFile() = true in an empty directory")
	}
	if SnoozeFile(filepath.Join(dir, "missing")) {
		t.Error("SnoozeFile() = true in a missing directory")
	}
	path := filepath.Join(dir, SnoozeName)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !SnoozeFile(dir) {
		t.Error("SnoozeFile() = false with the file")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if SnoozeFile(dir) {
		t.Error("SnoozeFile() = true after the file was removed")
	}
}
