// Package control is kopf's control socket: the unix socket on which a
// running daemon (kopf run) answers kopf status, trigger, start, stop,
// restart, reload and next. A client sends one Request as a line of JSON
// and reads one Response as a line of JSON; docs/control.md describes the
// protocol for people writing other tools against it.
//
// The daemon listens, then serves until it stops:
//
//	srv, err := control.Listen(control.DefaultPath(os.Getenv, journalPath), control.Options{Logger: log})
//	if err != nil {
//		return err // errors.Is(err, control.ErrInUse): a kopf already answers there
//	}
//	go func() { done <- srv.Serve(ctx, handler) }() // removes the socket once ctx is done
//
// and a client asks it:
//
//	path := control.DefaultPath(os.Getenv, journal.DefaultPath(os.Getenv))
//	resp, err := control.Call(ctx, path, control.Request{Cmd: control.CmdStatus})
//	if err != nil {
//		return err // "no kopf is running at …", a timeout: the daemon was not reached
//	}
//	if !resp.OK {
//		return errors.New(resp.Error) // the daemon refused the request
//	}
//
// Only the daemon's own user and root may talk to it: the socket is mode
// 0600, and the server checks every peer's uid with SO_PEERCRED as well, so
// a socket made reachable by other means (a looser directory, a bind mount)
// still answers no one else.
package control
