package ports

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

func TestAllocate(t *testing.T) {
	a := NewAllocator()
	names := []string{"http", "health", "admin-ui", "http"}
	got, err := a.Allocate(names)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Allocate(%q) = %v, want 3 ports", names, got)
	}
	seen := map[int]string{}
	for name, port := range got {
		if other, dup := seen[port]; dup {
			t.Errorf("port %d given to both %s and %s", port, name, other)
		}
		seen[port] = name
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d of %s is not bindable: %v", port, name, err)
			continue
		}
		l.Close()
	}
	if empty, err := a.Allocate(nil); err != nil || len(empty) != 0 {
		t.Errorf("Allocate(nil) = %v, %v; want no ports", empty, err)
	}
}

// TestAllocateConcurrent runs many Allocates at once, each holding its ports
// a while before releasing them, and checks that no port is ever held by
// two at the same time.
func TestAllocateConcurrent(t *testing.T) {
	a := NewAllocator()
	var mu sync.Mutex
	holder := map[int]int{} // port -> the worker holding it
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for range 20 {
				got, err := a.Allocate([]string{"a", "b", "c"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, p := range got {
					if other, held := holder[p]; held {
						t.Errorf("port %d given to worker %d while worker %d holds it", p, w, other)
					}
					holder[p] = w
				}
				mu.Unlock()
				runtime.Gosched() // hold them while others allocate
				mu.Lock()
				for _, p := range got {
					delete(holder, p)
				}
				mu.Unlock()
				a.Release(got)
			}
		})
	}
	wg.Wait()
	if n := len(a.reserved); n != 0 {
		t.Errorf("%d ports still reserved after every Release", n)
	}
}

// TestAllocateNeverRepeats keeps every allocation: while all are reserved,
// no port may come twice.
func TestAllocateNeverRepeats(t *testing.T) {
	a := NewAllocator()
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				got, err := a.Allocate([]string{"x", "y"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, p := range got {
					if seen[p] {
						t.Errorf("port %d handed out twice while reserved", p)
					}
					seen[p] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// fakeListener is bound to a port chosen by the test.
type fakeListener struct{ port int }

func (l fakeListener) Accept() (net.Conn, error) { return nil, errors.New("fake") }
func (l fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: l.port}
}

// scripted makes an Allocator whose binds return the given ports in turn,
// the last one repeating, and counts the binds.
func scripted(ports ...int) (*Allocator, *int) {
	a := NewAllocator()
	binds := 0
	a.listen = func() (net.Listener, error) {
		p := ports[min(binds, len(ports)-1)]
		binds++
		return fakeListener{p}, nil
	}
	return a, &binds
}

func TestAllocateRejectsReserved(t *testing.T) {
	a, binds := scripted(5000, 5000, 5001)
	first, err := a.Allocate([]string{"a"})
	if err != nil || first["a"] != 5000 {
		t.Fatalf("Allocate() = %v, %v; want a=5000", first, err)
	}
	second, err := a.Allocate([]string{"b"})
	if err != nil || second["b"] != 5001 {
		t.Fatalf("Allocate() = %v, %v; want b=5001, 5000 being reserved", second, err)
	}
	if *binds != 3 {
		t.Errorf("%d binds, want 3", *binds)
	}
}

func TestAllocateGivesUp(t *testing.T) {
	a, binds := scripted(5000, 5001)
	if _, err := a.Allocate([]string{"a"}); err != nil {
		t.Fatal(err)
	}
	// Every further bind returns 5001: b gets it, c can never get a port.
	got, err := a.Allocate([]string{"b", "c"})
	if err == nil {
		t.Fatalf("Allocate() = %v, want an error", got)
	}
	if *binds != 2+maxTries {
		t.Errorf("%d binds, want %d", *binds, 2+maxTries)
	}
	if a.reserved[5001] {
		t.Error("the failed Allocate left b's port reserved")
	}
	if !a.reserved[5000] {
		t.Error("the failed Allocate released another allocation's port")
	}
}

func TestAllocateBindError(t *testing.T) {
	a := NewAllocator()
	boom := errors.New("too many open files")
	a.listen = func() (net.Listener, error) { return nil, boom }
	if _, err := a.Allocate([]string{"a"}); !errors.Is(err, boom) {
		t.Errorf("Allocate() error = %v, want it to wrap %v", err, boom)
	}
}

func TestRelease(t *testing.T) {
	a, _ := scripted(5000)
	got, err := a.Allocate([]string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate([]string{"b"}); err == nil {
		t.Fatal("Allocate() handed out a reserved port")
	}
	a.Release(got)
	again, err := a.Allocate([]string{"b"})
	if err != nil || again["b"] != 5000 {
		t.Errorf("after Release, Allocate() = %v, %v; want b=5000", again, err)
	}
	a.Release(again)
	a.Release(again) // twice is harmless
	if len(a.reserved) != 0 {
		t.Errorf("reserved after Release: %v", a.reserved)
	}
}

// TestReleaseReal releases real ports and checks they are free for the
// Allocator again (the kernel may or may not offer them).
func TestReleaseReal(t *testing.T) {
	a := NewAllocator()
	got, err := a.Allocate([]string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	a.Release(got)
	for name, p := range got {
		if a.reserved[p] {
			t.Errorf("port %d of %s still reserved after Release", p, name)
		}
	}
}
