package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Handler carries out a request that the server has checked: Cmd is known,
// Name is non-empty for the commands that need one and empty for the
// others, Args come only with trigger, and N is between 1 and 10000 for
// next (0 for the others).
//
// The server calls Handle from each connection's own goroutine, one
// request at a time per connection but concurrently across connections:
// Handle must be safe for concurrent use. The daemon's Handler talks to its
// supervisor; it may take a while (a restart waits for nothing but a reply
// from the supervisor loop), but it should return soon after ctx, Serve's
// context, is done: Serve waits for every Handle in progress before it
// returns.
//
// A panic in Handle is recovered; the client gets an "internal error"
// response.
type Handler interface {
	Handle(ctx context.Context, req Request) Response
}

// Defaults for Options.
const (
	defaultReadTimeout  = 10 * time.Second
	defaultWriteTimeout = 10 * time.Second
)

// Options configure Listen.
type Options struct {
	// ReadTimeout bounds how long a client may take to send a whole
	// request line, and how long a connection may sit idle between
	// requests before the server closes it. 0 means 10s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response; a client that does not
	// read it in time is dropped. 0 means 10s.
	WriteTimeout time.Duration
	// Allow decides from a peer's uid, which the kernel vouches for
	// (SO_PEERCRED), whether it may talk to the daemon. nil allows the
	// daemon's own uid (os.Getuid()) and root (0).
	Allow func(uid int) bool
	// Logger is told of every request (Debug), every refused request
	// (Info), every refused peer (Warn) and every panic (Error). nil
	// discards.
	Logger *slog.Logger
}

// Server is a control socket that Listen created. Serve answers on it.
type Server struct {
	path         string
	ln           *net.UnixListener
	inode        os.FileInfo // the socket file Listen made
	readTimeout  time.Duration
	writeTimeout time.Duration
	allow        func(uid int) bool
	log          *slog.Logger
	uid          int // the daemon's
	served       atomic.Bool

	mu      sync.Mutex
	closing bool                       // Serve's ctx is done: no new request is read
	conns   map[*net.UnixConn]struct{} // open connections
	wg      sync.WaitGroup             // a goroutine per open connection
}

func newServer(path string, ln *net.UnixListener, inode os.FileInfo, opts Options) *Server {
	s := &Server{
		path:         path,
		ln:           ln,
		inode:        inode,
		readTimeout:  opts.ReadTimeout,
		writeTimeout: opts.WriteTimeout,
		allow:        opts.Allow,
		log:          opts.Logger,
		uid:          os.Getuid(),
		conns:        map[*net.UnixConn]struct{}{},
	}
	if s.readTimeout <= 0 {
		s.readTimeout = defaultReadTimeout
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = defaultWriteTimeout
	}
	if s.allow == nil {
		s.allow = func(uid int) bool { return uid == s.uid || uid == 0 }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until ctx is done and answers each on a
// goroutine of its own. Then it closes the listener, removes the socket
// file (if it is still the one Listen created), ends the connections that
// wait for a request at once and the others as soon as the request in
// progress is answered, and returns once every connection's goroutine has
// ended. It returns nil after ctx is done, and an error only if it is
// called a second time.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("control: Serve called twice")
	}
	shutdownDone := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(shutdownDone)
		s.shutdown()
	})
	s.accept(ctx, h)
	if !stop() {
		<-shutdownDone // the AfterFunc is running: wait, so that nothing outlives Serve
	}
	s.shutdown() // a no-op after the AfterFunc; here for a listener that failed
	switch removed, err := removeSocket(s.path, s.inode); {
	case err != nil:
		s.log.Warn(fmt.Sprintf("control: cannot remove the socket %s: %v", s.path, err), "socket", s.path)
	case !removed:
		s.log.Info(fmt.Sprintf("control: %s is no longer this kopf's socket; left alone", s.path), "socket", s.path)
	}
	s.wg.Wait()
	return nil
}

// accept starts a goroutine for each connection until ctx is done.
func (s *Server) accept(ctx context.Context, h Handler) {
	var delay time.Duration
	for {
		c, err := s.ln.AcceptUnix()
		if ctx.Err() != nil {
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			// Out of descriptors, most likely: wait for some to be closed,
			// as net/http does, rather than spin or give up the socket.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn(fmt.Sprintf("control: accept: %v; trying again in %v", err, delay), "socket", s.path)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		if !s.track(c) {
			c.Close()
			continue
		}
		s.wg.Go(func() {
			defer s.untrack(c)
			s.serveConn(ctx, c, h)
		})
	}
}

// shutdown stops accepting and wakes every connection waiting for a
// request, by a read deadline in the past.
func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.closing = true
	s.ln.Close()
	for c := range s.conns {
		c.SetReadDeadline(time.Unix(1, 0))
	}
}

