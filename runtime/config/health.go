package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// healthKeys are the keys of `health`, aurora-services.md's
// HealthCheckConfig with kopf's dashes.
var healthKeys = []string{"command", "expect-body", "http", "initial-interval", "interval", "max-consecutive-failures", "min-consecutive-successes", "timeout"}

// Aurora's HealthCheckConfig defaults.
const (
	defaultHealthInterval        = 10 * time.Second
	defaultHealthTimeout         = time.Second
	defaultHealthInitialInterval = 15 * time.Second
)

const wantHealthHTTP = `a path like "/health" or a URL on this machine like "http://127.0.0.1:{{ports[http]}}/health"`

// health reads a proc's `health`; ports are the proc's port names. It
// returns nil after an error that leaves nothing to check.
func (l *loader) health(n *node, ports []string) *Health {
	if n.kind != kindObject {
		hint := ""
		if n.kind == kindBool {
			hint = "; there is no shorthand: say what to check"
		}
		l.errorf(n.pos, "\"health\" must be an object like {\"http\": \"/health\"} or {\"command\": …}, found %s%s", n.found(), hint)
		return nil
	}
	h := &Health{
		Interval:                defaultHealthInterval,
		Timeout:                 defaultHealthTimeout,
		InitialInterval:         defaultHealthInitialInterval,
		MinConsecutiveSuccesses: 1,
		Pos:                     n.pos,
	}
	set := map[string]*node{}
	keys := map[string]*node{}
	for _, m := range n.members {
		if k := m.key.text; slices.Contains(healthKeys, k) {
			set[k], keys[k] = m.val, m.key
			continue
		}
		hint := ""
		if s := closestKey(m.key.text, healthKeys); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
		}
		l.errorf(m.key.pos, "unknown key %s in \"health\"%s", quote(m.key.text), hint)
	}
	l.healthCheck(h, n, set, keys, ports)
	l.healthTiming(h, set)
	if b := set["expect-body"]; b != nil {
		h.ExpectBody = l.str("expect-body", b)
		switch {
		case b.kind != kindString:
		case h.Command != nil:
			l.warnf(keys["expect-body"].pos, "\"expect-body\" has no effect on a \"command\" check: it is the body an \"http\" check wants")
		case strings.TrimSpace(h.ExpectBody) == "":
			l.errorf(b.pos, "\"expect-body\" is empty, and no check could pass it; leave it out to take any 2xx answer")
		}
	}
	return h
}

// healthCheck reads what to check: `http` or `command`, or a port named
// "health".
func (l *loader) healthCheck(h *Health, n *node, set, keys map[string]*node, ports []string) {
	web, cmd := set["http"], set["command"]
	switch {
	case web != nil && cmd != nil:
		later, earlier := keys["http"], keys["command"]
		if later.pos.Offset < earlier.pos.Offset {
			later, earlier = earlier, later
		}
		l.errorf(later.pos, "give one of \"http\" and \"command\" in \"health\"; %s is at %d:%d", quote(earlier.text), earlier.pos.Line, earlier.pos.Col)
	case web != nil:
		h.HTTP = l.healthHTTP(web, ports)
	case cmd != nil:
		h.Command, _ = l.command(cmd, defaultShell)
		l.portRefs(cmd, ports)
	case slices.Contains(ports, "health"):
		// aurora-services.md: requesting a health port asks for checks
		// of /health on it, by Aurora's checker, which wants "ok".
		h.HTTP = "http://127.0.0.1:{{ports[health]}}/health"
		h.ExpectBody = "ok"
	default:
		l.errorf(n.pos, "health needs \"http\" or \"command\" (or a port named \"health\" in \"ports\")")
	}
}

