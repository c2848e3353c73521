package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInUse says a control socket belongs to a running daemon: a connect to
// it succeeded. Listen returns it wrapped with the path.
var ErrInUse = errors.New("control socket is in use by a running kopf")

type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return fmt.Sprintf("control socket %s is in use by a running kopf", e.path)
}

func (e *inUseError) Unwrap() error { return ErrInUse }

// maxPath is the longest path a unix socket address holds: sun_path is 108
// bytes, the last of them a NUL.
const maxPath = 107

// DefaultPath is where the control socket of a daemon that keeps its
// journal at journalPath lives: $KOPF_SOCKET when set; else
// $XDG_RUNTIME_DIR/kopf.sock when XDG_RUNTIME_DIR is an absolute path, as
// the XDG base directory spec asks of it; else kopf.sock in the journal's
// directory. The daemon passes the journal it holds and a client the one
// it would read (journal.DefaultPath(getenv) without --journal), so both
// agree on the socket without being told.
func DefaultPath(getenv func(string) string, journalPath string) string {
	if p := getenv("KOPF_SOCKET"); p != "" {
		return p
	}
	if dir := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "kopf.sock")
	}
	return filepath.Join(filepath.Dir(journalPath), "kopf.sock")
}

// socketAddr is the address that names the file at path: Go reads a
// leading @ as Linux's abstract namespace, where no file mode protects a
// socket, so a relative "@x" becomes "./@x".
func socketAddr(path string) (string, error) {
	if strings.HasPrefix(path, "@") {
		path = "./" + path
	}
	switch {
	case path == "":
		return "", errors.New("control socket: empty path")
	case strings.IndexByte(path, 0) >= 0:
		return "", fmt.Errorf("control socket %q: the path contains a NUL byte", path)
	case len(path) > maxPath:
		return "", fmt.Errorf("control socket %s: the path is %d bytes long, and a unix socket's may be at most %d; give a shorter one with --socket or KOPF_SOCKET", path, len(path), maxPath)
	}
	return path, nil
}

// Listen creates the control socket at path and returns the Server that
// will answer on it once Serve is called. The socket is mode 0600; a
// missing parent directory is created with mode 0700 (an existing one is
// left as it is).
//
// A socket already at path is a dead daemon's when connecting to it is
// refused: Listen removes it and takes its place. When a connect succeeds,
// a daemon runs there and Listen fails with ErrInUse, leaving that daemon
// alone. Anything else at path (a file, a directory, a symlink) is an
// error, and Listen touches nothing. kopfs that Listen on the same path at
// the same moment take turns, by an flock(2) on the parent directory.
//
// Listen changes the process's umask for the duration of bind(2), so that
// the socket is never more open than 0600: call it before the daemon
// starts processes or creates files from other goroutines.
//
// A Server holds its socket until Serve returns; one that will never be
// served should be given to Serve with a ctx that is already done, which
// removes the socket and returns at once.
func Listen(path string, opts Options) (*Server, error) {
	path, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := safeDir(path, dir); err != nil {
		return nil, err
	}
	unlock := lockDir(dir)
	defer unlock()
	if err := clearDead(path); err != nil {
		return nil, err
	}
	ln, inode, err := bind(path)
	if err != nil {
		return nil, err
	}
	return newServer(path, ln, inode, opts), nil
}

