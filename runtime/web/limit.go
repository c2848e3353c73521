package web

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// limiter is a listener that keeps at most max connections open, and at
// most perClient of one client address. A connection is busy while a
// handler serves one of its requests; any other — a keep-alive between
// requests, one that has sent nothing yet or is still sending its
// headers — may be closed to make room for a new one, the least recently
// active first, as nginx reuses its keep-alive connections when it runs
// out; except a new one whose request waits unread in the kernel, which
// on a loaded machine is a client whose turn has not come yet, not one
// holding a place.
// So connections held open cost the holder its own connections, not the
// daemon its file descriptors, and a new client still gets in.
type limiter struct {
	net.Listener
	max, perClient int
	stats          *counters

	mu       sync.Mutex
	lru      list.List // of *conn, least recently active at the front
	byClient map[string]int
	room     chan struct{} // a connection closed or went idle
	done     chan struct{} // closed by Close
	once     sync.Once
}

func newLimiter(l net.Listener, max, perClient int, stats *counters) *limiter {
	return &limiter{Listener: l, max: max, perClient: perClient, stats: stats,
		byClient: map[string]int{}, room: make(chan struct{}, 1), done: make(chan struct{})}
}

// conn is a connection the limiter counts.
type conn struct {
	net.Conn
	l      *limiter
	client string
	elem   *list.Element // nil once released
	// busy: a handler has begun a request of it, and the server has not
	// yet written the whole answer out (ConnState's StateIdle says so;
	// the handler's return comes before the answer is flushed).
	busy bool
	// answered: it has had an answer; it is now a keep-alive, or a
	// client's next request.
	answered bool
}

// unread reports whether the kernel holds bytes c's client sent that the
// server has not read yet (SIOCINQ).
func (c *conn) unread() bool {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	raw.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

func (c *conn) Close() error {
	c.l.release(c)
	return c.Conn.Close()
}

// Accept returns the next connection that fits, closing an idle one to
// make room when the limits are reached. When every open connection is
// busy it waits for one to finish; a client at its own limit with every
// connection busy has the new one closed at once.
func (l *limiter) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit counts nc in, or closes it and returns nil.
func (l *limiter) admit(nc net.Conn) *conn {
	client, loopback := clientOf(nc.RemoteAddr())
	l.mu.Lock()
	var evict []*conn
	// Every local user is 127.0.0.1: on loopback a cap per address would
	// let one user's busy requests refuse everyone else's; they share the
	// total instead, where a newcomer waits for room.
	if !loopback && l.byClient[client] >= l.perClient {
		victim := l.idlest(client)
		if victim == nil {
			l.mu.Unlock()
			l.stats.refused.Add(1) // before its client can see it closed
			nc.Close()
			return nil
		}
		evict = append(evict, l.removeLocked(victim))
	}
	for l.lru.Len() >= l.max {
		if victim := l.idlest(""); victim != nil {
			evict = append(evict, l.removeLocked(victim))
			continue
		}
		// Every connection is in a handler: those end (the write
		// timeout bounds them), so wait for one.
		l.mu.Unlock()
		select {
		case <-l.room:
		case <-time.After(100 * time.Millisecond):
		case <-l.done:
			nc.Close()
			return nil
		}
		l.mu.Lock()
	}
	c := &conn{Conn: nc, l: l, client: client}
	c.elem = l.lru.PushBack(c)
	l.byClient[client]++
	l.mu.Unlock()
	for _, v := range evict {
		l.stats.evicted.Add(1)
		v.Conn.Close()
	}
	return c
}

// idlest is the least recently active connection that is not busy, of
// client when that is not empty; nil if there is none.
func (l *limiter) idlest(client string) *conn {
	for e := l.lru.Front(); e != nil; e = e.Next() {
		c := e.Value.(*conn)
		if !c.busy && (client == "" || c.client == client) && (c.answered || !c.unread()) {
			return c
		}
	}
	return nil
}

// removeLocked stops counting c and returns it.
func (l *limiter) removeLocked(c *conn) *conn {
	if c.elem == nil {
		return c
	}
	l.lru.Remove(c.elem)
	c.elem = nil
	if l.byClient[c.client]--; l.byClient[c.client] <= 0 {
		delete(l.byClient, c.client)
	}
	return c
}

// release stops counting c, when it closes.
func (l *limiter) release(c *conn) {
	l.mu.Lock()
	l.removeLocked(c)
	l.mu.Unlock()
	l.signal()
}

func (l *limiter) signal() {
	select {
	case l.room <- struct{}{}:
	default:
	}
}

// serving marks c busy from the start of a handler on its request.
func (l *limiter) serving(c *conn) {
	l.mu.Lock()
	c.busy = true
	l.mu.Unlock()
}

// idle marks c idle once its answer is out: it is then the most recently
// active connection.
func (l *limiter) idle(c *conn) {
	l.mu.Lock()
	c.busy, c.answered = false, true
	if c.elem != nil {
		l.lru.MoveToBack(c.elem)
	}
	l.mu.Unlock()
	l.signal()
}

// connState follows the server's connections: one is idle again once its
// answer has been written.
func (l *limiter) connState(nc net.Conn, st http.ConnState) {
	if c, ok := nc.(*conn); ok && st == http.StateIdle {
		l.idle(c)
	}
}

// open is how many connections are counted now.
func (l *limiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

func (l *limiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// track marks the request's connection busy when h begins to serve it;
// connState marks it idle once the answer is out. A connection still
// sending its headers is not busy: holding one open that way takes no
// one's place.
func (l *limiter) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			l.serving(c)
		}
		h.ServeHTTP(w, r)
	})
}

type connKey struct{}

// connContext puts the limiter's conn in each of its requests' context.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// clientOf is the address a connection comes from, without its port, and
// whether it is a loopback address.
func clientOf(a net.Addr) (string, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String(), t.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), false
	}
	ip := net.ParseIP(host)
	return host, ip != nil && ip.IsLoopback()
}

// counters are what Stats reports.
type counters struct {
	evicted, refused, misdirected atomic.Uint64
}
