package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts a Server on loopback with opts and h, closed at the end of
// the test.
func serve(t *testing.T, opts Options, h http.Handler) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(h)
	t.Cleanup(func() { s.Close() })
	return s
}

// dialFrom connects to s from the loopback address from (127.0.0.2…:
// Linux answers the whole 127/8 on lo), as a client of its own.
func dialFrom(t *testing.T, s *Server, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends GET path with Host host on c and returns the status and body;
// an error when the server closed c instead.
func get(c net.Conn, host, path string) (int, string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// closed reports whether the server has closed c (a read sees EOF or a
// reset within a second).
func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (asNetErr(err, &ne) && ne.Timeout()) {
		return false
	}
	return true
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	*ne = e
	return ok
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })

// TestHostCheck: only the server's own names get an answer; any other
// Host — a rebound domain above all — gets 421 and no content.
func TestHostCheck(t *testing.T) {
	s := serve(t, Options{Hosts: []string{"kopf.example.com", "proxy.example:8443"}}, hello)
	_, port, _ := net.SplitHostPort(s.Addr().String())
	cases := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:" + port, true},
		{"localhost:" + port, true},
		{"LocalHost:" + port, true},
		{"[::1]:" + port, true},
		{"[0:0:0:0:0:0:0:1]:" + port, true},
		{"kopf.example.com", true},        // a proxy forwards the name alone
		{"kopf.example.com:443", true},    // or with its own port
		{"proxy.example:8443", true},      // NAME:PORT given: that port
		{"proxy.example:9000", false},     // and no other
		{"proxy.example", false},          //
		{"evil.example:" + port, false},   // DNS rebinding
		{"evil.example", false},           //
		{"localhost:1", false},            // the built-in names with the listener's port only
		{"127.0.0.2:" + port, false},      // not the listen address
		{"10.1.2.3:" + port, false},       //
		{"localhost.evil.example", false}, //
		{"", false},                       // HTTP/1.0 without Host
	}
	for _, c := range cases {
		conn := dialFrom(t, s, "127.0.0.1")
		var code int
		var body string
		var err error
		if c.host == "" {
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "GET / HTTP/1.0\r\n\r\n")
			resp, rerr := http.ReadResponse(bufio.NewReader(conn), nil)
			if err = rerr; err == nil {
				b, _ := io.ReadAll(resp.Body)
				code, body = resp.StatusCode, string(b)
			}
		} else {
			code, body, err = get(conn, c.host, "/")
		}
		if err != nil {
			t.Fatalf("Host %q: %v", c.host, err)
		}
		switch {
		case c.ok && (code != 200 || body != "hello"):
			t.Errorf("Host %q: got %d %q, want 200 hello", c.host, code, body)
		case !c.ok && (code != http.StatusMisdirectedRequest || body != ""):
			t.Errorf("Host %q: got %d %q, want 421 and no content", c.host, code, body)
		}
	}
	if got := s.Stats().Misdirected; got != 9 {
		t.Errorf("Stats().Misdirected = %d, want 9", got)
	}
}

