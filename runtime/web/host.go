package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// hosts says which Host headers a request may carry. A page elsewhere
// that rebinds its own name to 127.0.0.1 makes the browser send that
// name, not one of these: checking Host is what keeps such a page from
// reading kopf's answers (DNS rebinding).
type hosts struct {
	port string
	// names are the built-in names and addresses, which must come with
	// the listener's port (or none when that is 80, which browsers omit).
	names map[string]bool
	// given are --http-host's: NAME with any port or none, NAME:PORT with
	// that port only.
	given map[string]bool
	// anyLocal: the listener is on every address (0.0.0.0, ::), so each of
	// the machine's addresses is the listen address.
	anyLocal bool

	mu      sync.Mutex
	local   map[netip.Addr]bool // the machine's addresses, by interfaces
	localAt time.Time           // when local was read
}

func newHosts(listen net.Addr, given []string) *hosts {
	h := &hosts{names: map[string]bool{"localhost": true}, given: map[string]bool{}}
	host, port, _ := net.SplitHostPort(listen.String())
	h.port = port
	for _, a := range []string{"127.0.0.1", "::1", host} {
		if ip, err := netip.ParseAddr(a); err == nil {
			if ip.IsUnspecified() {
				h.anyLocal = true
				continue
			}
			h.names[ip.Unmap().String()] = true
		}
	}
	for _, g := range given {
		h.given[normalize(g)] = true
	}
	return h
}

// normalize lowercases a host name and writes an address canonically, so
// that [0:0::1] is ::1; a port stays as given.
func normalize(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.Trim(hostport, "[]"), ""
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// allows reports whether a request for host (r.Host) is for this server.
func (h *hosts) allows(host string) bool {
	if host == "" {
		return false // HTTP/1.0 without Host: no name to trust
	}
	n := normalize(host)
	name, port, err := net.SplitHostPort(n)
	if err != nil {
		name, port = n, ""
	}
	if h.given[n] || h.given[name] {
		return true
	}
	if port != h.port && !(port == "" && h.port == "80") {
		return false
	}
	if h.names[name] {
		return true
	}
	if ip, err := netip.ParseAddr(name); err == nil && h.anyLocal {
		return h.isLocal(ip)
	}
	return false
}

// isLocal reports whether ip is an address of one of the machine's
// interfaces, read again at most every 10 seconds.
func (h *hosts) isLocal(ip netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.local == nil || time.Since(h.localAt) > 10*time.Second {
		h.local, h.localAt = map[netip.Addr]bool{}, time.Now()
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				h.local[p.Addr().Unmap()] = true
			}
		}
	}
	return h.local[ip.Unmap()]
}

// check answers 421 Misdirected Request, with no content, to a request
// for a host that is not this server's.
func (s *Server) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allows(r.Host) {
			s.stats.misdirected.Add(1)
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