// healthHTTP reads `http`: a path on the proc's health (or http) port, or
// a URL on this machine.
func (l *loader) healthHTTP(n *node, ports []string) string {
	s := l.str("http", n)
	if n.kind != kindString {
		return ""
	}
	if !l.portRefs(n, ports) {
		return ""
	}
	if strings.HasPrefix(s, "/") {
		if _, err := url.ParseRequestURI(portRefPattern().ReplaceAllString(s, "1")); err != nil {
			l.errorf(n.pos, "\"http\" in \"health\" must be %s, found %s", wantHealthHTTP, quote(s))
			return ""
		}
		for _, port := range []string{"health", "http"} {
			if slices.Contains(ports, port) {
				return "http://127.0.0.1:{{ports[" + port + "]}}" + s
			}
		}
		l.errorf(n.pos, "health http path needs a port: add \"health\" to \"ports\"")
		return ""
	}
	// A port reference stands for a number while the URL is checked.
	u, err := url.Parse(portRefPattern().ReplaceAllString(s, "1"))
	var port int
	if err == nil {
		port, _ = strconv.Atoi(u.Port())
	}
	switch {
	case s == "":
		l.errorf(n.pos, "\"http\" in \"health\" is empty; expected %s", wantHealthHTTP)
	case err != nil || u.Scheme == "" || u.Host == "":
		l.errorf(n.pos, "\"http\" in \"health\" must be %s, found %s", wantHealthHTTP, quote(s))
	case u.Scheme != "http":
		l.errorf(n.pos, "\"http\" in \"health\" must be an http:// URL, found %s: kopf checks plain HTTP on this machine", quote(u.Scheme+"://"))
	case !slices.Contains([]string{"127.0.0.1", "localhost", "::1"}, u.Hostname()):
		l.errorf(n.pos, "\"http\" in \"health\" must be on this machine (127.0.0.1, localhost or [::1]), found host %s", quote(u.Hostname()))
	case u.Port() == "":
		l.errorf(n.pos, "\"http\" in \"health\" needs a port, like \"http://%s:{{ports[http]}}%s\"", u.Host, u.EscapedPath())
	case port < 1 || port > 65535:
		l.errorf(n.pos, "\"http\" in \"health\" has port %s; a port is 1 to 65535", u.Port())
	default:
		return s
	}
	return ""
}

// healthTiming reads the durations and counts, with Aurora's defaults.
func (l *loader) healthTiming(h *Health, set map[string]*node) {
	positive := func(key string, d *time.Duration) {
		n := set[key]
		if n == nil {
			return
		}
		errs := len(l.errs)
		if *d = l.duration(key, n); *d == 0 && len(l.errs) == errs {
			l.errorf(n.pos, "%s in \"health\" must be more than 0, found %s", quote(key), n.text)
		}
	}
	positive("interval", &h.Interval)
	positive("timeout", &h.Timeout)
	if n := set["initial-interval"]; n != nil {
		h.InitialInterval = l.duration("initial-interval", n)
	}
	if n := set["max-consecutive-failures"]; n != nil {
		h.MaxConsecutiveFailures = l.count("max-consecutive-failures", n, 0)
	}
	if n := set["min-consecutive-successes"]; n != nil {
		h.MinConsecutiveSuccesses = l.count("min-consecutive-successes", n, 1)
	}
	if h.Interval > 0 && h.Timeout > h.Interval {
		n := set["timeout"]
		if n == nil {
			n = set["interval"]
		}
		l.warnf(n.pos, "health timeout %s is longer than its interval %s: checks would overlap; kopf waits for each", formatDuration(h.Timeout), formatDuration(h.Interval))
	}
}

// paths reads `restart-on-change` or `hup-on-change`: a path or an array
// of them, as written.
func (l *loader) paths(key string, n *node) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, e := range l.stringList(key, n, "a path or an array of paths") {
		switch {
		case e.text == "":
			l.errorf(e.pos, "a path in %s is empty", quote(key))
			continue
		case strings.TrimSpace(e.text) == "":
			l.warnf(e.pos, "the path %s in %s is only white space", quote(e.text), quote(key))
		}
		l.noNUL(key, e, e.text)
		out = append(out, e)
	}
	return out
}

// inBoth reports a file that both restarts the proc and sends it SIGHUP
// when it changes, at the later of its two places.
func (l *loader) inBoth(restart, hup []*node) {
	for _, h := range hup {
		for _, r := range restart {
			if filepath.Clean(h.text) != filepath.Clean(r.text) {
				continue
			}
			later, earlier, key := h, r, "restart-on-change"
			if later.pos.Offset < earlier.pos.Offset {
				later, earlier, key = r, h, "hup-on-change"
			}
			l.errorf(later.pos, "%s is also in %s at %d:%d; a change to a file either restarts the proc or sends it SIGHUP", quote(later.text), quote(key), earlier.pos.Line, earlier.pos.Col)
		}
	}
}
