package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SnoozeName is the file that suspends a proc's health checks while it
// exists in the proc's directory, as in Aurora.
const SnoozeName = ".healthchecksnooze"

// SnoozeFile reports whether dir holds an entry named SnoozeName. Anything
// by that name counts, so that a check is never run by mistake against a
// process someone meant to leave alone.
func SnoozeFile(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, SnoozeName))
	return err == nil
}

// maxBody is how much of an answer HTTP reads: "ok" needs far less, and a
// server that streams must not hold a check past its reading.
const maxBody = 64 << 10

// client follows no redirects, so a 3xx is an answer, not a way to another
// server; and keeps no connections, so each check tests that the server
// still accepts one. It ignores proxy settings: the proc is on this machine.
var client = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// HTTP GETs url within timeout (0: only ctx limits it) and returns nil when
// the server is healthy: a 2xx status, as Kubernetes, Docker and Consul
// take it, and, when body is not "", that body, surrounding white space
// ignored (Aurora's HttpHealthChecker wants "ok"). Otherwise the error says
// what was wrong, starting with "GET url: ": the status, the body, or why
// no answer came (it wraps the cause, such as syscall.ECONNREFUSED or
// context.DeadlineExceeded).
func HTTP(ctx context.Context, url string, timeout time.Duration, body string) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "kopf-health")
	resp, err := client.Do(req)
	if err != nil {
		return noAnswer(url, timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			return fmt.Errorf("GET %s: status %d, redirect to %q not followed", url, resp.StatusCode, loc)
		}
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	if body == "" {
		return nil
	}
	got, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return noAnswer(url, timeout, fmt.Errorf("reading the body: %w", err))
	}
	if got := strings.TrimSpace(string(got)); got != strings.TrimSpace(body) {
		return fmt.Errorf("GET %s: body %s, want %s", url, quote(got), quote(strings.TrimSpace(body)))
	}
	return nil
}

// noAnswer is the error of a GET that got no (whole) answer. net/http's
// *url.Error repeats the method and URL in its own words; kopf's say them
// once, in front.
func noAnswer(rawURL string, timeout time.Duration, err error) error {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	if timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("GET %s: no answer within %s: %w", rawURL, timeout, err)
	}
	return fmt.Errorf("GET %s: %w", rawURL, err)
}

// quote quotes a body for a message, cut after 80 runes: enough to tell a
// status page from an error, short enough for a log line.
func quote(s string) string {
	const most = 80
	if utf8.RuneCountInString(s) <= most {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%.*q...", most, s)
}
