package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The socket is 0600 whatever the umask, the directory Listen creates
// 0700, and the umask is the caller's again afterwards.
func TestListenModes(t *testing.T) {
	dir := filepath.Join(filepath.Dir(tempSocket(t)), "run")
	path := filepath.Join(dir, "kopf.sock")
	old := unix.Umask(0)
	srv, err := Listen(path, Options{})
	after := unix.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Errorf("the umask after Listen is %#o, want 0 as before", after)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, &fakeHandler{}) }()
	defer func() { cancel(); <-done }()

	for _, f := range []struct {
		path string
		want os.FileMode
	}{{dir, os.ModeDir | 0o700}, {path, os.ModeSocket | 0o600}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeType | os.ModePerm); got != f.want {
			t.Errorf("%s: mode %v, want %v", f.path, got, f.want)
		}
	}
	if got := call(t, path, Request{Cmd: CmdStatus}); !got.OK {
		t.Errorf("got %+v", got)
	}
}

// Listen takes the path of a dead daemon's socket.
func TestListenReplacesDeadSocket(t *testing.T) {
	tests := map[string]func(t *testing.T, path string){
		// A daemon that was killed: its listener is gone, its file is not.
		"closed listener": func(t *testing.T, path string) {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			ln.SetUnlinkOnClose(false)
			ln.Close()
		},
		"socket that never listened": func(t *testing.T, path string) {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, leave := range tests {
		t.Run(name, func(t *testing.T) {
			path := tempSocket(t)
			leave(t, path)
			if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
				t.Fatalf("no socket left behind at %s: %v", path, err)
			}
			srv := serveAt(t, path, Options{}, &fakeHandler{})
			if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestListenInUse(t *testing.T) {
	srv := serve(t, Options{}, &fakeHandler{})
	_, err := Listen(srv.Path(), Options{})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Listen on a live socket: %v, want ErrInUse", err)
	}
	if want := fmt.Sprintf("control socket %s is in use by a running kopf", srv.Path()); err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
		t.Errorf("the running daemon, after a second Listen, answered %+v", got)
	}
}

func TestListenNotASocket(t *testing.T) {
	tests := map[string]func(path string) error{
		"file":    func(path string) error { return os.WriteFile(path, []byte("keep me"), 0o600) },
		"dir":     func(path string) error { return os.Mkdir(path, 0o700) },
		"symlink": func(path string) error { return os.Symlink("elsewhere", path) },
	}
	for name, create := range tests {
		t.Run(name, func(t *testing.T) {
			path := tempSocket(t)
			if err := create(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			_, err := Listen(path, Options{})
			if want := "the path exists and is not a socket"; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Listen: %v, want an error saying %q", err, want)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) || before.Size() != after.Size() {
				t.Errorf("Listen touched %s: %v", path, err)
			}
		})
	}
}

func TestListenLongPath(t *testing.T) {
	path := "/tmp/" + strings.Repeat("d", 100) + "/kopf.sock"
	_, err := Listen(path, Options{})
	if want := "a unix socket's may be at most 107"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Listen: %v, want an error saying %q", err, want)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"KOPF_SOCKET", map[string]string{"KOPF_SOCKET": "/srv/kopf/ctl", "XDG_RUNTIME_DIR": "/run/user/1000"}, "/srv/kopf/ctl"},
		{"XDG_RUNTIME_DIR", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/kopf.sock"},
		{"relative XDG_RUNTIME_DIR", map[string]string{"XDG_RUNTIME_DIR": "run"}, "/var/lib/kopf/kopf.sock"},
		{"neither", nil, "/var/lib/kopf/kopf.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := DefaultPath(getenv, "/var/lib/kopf/journal.jsonl"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAdvertise: the link goes where nothing answers, replaces a dead
// socket or link, never a live daemon's socket or another file, and is
// removed only while it is still this daemon's.
func TestAdvertise(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.sock")
	ln, err := net.Listen("unix", ours)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	link := filepath.Join(dir, "default", "kopf.sock")
	remove, err := Advertise(link, ours)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("unix", link); err != nil {
		t.Fatalf("dialing the link: %v", err)
	} else {
		c.Close()
	}
	// A second daemon finds the link answering and leaves it.
	other := filepath.Join(dir, "other.sock")
	if _, err := Advertise(link, other); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != ours {
		t.Errorf("a second daemon replaced a live link: it points to %q", target)
	}
	remove()
	if _, err := os.Lstat(link); err == nil {
		t.Error("remove left the link")
	}
	// A dead link (a crashed daemon's) is replaced.
	os.Symlink(filepath.Join(dir, "gone.sock"), link)
	remove, err = Advertise(link, ours)
	if target, _ := os.Readlink(link); err != nil || target != ours {
		t.Errorf("a dead link was not replaced: %q, %v", target, err)
	}
	// remove takes only its own link.
	os.Remove(link)
	os.Symlink(other, link)
	remove()
	if target, _ := os.Readlink(link); target != other {
		t.Errorf("remove took another daemon's link")
	}
	// A regular file there is not touched.
	os.Remove(link)
	os.WriteFile(link, []byte("x"), 0o600)
	if _, err := Advertise(link, ours); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(link); string(b) != "x" {
		t.Error("Advertise replaced a regular file")
	}
}