func (s *Server) track(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *net.UnixConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// armRead gives c ReadTimeout to send its next request, and reports false
// instead once the server is closing. Under s.mu, so that shutdown's
// deadline in the past is never replaced by one in the future.
func (s *Server) armRead(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	c.SetReadDeadline(time.Now().Add(s.readTimeout))
	return true
}

// peer is the process at the other end of a connection, as the kernel
// saw it when it connected.
type peer struct{ uid, pid int }

func peerOf(c *net.UnixConn) (peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var cred *unix.Ucred
	var credErr error
	err = raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = credErr
	}
	if err != nil {
		return peer{}, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return peer{uid: int(cred.Uid), pid: int(cred.Pid)}, nil
}

// serveConn answers the requests of one connection, one line each, until
// the client closes it, idles past ReadTimeout, sends something that ends
// the conversation, or the server closes.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn, h Handler) {
	p, err := peerOf(c)
	if err != nil {
		s.log.Warn(fmt.Sprintf("control: cannot tell who connected, closing: %v", err))
		return
	}
	log := s.log.With("peer_uid", p.uid, "peer_pid", p.pid)
	if !s.allow(p.uid) {
		log.Warn(fmt.Sprintf("control: refused uid %d (pid %d): not allowed to control this kopf", p.uid, p.pid))
		s.write(c, log, Response{Error: fmt.Sprintf("permission denied: uid %d may not control this kopf (it runs as uid %d)", p.uid, s.uid)})
		return
	}
	r := bufio.NewReaderSize(c, MaxRequest)
	for s.armRead(c) {
		line, err := r.ReadSlice('\n')
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			// Whatever follows may be the rest of this line or a new one:
			// no way to tell, so no more is read.
			msg := fmt.Sprintf("request longer than %d bytes", MaxRequest)
			log.Info("control: " + msg + "; closing the connection")
			s.write(c, log, Response{Error: msg})
			return
		case err == io.EOF && len(line) > 0:
			// A last line without its newline, from a client that shut
			// down its side: answered all the same.
		default:
			s.readFailed(log, err, len(line) > 0)
			return
		}
		if !s.write(c, log, s.answer(ctx, log, h, line)) || err != nil {
			return
		}
	}
}

// readFailed logs why a connection ends while the server waits for a
// request; partial says part of one had come.
func (s *Server) readFailed(log *slog.Logger, err error, partial bool) {
	switch {
	case err == io.EOF:
		log.Debug("control: the client closed the connection")
	case !errors.Is(err, os.ErrDeadlineExceeded):
		log.Debug(fmt.Sprintf("control: closing the connection: %v", err))
	case partial:
		log.Info(fmt.Sprintf("control: dropping a client that sent part of a request and nothing more for %v", s.readTimeout))
	default:
		log.Debug("control: closing an idle connection")
	}
}

// answer parses and checks one line and has h carry it out.
func (s *Server) answer(ctx context.Context, log *slog.Logger, h Handler, line []byte) Response {
	req, err := parseRequest(line)
	if err != nil {
		log.Info(fmt.Sprintf("control: refused a request: %v", err))
		return Response{Error: err.Error()}
	}
	log = log.With("cmd", req.Cmd, "name", req.Name)
	log.Debug(fmt.Sprintf("control: %s %s", req.Cmd, req.Name))
	resp := s.handle(ctx, log, h, req)
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = fmt.Sprintf("%s failed, and the daemon does not say why", req.Cmd)
		}
		log.Info(fmt.Sprintf("control: %s %s: %s", req.Cmd, req.Name, resp.Error))
	}
	return resp
}

// handle calls h, turning a panic into an error response: a bug in one
// command must not take down the daemon and everything it runs.
func (s *Server) handle(ctx context.Context, log *slog.Logger, h Handler, req Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			log.Error(fmt.Sprintf("control: %s %s panicked: %v", req.Cmd, req.Name, v), "stack", string(debug.Stack()))
			resp = Response{Error: fmt.Sprintf("internal error: %v", v)}
		}
	}()
	return h.Handle(ctx, req)
}

// write sends resp as one line within WriteTimeout and reports whether it
// could.
func (s *Server) write(c *net.UnixConn, log *slog.Logger, resp Response) bool {
	b, err := json.Marshal(resp)
	if err != nil { // a time outside years 0 to 9999, say
		log.Error(fmt.Sprintf("control: cannot encode a response: %v", err))
		b, _ = json.Marshal(Response{Error: fmt.Sprintf("internal error: cannot encode the response: %v", err)})
	}
	b = append(b, '\n')
	c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	if _, err := c.Write(b); err != nil {
		log.Info(fmt.Sprintf("control: cannot answer, closing the connection: %v", err))
		return false
	}
	return true
}
