// Package ports gives procs free TCP ports by name, the way Aurora's
// thermos.ports does (aurora-services.md, "Ports"): a proc names the ports
// it wants, each start of it gets free ones, {{ports[NAME]}} in its command,
// arguments and env values becomes the number, and the proc also finds
// each in its environment as KOPF_PORT_NAME.
//
// Use:
//
//	a := ports.NewAllocator() // one for the daemon
//	got, err := a.Allocate([]string{"http", "health"})
//	arg, err := ports.Expand("-listen=:{{ports[http]}}", got)
//	env = append(env, ports.Env(got)...)
//	// start the proc; once it has ended:
//	a.Release(got)
package ports

import (
	"fmt"
	"net"
	"sync"
)

// maxTries bounds the binds per name: each rejected port stays bound until
// the Allocate ends, so the kernel cannot offer it again, and running out
// of tries means the ephemeral range is nearly all reserved or in use.
const maxTries = 64

// Allocator hands out free TCP ports on 127.0.0.1. A port it handed out
// stays reserved, never handed out again, until Release: two procs starting
// at once never get the same port, even before either has bound it. Safe
// for concurrent use.
type Allocator struct {
	mu       sync.Mutex
	reserved map[int]bool
	// listen binds a port the kernel chooses; tests replace it.
	listen func() (net.Listener, error)
}

// NewAllocator returns an Allocator with no port reserved.
func NewAllocator() *Allocator {
	return &Allocator{
		reserved: make(map[int]bool),
		listen:   func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") },
	}
}

// Allocate returns one free port per name (a name given twice gets one
// port) and reserves them. It binds 127.0.0.1:0 for each name, holding every
// listener open until all names have a port so the kernel cannot offer one
// twice, then closes them for the proc to bind. A port already reserved is
// rejected and the bind tried again, up to a bound per name; on error no
// port stays reserved.
func (a *Allocator) Allocate(names []string) (map[string]int, error) {
	got := make(map[string]int, len(names))
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, name := range names {
		if _, ok := got[name]; ok {
			continue
		}
		port, err := a.one(&held)
		if err != nil {
			a.Release(got)
			return nil, fmt.Errorf("port %s: %w", name, err)
		}
		got[name] = port
	}
	return got, nil
}

// one binds until it holds a port that is not reserved, and reserves it.
// Every listener it opens goes into held, rejected ones too.
func (a *Allocator) one(held *[]net.Listener) (int, error) {
	for range maxTries {
		l, err := a.listen()
		if err != nil {
			return 0, err
		}
		*held = append(*held, l)
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return 0, fmt.Errorf("listener on %s is not TCP", l.Addr())
		}
		if a.reserve(addr.Port) {
			return addr.Port, nil
		}
	}
	return 0, fmt.Errorf("no free port in %d tries: each port bound was reserved for another proc", maxTries)
}

// reserve marks port reserved and reports whether it was free.
func (a *Allocator) reserve(port int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reserved[port] {
		return false
	}
	a.reserved[port] = true
	return true
}

// Release ends the reservation of ports, which Allocate returned, once the
// proc that had them has ended: they may be handed out again.
func (a *Allocator) Release(ports map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range ports {
		delete(a.reserved, p)
	}
}