// TestHostCheckOnEveryAddress: a server on 0.0.0.0 takes the machine's
// own addresses as its listen address, and nothing else.
func TestHostCheckOnEveryAddress(t *testing.T) {
	s, err := Listen("0.0.0.0:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, port, _ := net.SplitHostPort(s.Addr().String())
	for host, want := range map[string]bool{
		"127.0.0.1:" + port:    true,
		"127.0.0.2:" + port:    false, // on lo's route, not an interface's address
		"203.0.113.9:" + port:  false,
		"evil.example:" + port: false,
	} {
		if got := s.hosts.allows(host); got != want {
			t.Errorf("allows(%q) = %v, want %v", host, got, want)
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			host := net.JoinHostPort(ipn.IP.String(), port)
			if !s.hosts.allows(host) {
				t.Errorf("allows(%q) = false for an address of this machine", host)
			}
		}
	}
}

// TestIdleConnectionsMakeRoom: connections held open without a request,
// or between requests, or in the middle of their headers, are closed to
// let a new client in; the server never has more than its cap open.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	s := serve(t, Options{MaxConns: 4, MaxConnsPerClient: 4}, hello)
	host := s.Addr().String()
	var held []net.Conn
	for i := range 3 {
		c := dialFrom(t, s, fmt.Sprintf("127.0.0.%d", 2+i))
		if code, _, err := get(c, host, "/"); err != nil || code != 200 {
			t.Fatalf("keep-alive connection %d: %d %v", i, code, err)
		}
		held = append(held, c) // idle between requests
	}
	for i := range 3 {
		held = append(held, dialFrom(t, s, fmt.Sprintf("127.0.0.%d", 10+i))) // nothing sent
	}
	slow := dialFrom(t, s, "127.0.0.20")
	fmt.Fprintf(slow, "GET / HTTP/1.1\r\nHost: %s\r\n", host) // headers never finished
	held = append(held, slow)
	// Each newcomer gets an answer, however many are held.
	for i := range 5 {
		c := dialFrom(t, s, fmt.Sprintf("127.0.0.%d", 30+i))
		if code, body, err := get(c, host, "/"); err != nil || code != 200 || body != "hello" {
			t.Fatalf("newcomer %d: %d %q %v", i, code, body, err)
		}
		if n := s.Stats().Open; n > 4 {
			t.Fatalf("%d connections open, cap 4", n)
		}
	}
	gone := 0
	for _, c := range held {
		if closed(c) {
			gone++
		}
	}
	if gone < len(held)-3 {
		t.Errorf("%d of the %d held connections were closed; want all but at most 3 (the cap, less the newcomer)", gone, len(held))
	}
	if st := s.Stats(); st.Evicted < uint64(gone) {
		t.Errorf("Stats().Evicted = %d, want at least the %d closed", st.Evicted, gone)
	}
}

// TestBusyConnectionsAreNotClosed: a connection whose request is being
// answered is never closed to make room; a newcomer waits for one to
// finish instead. A client whose connections are all busy at its own cap
// has a further one closed at once, and other clients still get in.
func TestBusyConnectionsAreNotClosed(t *testing.T) {
	release := make(chan struct{})
	var inHandler atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			inHandler.Add(1)
			<-release
		}
		io.WriteString(w, "hello")
	})
	// The client with a cap of its own must not be on loopback, where
	// every client shares the total (TestLoopbackSharesTheTotal).
	remote := nonLoopback(t)
	s, err := Listen("0.0.0.0:0", Options{MaxConns: 3, MaxConnsPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(h)
	t.Cleanup(func() { s.Close() })
	_, port, _ := net.SplitHostPort(s.Addr().String())
	host := "127.0.0.1:" + port
	dialRemote := func() net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: remote}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", net.JoinHostPort(remote.String(), port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	results := make(chan error, 3)
	for range 2 {
		c := dialRemote()
		go func() {
			code, body, err := get(c, host, "/block")
			if err == nil && (code != 200 || body != "hello") {
				err = fmt.Errorf("%d %q", code, body)
			}
			results <- err
		}()
	}
	for inHandler.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	// The remote client has both its connections busy: a third is closed.
	third := dialRemote()
	if !closed(third) {
		t.Error("a client at its cap with every connection busy: its next connection stays open")
	}
	if s.Stats().Refused != 1 {
		t.Errorf("Stats().Refused = %d, want 1", s.Stats().Refused)
	}
	// Another client fills the last place; a newcomer closes it, idle
	// after its request, rather than either busy one.
	other := dialFrom(t, s, "127.0.0.3")
	if code, _, err := get(other, host, "/"); err != nil || code != 200 {
		t.Fatalf("another client: %d %v", code, err)
	}
	newcomer := dialFrom(t, s, "127.0.0.4")
	go func() {
		code, body, err := get(newcomer, host, "/block")
		if err == nil && (code != 200 || body != "hello") {
			err = fmt.Errorf("%d %q", code, body)
		}
		results <- err
	}()
	for inHandler.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	if !closed(other) {
		t.Error("the idle connection was not closed to make room")
	}
	// Now all three are busy: the next one waits for room.
	waiting := dialFrom(t, s, "127.0.0.5")
	got := make(chan error, 1)
	go func() {
		_, _, err := get(waiting, host, "/")
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a fourth connection beside three busy ones was let in (cap 3): %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-got; err != nil {
		t.Fatalf("the waiting connection after the busy ones finished: %v", err)
	}
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("a busy connection was cut: %v", err)
		}
	}
}

