package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestResponse(t *testing.T) {
	h := &fakeHandler{}
	srv := serve(t, Options{}, h)
	c := dial(t, srv.Path())
	got := c.roundTrip(`{"cmd":"restart","name":"web"}`)
	if diff := cmp.Diff(Response{OK: true, Message: "restart web"}, got); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Request{{Cmd: "restart", Name: "web"}}, h.requests()); diff != "" {
		t.Errorf("Handle's requests mismatch (-want +got):\n%s", diff)
	}
}

func TestSeveralRequestsOnOneConnection(t *testing.T) {
	h := &fakeHandler{}
	srv := serve(t, Options{}, h)
	c := dial(t, srv.Path())
	// All at once, in one write: each is answered, in order.
	c.send("{\"cmd\":\"status\"}\n{\"cmd\":\"stop\",\"name\":\"fail\"}\r\n{\"cmd\":\"trigger\",\"name\":\"backup\",\"args\":[\"--full\"]}\n")
	want := []Response{
		{OK: true, Message: "status"},
		{Error: `no job or proc named "fail"`},
		{OK: true, Message: "trigger backup"},
	}
	var got []Response
	for range want {
		got = append(got, c.recv())
	}
	// And one after the other.
	got = append(got, c.roundTrip(`{"cmd":"next","name":"backup","n":3}`))
	want = append(want, Response{OK: true, Message: "next backup"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses mismatch (-want +got):\n%s", diff)
	}
	wantReqs := []Request{
		{Cmd: "status"},
		{Cmd: "stop", Name: "fail"},
		{Cmd: "trigger", Name: "backup", Args: []string{"--full"}},
		{Cmd: "next", Name: "backup", N: 3},
	}
	if diff := cmp.Diff(wantReqs, h.requests()); diff != "" {
		t.Errorf("Handle's requests mismatch (-want +got):\n%s", diff)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	srv := serve(t, Options{}, &fakeHandler{})
	c := dial(t, srv.Path())
	c.send(`{"cmd":"reload"}`)
	c.c.CloseWrite()
	if got := c.recv(); !got.OK || got.Message != "reload" {
		t.Errorf("got %+v, want the reload answered", got)
	}
	c.expectClosed()
}

// Every refused request gets its error on the same connection, which goes
// on; Handle never sees one; and the daemon serves new clients after each.
func TestRefusedRequests(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"cmd":x}`, `request: invalid JSON at column 8: invalid character 'x' looking for beginning of value`},
		{`{"cmd":"status",}`, `request: invalid JSON at column 17: invalid character '}' looking for beginning of object key string`},
		{`{"cmd":"status"`, `request: invalid JSON at column 16: the line ends inside the object`},
		{`{"nämë":"é",x}`, `request: invalid JSON at column 13: invalid character 'x' looking for beginning of object key string`},
		{`{"cmd":"status"} {"cmd":"reload"}`, `request: invalid JSON at column 18: more after the object; send one request per line`},
		{`["status"]`, `request: invalid JSON at column 1: expected an object, beginning with {`},
		{`  null`, `request: invalid JSON at column 3: expected an object, beginning with {`},
		{``, `request: empty line; expected a JSON object such as {"cmd":"status"}`},
		{`{"cmd":"status","verbose":true}`, `request: unknown field "verbose"; a request has the fields cmd, name, args and n`},
		{`{"cmd":1}`, `request: wrong type at column 8: "cmd" must be a string, not a number`},
		{`{"cmd":"next","name":"a","n":"5"}`, `request: wrong type at column 30: "n" must be a whole number, not a string`},
		{`{"cmd":"next","name":"a","n":"a\\\"b"}`, `request: wrong type at column 30: "n" must be a whole number, not a string`},
		{`{"cmd":"next","name":"a","n":1.5}`, `request: wrong type at column 30: "n" must be a whole number, not 1.5`},
		{`{"cmd":"trigger","name":"a","args":"x"}`, `request: wrong type at column 36: "args" must be an array of strings, not a string`},
		{`{"cmd":"trigger","name":"a","args":["\\\"",true]}`, `request: wrong type at column 44: "args" must be an array of strings, not an array holding true or false`},
		{`{"cmd":"trigger","name":"a","args":[1]}`, `request: wrong type at column 37: "args" must be an array of strings, not an array holding a number`},
		{`{"cmd":"launch"}`, `unknown command "launch"; expected one of status, trigger, start, stop, restart, reload, next, cluster, claims, handoff`},
		{`{"name":"web"}`, `request has no "cmd"; expected one of status, trigger, start, stop, restart, reload, next, cluster, claims, handoff`},
		{`{"cmd":"trigger"}`, `"trigger" needs a name`},
		{`{"cmd":"start"}`, `"start" needs a name`},
		{`{"cmd":"stop","name":""}`, `"stop" needs a name`},
		{`{"cmd":"restart"}`, `"restart" needs a name`},
		{`{"cmd":"next","n":5}`, `"next" needs a name`},
		{`{"cmd":"status","name":"web"}`, `"status" takes no name`},
		{`{"cmd":"start","name":"web","args":["-v"]}`, `"start" takes no args; only trigger and handoff do`},
		{`{"cmd":"reload","args":["-v"]}`, `"reload" takes no args; only trigger and handoff do`},
		{`{"cmd":"handoff","name":"web","args":["a","b"]}`, `"handoff" takes at most one arg, the member to hand the unit to`},
		{`{"cmd":"claims"}`, `"claims" needs a name`},
		{`{"cmd":"status","n":3}`, `"status" takes no n; only next and claims do`},
		{`{"cmd":"next","name":"backup","n":-1}`, `"n" must be between 1 and 10000, not -1`},
		{`{"cmd":"next","name":"backup","n":10001}`, `"n" must be between 1 and 10000, not 10001`},
	}
	h := &fakeHandler{}
	srv := serve(t, Options{}, h)
	c := dial(t, srv.Path())
	for _, tt := range tests {
		got := c.roundTrip(tt.line)
		if diff := cmp.Diff(Response{Error: tt.want}, got); diff != "" {
			t.Errorf("%s: response mismatch (-want +got):\n%s", tt.line, diff)
		}
		if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
			t.Errorf("after %s, a new client got %+v", tt.line, got)
		}
	}
	// Handle saw the new clients' requests and nothing else.
	want := make([]Request, len(tests))
	for i := range want {
		want[i] = Request{Cmd: CmdStatus}
	}
	if diff := cmp.Diff(want, h.requests()); diff != "" {
		t.Errorf("Handle's requests mismatch (-want +got):\n%s", diff)
	}
}

func TestNextDefaults(t *testing.T) {
	h := &fakeHandler{}
	srv := serve(t, Options{}, h)
	call(t, srv.Path(), Request{Cmd: CmdNext, Name: "backup"})
	call(t, srv.Path(), Request{Cmd: CmdNext, Name: "backup", N: 10000})
	call(t, srv.Path(), Request{Cmd: CmdTrigger, Name: "backup", Args: []string{}})
	want := []Request{{Cmd: "next", Name: "backup", N: 10}, {Cmd: "next", Name: "backup", N: 10000}, {Cmd: "trigger", Name: "backup"}}
	if diff := cmp.Diff(want, h.requests()); diff != "" {
		t.Errorf("Handle's requests mismatch (-want +got):\n%s", diff)
	}
}

// padded is a status request of exactly size bytes, newline included.
func padded(size int) string {
	head, tail := `{"cmd":"status"`, "}\n"
	return head + strings.Repeat(" ", size-len(head)-len(tail)) + tail
}

func TestOversizeRequest(t *testing.T) {
	srv := serve(t, Options{}, &fakeHandler{})

	c := dial(t, srv.Path())
	if got := c.roundTrip(strings.TrimSuffix(padded(MaxRequest), "\n")); !got.OK {
		t.Fatalf("a request of MaxRequest bytes: %+v", got)
	}

	c = dial(t, srv.Path())
	go c.c.Write([]byte(padded(MaxRequest + 1))) // may fail once the server closes
	want := Response{Error: "request longer than 65536 bytes"}
	if diff := cmp.Diff(want, c.recv()); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	c.expectClosed()

	if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
		t.Errorf("after an oversize request, a new client got %+v", got)
	}
}

func TestStalledClientBlocksNoOne(t *testing.T) {
	srv := serve(t, Options{ReadTimeout: time.Hour}, &fakeHandler{})
	stalled := dial(t, srv.Path())
	stalled.send(`{"cmd":"sta`)
	for i := range 5 {
		if got := call(t, srv.Path(), Request{Cmd: CmdStart, Name: fmt.Sprint("p", i)}); !got.OK {
			t.Errorf("while a client stalls, another got %+v", got)
		}
	}
	// The stalled one is still waited for: the rest of its line is answered.
	stalled.send("tus\"}\n")
	if got := stalled.recv(); !got.OK {
		t.Errorf("the stalled client, once it went on, got %+v", got)
	}
}

func TestStalledClientIsDropped(t *testing.T) {
	var log logBuffer
	srv := serve(t, Options{ReadTimeout: 200 * time.Millisecond, Logger: log.logger()}, &fakeHandler{})
	stalled := dial(t, srv.Path())
	stalled.send(`{"cmd":"sta`)
	idle := dial(t, srv.Path())
	answered := dial(t, srv.Path())
	if got := answered.roundTrip(`{"cmd":"status"}`); !got.OK {
		t.Fatalf("got %+v", got)
	}

	stalled.expectClosed()
	idle.expectClosed()
	answered.expectClosed() // idle after its request
	log.waitFor(t, slog.LevelInfo, "dropping a client that sent part of a request")
	if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
		t.Errorf("after dropping a client, a new client got %+v", got)
	}
}

// A client that does not read its response is dropped at WriteTimeout.
func TestSlowReaderIsDropped(t *testing.T) {
	var log logBuffer
	big := strings.Repeat("x", 8<<20) // more than the socket buffers hold
	h := &fakeHandler{answer: func(context.Context, Request) Response { return Response{OK: true, Message: big} }}
	srv := serve(t, Options{WriteTimeout: 200 * time.Millisecond, Logger: log.logger()}, h)
	c := dial(t, srv.Path())
	c.send("{\"cmd\":\"status\"}\n")
	log.waitFor(t, slog.LevelInfo, "cannot answer, closing the connection")
	got, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) >= len(big) || strings.HasSuffix(string(got), "\n") {
		t.Errorf("read %d bytes ending in %q; want the response cut short", len(got), got[max(0, len(got)-5):])
	}
}

func TestAllowRefuses(t *testing.T) {
	var log logBuffer
	var mu sync.Mutex
	var asked []int
	h := &fakeHandler{}
	srv := serve(t, Options{Logger: log.logger(), Allow: func(uid int) bool {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, uid)
		return false
	}}, h)

	got := call(t, srv.Path(), Request{Cmd: CmdStop, Name: "web"})
	if diff := cmp.Diff(Response{Error: selfPermission()}, got); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	c := dial(t, srv.Path()) // says nothing: refused all the same
	if diff := cmp.Diff(Response{Error: selfPermission()}, c.recv()); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	c.expectClosed()

	if len(h.requests()) != 0 {
		t.Errorf("Handle saw %+v from a refused peer", h.requests())
	}
	mu.Lock()
	if diff := cmp.Diff([]int{os.Getuid(), os.Getuid()}, asked); diff != "" {
		t.Errorf("Allow's uids mismatch (-want +got):\n%s", diff)
	}
	mu.Unlock()
	rec := log.waitFor(t, slog.LevelWarn, "refused uid")
	if rec["peer_uid"] != float64(os.Getuid()) || rec["peer_pid"] != float64(os.Getpid()) {
		t.Errorf("the refusal's log record has no peer uid %d and pid %d: %v", os.Getuid(), os.Getpid(), rec)
	}
}

func TestConcurrentClients(t *testing.T) {
	h := &fakeHandler{answer: func(_ context.Context, req Request) Response {
		time.Sleep(time.Millisecond)
		return Response{OK: true, Message: req.Name}
	}}
	srv := serve(t, Options{}, h)
	const n = 100
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			name := fmt.Sprint("job", i)
			resp, err := Call(ctx, srv.Path(), Request{Cmd: CmdTrigger, Name: name})
			if err == nil && (!resp.OK || resp.Message != name) {
				err = fmt.Errorf("%s: got %+v", name, resp)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(h.requests()); got != n {
		t.Errorf("Handle saw %d requests, want %d", got, n)
	}
}

func TestServeStops(t *testing.T) {
	baseline := runtime.NumGoroutine()
	path := tempSocket(t)
	srv, err := Listen(path, Options{ReadTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, &fakeHandler{}) }()

	idle := dial(t, path)
	if got := idle.roundTrip(`{"cmd":"status"}`); !got.OK {
		t.Fatalf("got %+v", got)
	}
	halfway := dial(t, path)
	halfway.send(`{"cmd":`)
	call(t, path, Request{Cmd: CmdReload})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(patience):
		t.Fatalf("Serve has not returned %v after its ctx was canceled, with an hour's ReadTimeout", patience)
	}
	if exists(path) {
		t.Errorf("%s is still there after Serve returned", path)
	}
	idle.expectClosed()
	halfway.expectClosed()
	idle.c.Close()
	halfway.c.Close()
	waitUntil(t, fmt.Sprintf("the goroutines to go back to %d", baseline), func() bool {
		return runtime.NumGoroutine() <= baseline
	})

	if err := srv.Serve(context.Background(), &fakeHandler{}); err == nil {
		t.Error("a second Serve returned nil")
	}
}

// Serve answers the request in progress before it returns, and no other.
func TestServeWaitsForHandle(t *testing.T) {
	h := newBlockingHandler()
	srv := serve(t, Options{}, h)
	busy := dial(t, srv.Path())
	busy.send(`{"cmd":"trigger","name":"slow"}` + "\n" + `{"cmd":"status"}` + "\n")
	<-h.entered

	srv.cancel()
	waitUntil(t, "the socket to be removed", func() bool { return !exists(srv.Path()) })
	select {
	case <-srv.done:
		t.Fatal("Serve returned while Handle was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(h.release)
	if got := busy.recv(); got.Message != "released slow" {
		t.Errorf("the request in progress got %+v", got)
	}
	busy.expectClosed() // the status after it is not read
	srv.stop(t)
}

func TestServeWithDoneContext(t *testing.T) {
	path := tempSocket(t)
	srv, err := Listen(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Serve(ctx, &fakeHandler{}); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if exists(path) {
		t.Errorf("%s is still there", path)
	}
}

// A file at the path that is not the socket Listen made (a kopf started
// after this one was stopped made its own) is left alone.
func TestServeLeavesAnotherSocket(t *testing.T) {
	srv := serve(t, Options{}, &fakeHandler{})
	if err := os.Remove(srv.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(srv.Path(), []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)
	if b, err := os.ReadFile(srv.Path()); err != nil || string(b) != "not ours" {
		t.Errorf("the file at the path is gone or changed: %q, %v", b, err)
	}
}

func TestHandlePanics(t *testing.T) {
	var log logBuffer
	h := &fakeHandler{answer: func(_ context.Context, req Request) Response {
		if req.Name == "boom" {
			panic(errors.New("boom"))
		}
		return Response{OK: true}
	}}
	srv := serve(t, Options{Logger: log.logger()}, h)
	c := dial(t, srv.Path())
	if diff := cmp.Diff(Response{Error: "internal error: boom"}, c.roundTrip(`{"cmd":"start","name":"boom"}`)); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	if got := c.roundTrip(`{"cmd":"start","name":"calm"}`); !got.OK {
		t.Errorf("the same connection after a panic got %+v", got)
	}
	if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
		t.Errorf("a new client after a panic got %+v", got)
	}
	rec := log.waitFor(t, slog.LevelError, "start boom panicked: boom")
	if s, _ := rec["stack"].(string); !strings.Contains(s, "TestHandlePanics") {
		t.Errorf("the panic's log record has no stack: %v", rec)
	}
}

func TestLogging(t *testing.T) {
	var log logBuffer
	srv := serve(t, Options{Logger: log.logger()}, &fakeHandler{})
	call(t, srv.Path(), Request{Cmd: CmdRestart, Name: "web"})
	call(t, srv.Path(), Request{Cmd: CmdStop, Name: "fail"})
	call(t, srv.Path(), Request{Cmd: "launch"})

	uid, pid := float64(os.Getuid()), float64(os.Getpid())
	tests := []struct {
		level slog.Level
		msg   string
		attrs map[string]any
	}{
		{slog.LevelDebug, "control: restart web", map[string]any{"cmd": "restart", "name": "web", "peer_uid": uid, "peer_pid": pid}},
		{slog.LevelDebug, "control: stop fail", map[string]any{"cmd": "stop", "name": "fail", "peer_uid": uid, "peer_pid": pid}},
		{slog.LevelInfo, `control: stop fail: no job or proc named "fail"`, map[string]any{"cmd": "stop", "name": "fail", "peer_uid": uid, "peer_pid": pid}},
		{slog.LevelInfo, `control: refused a request: unknown command "launch"`, map[string]any{"peer_uid": uid, "peer_pid": pid}},
	}
	for _, tt := range tests {
		rec := log.waitFor(t, tt.level, tt.msg)
		for k, v := range tt.attrs {
			if rec[k] != v {
				t.Errorf("%s %q: %s is %v, want %v", tt.level, tt.msg, k, rec[k], v)
			}
		}
	}
}
