package control

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// other is a uid that is neither the tests' nor root's, for files and
// processes of "another user"; making them needs root.
const other = 4242

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making files and processes of another user needs root")
	}
}

// The daemon refuses a socket in a directory another user could change,
// and says what it checked; a sticky directory like /tmp is fine.
func TestListenRefusesUnsafeDirectories(t *testing.T) {
	needRoot(t)
	base := filepath.Dir(tempSocket(t))
	mkdir := func(name string, mode os.FileMode, uid int) string {
		t.Helper()
		d := filepath.Join(base, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name, dir, why string
	}{
		{"another user's world-writable directory", mkdir("theirs", 0o777, other), "belongs to uid 4242"},
		{"another user's private directory", mkdir("private", 0o700, other), "belongs to uid 4242"},
		{"a world-writable directory that is not sticky", mkdir("open", 0o777, 0), "may be written by other users (mode 0777) and is not sticky"},
		{"a group-writable directory", mkdir("group", 0o770, 0), "may be written by other users (mode 0770) and is not sticky"},
		{"below a world-writable directory", mkdir("open/mine", 0o700, 0), "may be written by other users (mode 0777) and is not sticky"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tc.dir, "kopf.sock")
			_, err := Listen(path, Options{})
			if err == nil {
				t.Fatalf("Listen(%s) succeeded", path)
			}
			for _, want := range []string{"control socket " + path + ": directory ", tc.why, "belong to you (uid 0) or root", "unless sticky like /tmp"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Listen: %v\nwant it to say %q", err, want)
				}
			}
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("Listen left a socket at %s", path)
			}
		})
	}
	t.Run("a sticky directory", func(t *testing.T) {
		path := filepath.Join(mkdir("tmp", os.ModeSticky|0o777, 0), "kopf.sock")
		srv := serveAt(t, path, Options{}, &fakeHandler{})
		if got := call(t, srv.Path(), Request{Cmd: CmdStatus}); !got.OK {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("another user's socket in a sticky directory", func(t *testing.T) {
		path := filepath.Join(mkdir("tmp2", os.ModeSticky|0o777, 0), "kopf.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close() // dead: a connect is refused
		if err := os.Lchown(path, other, other); err != nil {
			t.Fatal(err)
		}
		_, err = Listen(path, Options{})
		if want := "control socket " + path + " belongs to uid 4242, not to you (uid 0): kopf does not take another user's socket"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Listen: %v\nwant %q", err, want)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("Listen removed another user's socket: %v", err)
		}
	})
}

// impostorEnv makes the test binary an impostor: it listens on the socket
// the variable names, and prints every line a client sends it.
const impostorEnv = "KOPF_CONTROL_IMPOSTOR"

func TestImpostorHelper(t *testing.T) {
	path := os.Getenv(impostorEnv)
	if path == "" {
		return
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, `{"ok":true,"message":"impostor"}`+"\n")
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Println("got:", sc.Text())
			}
		}()
	}
}

// A client does not talk to a socket that a process of another user
// serves, and sends it nothing.
func TestCallRefusesAnImpostor(t *testing.T) {
	needRoot(t)
	// The impostor runs as another user, from a copy of this test binary
	// it may read, on a socket in a directory it may write.
	dir := filepath.Dir(tempSocket(t))
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(run, other, other); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(run, "kopf.sock")
	cmd := exec.Command(bin, "-test.run=^TestImpostorHelper$")
	cmd.Env = append(os.Environ(), impostorEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: other, Gid: other}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "listening" {
		t.Fatalf("the impostor did not start: %q", lines.Text())
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	resp, err := Call(ctx, path, Request{Cmd: CmdTrigger, Name: "backup", Args: []string{"secret"}})
	want := fmt.Sprintf("control socket %s is served by uid %d (pid %d), neither you (uid 0) nor root: it is not your kopf, and kopf does not talk to it",
		path, other, cmd.Process.Pid)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Call = %+v, %v\nwant the error %q", resp, err, want)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if len(got) > 0 {
		t.Errorf("the impostor got %q", got)
	}
}

// The refusal is made from what the kernel says of the server: the seam
// that decides gets the real server's uid.
func TestCallAsksWhoServes(t *testing.T) {
	srv := serve(t, Options{}, &fakeHandler{})
	var asked []int
	trust := trustServer
	trustServer = func(uid int) bool { asked = append(asked, uid); return false }
	defer func() { trustServer = trust }()
	_, err := Call(context.Background(), srv.Path(), Request{Cmd: CmdStatus})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", os.Getpid())) {
		t.Errorf("Call: %v; want a refusal naming this process as the server", err)
	}
	if len(asked) != 1 || asked[0] != os.Geteuid() {
		t.Errorf("trustServer was asked about %v; want our uid %d", asked, os.Geteuid())
	}
}