// nonLoopback is an address of one of the machine's interfaces that is
// not a loopback address; the test is skipped on a machine without one.
func nonLoopback(t *testing.T) net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP
		}
	}
	t.Skip("no interface address but loopback ones")
	return nil
}

// TestLoopbackSharesTheTotal: every local user connects from loopback,
// so there a client has no cap of its own: one user's busy requests do
// not refuse another's, who waits for room in the total like anyone.
func TestLoopbackSharesTheTotal(t *testing.T) {
	release := make(chan struct{})
	var inHandler atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inHandler.Add(1)
		<-release
		io.WriteString(w, "hello")
	})
	s := serve(t, Options{MaxConns: 4, MaxConnsPerClient: 1}, h)
	results := make(chan error, 3)
	for range 3 {
		c := dialFrom(t, s, "127.0.0.1")
		go func() {
			_, _, err := get(c, s.Addr().String(), "/")
			results <- err
		}()
	}
	for inHandler.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 3 {
		if err := <-results; err != nil {
			t.Errorf("a loopback client's third connection: %v", err)
		}
	}
	if st := s.Stats(); st.Refused != 0 {
		t.Errorf("Stats().Refused = %d on loopback, want 0", st.Refused)
	}
}

// TestHealthz answers 200 ok while alive, 503 with the reason otherwise.
func TestHealthz(t *testing.T) {
	var dead atomic.Bool
	s := serve(t, Options{}, Healthz(func(time.Duration) error {
		if dead.Load() {
			return fmt.Errorf("kopf's loop has not answered within 5s")
		}
		return nil
	}))
	for _, c := range []struct {
		dead bool
		code int
		body string
	}{{false, 200, "ok\n"}, {true, 503, "kopf's loop has not answered within 5s\n"}} {
		dead.Store(c.dead)
		code, body, err := get(dialFrom(t, s, "127.0.0.1"), s.Addr().String(), "/")
		if err != nil || code != c.code || body != c.body {
			t.Errorf("dead=%v: %d %q %v, want %d %q", c.dead, code, body, err, c.code, c.body)
		}
	}
}

func TestListenRefusesBadHostNames(t *testing.T) {
	for _, h := range []string{"", strings.Repeat("a", 256)} {
		if _, err := Listen("127.0.0.1:0", Options{Hosts: []string{h}}); err == nil {
			t.Errorf("Listen with host %q: no error", h)
		}
	}
}

// TestUnreadRequestIsNotClosed: a new connection whose request is in the
// kernel, not yet read (its goroutine has not run, on a loaded machine),
// keeps its place; one that has sent nothing gives it up, and so does one
// whose bytes the server has read.
func TestUnreadRequestIsNotClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := newLimiter(ln, 2, 2, &counters{})
	accept := func(send string) (*conn, net.Conn) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if send != "" {
			client.Write([]byte(send))
		}
		c := l.admit(nc)
		t.Cleanup(func() { c.Close() })
		return c, client
	}
	waiting, _ := accept("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	silent, _ := accept("")
	for deadline := time.Now().Add(5 * time.Second); !waiting.unread(); {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the kernel's buffer")
		}
		time.Sleep(time.Millisecond)
	}
	l.mu.Lock()
	got := l.idlest("")
	l.mu.Unlock()
	if got != silent {
		t.Errorf("idlest = %p, want the silent connection %p, not the older one with a request unread (%p)", got, silent, waiting)
	}
	waiting.Read(make([]byte, 4096)) // the server reads it: now it may go
	l.mu.Lock()
	got = l.idlest("")
	l.mu.Unlock()
	if got != waiting {
		t.Errorf("idlest = %p after the request was read, want the least recently active one %p", got, waiting)
	}
}