// safeDir refuses a socket whose directory, or a directory above it,
// another user could change: one that belongs to someone other than us
// or root, or that others may write to without the sticky bit (which, as
// on /tmp, keeps them from removing or renaming what is not theirs).
// There, another user could put their own socket in the daemon's place,
// and clients would talk to it.
func safeDir(path, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	me := os.Geteuid()
	for d := abs; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("control socket %s: %w", path, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		var why string
		switch mode := fi.Mode(); {
		case int(st.Uid) != me && st.Uid != 0:
			why = fmt.Sprintf("belongs to uid %d", st.Uid)
		case mode.Perm()&0o022 != 0 && mode&fs.ModeSticky == 0:
			why = fmt.Sprintf("may be written by other users (mode %04o) and is not sticky", mode.Perm())
		}
		if why != "" {
			return fmt.Errorf("control socket %s: directory %s %s, so another user could put their own socket in kopf's place; "+
				"kopf checks that the socket's directory and each one above it belong to you (uid %d) or root and that no one else "+
				"may write to them, unless sticky like /tmp: give --socket or KOPF_SOCKET a path in such a directory, like $XDG_RUNTIME_DIR",
				path, d, why, me)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// clearDead removes a dead daemon's socket at path and returns nil when
// path is free for bind(2). A socket of another user is never removed:
// in a sticky directory that is what keeps kopf's name its own.
func clearDead(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("control socket %s: the path exists and is not a socket; kopf leaves it alone: remove it, or give another path with --socket or KOPF_SOCKET", path)
	}
	if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != os.Geteuid() {
		return fmt.Errorf("control socket %s belongs to uid %d, not to you (uid %d): kopf does not take another user's socket; remove it, or give another path with --socket or KOPF_SOCKET",
			path, uid, os.Geteuid())
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return &inUseError{path}
	}
	// Only a refusal proves that no one listens. A full backlog (EAGAIN),
	// a socket of another user (EACCES) or a timeout may all be a live
	// daemon's, and taking its path would make it unreachable.
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: cannot tell whether a kopf runs there, so it is left alone: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket %s: cannot remove the socket of a kopf that has ended: %w", path, err)
	}
	return nil
}

// bind creates the socket at path, mode 0600, and returns its listener
// and the file's identity, for Serve to remove that file and no other.
//
// The umask makes the socket 0700 from its first instant (connecting
// needs write permission, so the x bit opens nothing), and the chmod then
// gives the 0600 that kopf promises. 0077 rather than 0177: the umask is
// the process's, and a directory some other goroutine happens to create
// meanwhile stays usable by its owner with 0077, not with 0177.
func bind(path string) (*net.UnixListener, os.FileInfo, error) {
	old := unix.Umask(0o077)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	// Serve removes the file itself, and only if it is still this one.
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, os.FileInfo, error) {
		ln.Close()
		os.Remove(path)
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fail(err)
	}
	inode, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return ln, inode, nil
}

// removeSocket removes the socket file at path if it is still inode: a
// kopf that started after this one was stopped may have put its own there.
// It reports whether it removed the file.
func removeSocket(path string, inode os.FileInfo) (bool, error) {
	unlock := lockDir(filepath.Dir(path))
	defer unlock()
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !os.SameFile(fi, inode) {
		return false, nil
	}
	return true, os.Remove(path)
}

// lockDir takes an exclusive flock on dir, which kopfs hold while they
// look at, remove or create a socket in it, so that two of them never both
// find a path free. The lock is a courtesy between kopfs: where it cannot
// be had (a file system without flock), lockDir returns and the caller
// goes on without it.
func lockDir(dir string) (unlock func()) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return func() {}
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return func() {}
	}
	return func() { unix.Close(fd) } // closing the descriptor releases the lock
}

// Advertise leaves a symbolic link at link, where clients look for the
// socket by default, to the socket a daemon listens on at path, so that
// "kopf status" without flags finds a daemon started with another
// --journal or --socket. It does nothing when link is path, or when
// another daemon answers at link or something else than a dead socket or
// link is there; a dead one, left by a crash, is replaced. The returned
// function removes the link if it is still this daemon's.
func Advertise(link, path string) (remove func(), err error) {
	none := func() {}
	abs, err := filepath.Abs(path)
	if err != nil {
		return none, err
	}
	if l, err := filepath.Abs(link); err != nil || l == abs {
		return none, err
	}
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&(os.ModeSymlink|os.ModeSocket) == 0 {
			return none, nil // not ours to replace
		}
		if c, err := net.Dial("unix", link); err == nil {
			c.Close()
			return none, nil // another daemon answers there
		}
		if err := os.Remove(link); err != nil {
			return none, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		return none, err
	}
	if err := os.Symlink(abs, link); err != nil {
		return none, err
	}
	return func() {
		if target, err := os.Readlink(link); err == nil && target == abs {
			os.Remove(link)
		}
	}, nil
}
