package control

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

const (
	// callTimeout bounds a Call whose ctx has no deadline.
	callTimeout = 10 * time.Second
	// maxResponse is the longest response line Call reads: a status of
	// thousands of units fits many times over.
	maxResponse = 16 << 20
)

// Call sends req to the daemon whose control socket is at path and returns
// its response, within ctx's deadline, or 10s when ctx has none. Each Call
// is a connection of its own.
//
// An error means the daemon was not reached, or did not answer in time or
// in its protocol; its text says which in words, such as "no kopf is
// running at PATH (start one with kopf run, or give --socket)". A request
// the daemon refused is not an error: it is a Response with OK false and
// its Error.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	line, err := json.Marshal(req)
	if err != nil {
		return Response{}, fmt.Errorf("request: %w", err)
	}
	line = append(line, '\n')
	if len(line) > MaxRequest {
		return Response{}, fmt.Errorf("request longer than %d bytes", MaxRequest)
	}
	addr, err := socketAddr(path)
	if err != nil {
		return Response{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		return Response{}, dialError(ctx, path, err)
	}
	defer c.Close()
	if err := checkServer(path, c.(*net.UnixConn)); err != nil {
		return Response{}, err
	}
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) }) // a cancel, before the deadline
	defer stop()

	_, werr := c.Write(line)
	// Read even when the write failed: a daemon that refuses a peer
	// answers at once and closes, maybe before the request is written.
	r := bufio.NewReader(io.LimitReader(c, maxResponse))
	b, rerr := r.ReadBytes('\n')
	switch {
	case rerr == nil:
	case ctx.Err() != nil || errors.Is(rerr, os.ErrDeadlineExceeded):
		return Response{}, fmt.Errorf("kopf at %s did not answer in time: %w", path, cmp.Or(ctx.Err(), context.DeadlineExceeded))
	case werr != nil:
		return Response{}, fmt.Errorf("cannot send the request to kopf at %s: %w", path, werr)
	case rerr == io.EOF && len(b) >= maxResponse:
		return Response{}, fmt.Errorf("kopf at %s answered more than %d bytes on a line", path, maxResponse)
	case rerr == io.EOF && len(b) == 0:
		return Response{}, fmt.Errorf("kopf at %s closed the connection without an answer", path)
	case rerr == io.EOF:
		return Response{}, fmt.Errorf("kopf at %s closed the connection in the middle of its answer", path)
	default:
		return Response{}, fmt.Errorf("cannot read the answer of kopf at %s: %w", path, rerr)
	}
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		return Response{}, fmt.Errorf("kopf at %s answered something that is not a response: %w", path, err)
	}
	return resp, nil
}

// trustServer decides from the uid that serves a socket whether a client
// talks to it: its own user's daemon, or root's. A variable for the tests
// of the refusal.
var trustServer = func(uid int) bool { return uid == os.Geteuid() || uid == 0 }

// checkServer refuses a socket served by a process of another user (not
// root): someone who could write the socket's directory may have put
// their own in the daemon's place, to read the requests or answer them.
// The kernel says who listens (SO_PEERCRED), so it cannot be forged.
func checkServer(path string, c *net.UnixConn) error {
	p, err := peerOf(c)
	if err != nil {
		return fmt.Errorf("control socket %s: cannot tell who serves it: %w", path, err)
	}
	if !trustServer(p.uid) {
		return fmt.Errorf("control socket %s is served by uid %d (pid %d), neither you (uid %d) nor root: it is not your kopf, "+
			"and kopf does not talk to it; someone who may write that directory may have put it there", path, p.uid, p.pid, os.Geteuid())
	}
	return nil
}

// callError is an error in words of Call's own, which still wraps what
// the system said, for errors.Is.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// dialError says why connecting to the socket at path failed, in terms of
// what the user can do about it.
func dialError(ctx context.Context, path string, err error) error {
	switch {
	// connect(2) on a file that is not a socket is refused too.
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ECONNREFUSED):
		return &callError{fmt.Sprintf("no kopf is running at %s (start one with kopf run, or give --socket)", path), err}
	case errors.Is(err, syscall.EACCES):
		return &callError{fmt.Sprintf("permission denied on %s: the socket belongs to another user", path), err}
	case errors.Is(err, syscall.EAGAIN):
		return &callError{fmt.Sprintf("kopf at %s is too busy to take a connection; try again", path), err}
	case ctx.Err() != nil:
		return fmt.Errorf("kopf at %s did not answer in time: %w", path, ctx.Err())
	}
	return fmt.Errorf("cannot reach kopf at %s: %w", path, err)
}
