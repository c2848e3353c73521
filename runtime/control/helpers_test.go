package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests use real unix sockets. Nothing asserts that something happens
// within a short time: waits poll for up to patience, far longer than any
// of them takes on a loaded machine.
const patience = 20 * time.Second

// tempSocket returns a path for a socket in a new directory. t.TempDir's
// paths can be longer than the 107 bytes a socket's path may have.
func tempSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "kopf.sock")
}

// fakeHandler records the requests it gets. By default it answers OK with
// "CMD NAME" as the message, and an error for the name "fail"; answer,
// when set, answers instead.
type fakeHandler struct {
	answer func(ctx context.Context, req Request) Response

	mu   sync.Mutex
	reqs []Request
}

func (f *fakeHandler) Handle(ctx context.Context, req Request) Response {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(ctx, req)
	}
	if req.Name == "fail" {
		return Response{Error: `no job or proc named "fail"`}
	}
	return Response{OK: true, Message: strings.TrimSpace(string(req.Cmd) + " " + req.Name)}
}

func (f *fakeHandler) requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// blockingHandler blocks every Handle until release is closed, and tells
// entered of each call.
type blockingHandler struct {
	entered chan Request
	release chan struct{}
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{entered: make(chan Request, 100), release: make(chan struct{})}
}

func (b *blockingHandler) Handle(ctx context.Context, req Request) Response {
	b.entered <- req
	<-b.release
	return Response{OK: true, Message: "released " + req.Name}
}

// server is a Server that a test serves.
type server struct {
	*Server
	cancel context.CancelFunc
	done   chan error
}

// serve listens at a new path and serves h until the test ends or stop is
// called.
func serve(t *testing.T, opts Options, h Handler) *server {
	t.Helper()
	return serveAt(t, tempSocket(t), opts, h)
}

func serveAt(t *testing.T, path string, opts Options, h Handler) *server {
	t.Helper()
	srv, err := Listen(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Server: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, h) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels Serve's ctx and waits for Serve to return nil.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok && err != nil {
			t.Errorf("Serve: %v", err)
		}
		if ok {
			close(s.done)
		}
	case <-time.After(patience):
		t.Fatalf("Serve has not returned %v after its ctx was canceled", patience)
	}
}

// call is Call that fails the test on an error.
func call(t *testing.T, path string, req Request) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	resp, err := Call(ctx, path, req)
	if err != nil {
		t.Fatalf("Call(%+v): %v", req, err)
	}
	return resp
}

// client is a raw connection, for what Call does not do: several
// requests, broken ones, stalling.
type client struct {
	t *testing.T
	c *net.UnixConn
	r *bufio.Reader
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(patience))
	return &client{t: t, c: c, r: bufio.NewReaderSize(c, 1<<20)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv reads one response line and decodes it strictly: the server sends
// nothing a Response lacks.
func (c *client) recv() Response {
	c.t.Helper()
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		c.t.Fatalf("reading a response: %v (got %q)", err, line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var resp Response
	if err := dec.Decode(&resp); err != nil {
		c.t.Fatalf("response %q: %v", line, err)
	}
	return resp
}

func (c *client) roundTrip(line string) Response {
	c.t.Helper()
	c.send(line + "\n")
	return c.recv()
}

// expectClosed checks that the server has closed the connection: a read
// ends in EOF, or a reset when the server left part of the request unread.
func (c *client) expectClosed() {
	c.t.Helper()
	var buf [1]byte
	n, err := c.r.Read(buf[:])
	if err == nil {
		c.t.Fatalf("read %q from a connection that should be closed", buf[:n])
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("the connection is still open after %v", patience)
	}
}

// logBuffer collects a JSON log, Debug and up, for tests to look into.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// find returns the first record of level whose message contains msg.
func (l *logBuffer) find(level slog.Level, msg string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range bytes.Lines(l.b.Bytes()) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			panic(err)
		}
		if rec["level"] == level.String() && strings.Contains(rec["msg"].(string), msg) {
			return rec
		}
	}
	return nil
}

// waitFor waits for find(level, msg) to find a record.
func (l *logBuffer) waitFor(t *testing.T, level slog.Level, msg string) map[string]any {
	t.Helper()
	for end := time.Now().Add(patience); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if rec := l.find(level, msg); rec != nil {
			return rec
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no %s record with %q in the log:\n%s", level, msg, l.b.String())
	return nil
}

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(patience); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited %v for %s", patience, what)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func selfPermission() string {
	return fmt.Sprintf("permission denied: uid %d may not control this kopf (it runs as uid %d)", os.Getuid(), os.Getuid())
}
