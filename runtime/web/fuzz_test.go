package web

import (
	"net"
	"testing"
)

// FuzzHostCheck: whatever a client sends as Host, the check neither
// panics nor lets in a name that is not the server's: what it allows is
// localhost, a loopback address of the listener, or a --http-host name.
func FuzzHostCheck(f *testing.F) {
	for _, s := range []string{"localhost:9100", "[::1]:9100", "127.0.0.1:9100", "kopf.example.com", "KOPF.example.com.:1",
		"evil.example:9100", "[::ffff:127.0.0.1]:9100", "127.0.0.1:9100:9100", "[", "localhost.", "%6cocalhost:9100", ""} {
		f.Add(s)
	}
	h := newHosts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9100}, []string{"kopf.example.com"})
	f.Fuzz(func(t *testing.T, host string) {
		if !h.allows(host) {
			return
		}
		name, port, err := net.SplitHostPort(normalize(host))
		if err != nil {
			name, port = normalize(host), ""
		}
		switch name {
		case "kopf.example.com":
		case "localhost", "127.0.0.1", "::1":
			if port != "9100" && port != "" {
				t.Fatalf("allows(%q): a built-in name on port %q", host, port)
			}
			if port == "" {
				t.Fatalf("allows(%q): a built-in name without the port of a listener on 9100", host)
			}
		default:
			t.Fatalf("allows(%q): %q is none of the server's names", host, name)
		}
	})
}
