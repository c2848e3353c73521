package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Everything in a Response survives the trip.
func TestCallRoundTrip(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	code := 3
	want := Response{
		OK:      true,
		Message: "2 units",
		Units: []Unit{
			{Name: "backup", Kind: "job", State: Waiting, Since: time.Date(2025, 3, 1, 2, 0, 0, 0, zone),
				LastExit: &Exit{Code: &code, At: time.Date(2025, 3, 1, 2, 0, 0, 0, zone)},
				NextFire: time.Date(2025, 3, 2, 2, 0, 0, 0, zone), Zone: "Europe/Berlin", Queued: []string{"trigger"}, File: "kopf.yaml"},
			{Name: "web", Kind: "proc", State: BackingOff, LastExit: &Exit{Signal: "SIGKILL", At: time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)},
				RestartAt: time.Date(2025, 3, 1, 2, 0, 5, 0, time.UTC)},
		},
		Times: []string{"2025-03-02T02:00:00+01:00"},
	}
	h := &fakeHandler{answer: func(context.Context, Request) Response { return want }}
	srv := serve(t, Options{}, h)
	got := call(t, srv.Path(), Request{Cmd: CmdTrigger, Name: "backup", Args: []string{"--full", "a b"}})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Request{{Cmd: CmdTrigger, Name: "backup", Args: []string{"--full", "a b"}}}, h.requests()); diff != "" {
		t.Errorf("Handle's requests mismatch (-want +got):\n%s", diff)
	}
}

func TestCallNoDaemon(t *testing.T) {
	missing := tempSocket(t)
	dead := tempSocket(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: dead, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	for path, errno := range map[string]error{missing: syscall.ENOENT, dead: syscall.ECONNREFUSED} {
		_, err := Call(context.Background(), path, Request{Cmd: CmdStatus})
		want := fmt.Sprintf("no kopf is running at %s (start one with kopf run, or give --socket)", path)
		if err == nil || err.Error() != want {
			t.Errorf("Call: %v, want %q", err, want)
		}
		if !errors.Is(err, errno) {
			t.Errorf("Call: %v is not %v", err, errno)
		}
	}
}

func TestCallPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root connects whatever the mode")
	}
	srv := serve(t, Options{}, &fakeHandler{})
	if err := os.Chmod(srv.Path(), 0); err != nil {
		t.Fatal(err)
	}
	_, err := Call(context.Background(), srv.Path(), Request{Cmd: CmdStatus})
	want := fmt.Sprintf("permission denied on %s: the socket belongs to another user", srv.Path())
	if err == nil || err.Error() != want {
		t.Errorf("Call: %v, want %q", err, want)
	}
}

// A daemon that accepts and never answers is given up at ctx's deadline.
func TestCallTimeout(t *testing.T) {
	path := tempSocket(t)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Call(ctx, path, Request{Cmd: CmdStatus})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not answer in time") {
		t.Errorf("Call: %v, want a timeout", err)
	}
}

func TestCallTooLong(t *testing.T) {
	req := Request{Cmd: CmdTrigger, Name: "backup", Args: []string{strings.Repeat("x", MaxRequest)}}
	_, err := Call(context.Background(), "/nonexistent/kopf.sock", req)
	if want := "request longer than 65536 bytes"; err == nil || err.Error() != want {
		t.Errorf("Call: %v, want %q", err, want)
	}
}
