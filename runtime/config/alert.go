package config

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/kopf/kopf/lang"
)

// MailOn is `alert`'s `mail-on`: which runs mail their output to mail-to.
type MailOn uint8

const (
	MailAlways  MailOn = iota // every run with output (the default)
	MailFailure               // runs that failed or timed out
	MailNever                 // none
)

var mailOnNames = [...]string{MailAlways: "always", MailFailure: "failure", MailNever: "never"}

func (m MailOn) String() string { return mailOnNames[m] }

// Alert is a job's `alert`: whom to tell when it fails, times out, misses
// a fire, runs longer than expected, or recovers (docs/observability.md).
type Alert struct {
	MailOn MailOn
	// Webhook is a URL that gets an HTTP POST of a JSON body for each
	// alert; "" for none.
	Webhook string
	// Ping is a healthchecks.io-style URL: GET URL/start when a run
	// starts, URL on success, URL/fail (or URL/CODE) on failure; "" for
	// none.
	Ping string
	// Grace is how late a fire's run may start before it counts as
	// missed; default one minute.
	Grace time.Duration
	// ExpectDuration is how long a run may take before it is overdue; 0
	// for no limit.
	ExpectDuration time.Duration
	Pos            lang.Pos // of the `alert` value
}

// DefaultGrace is an alert's grace when it sets none.
const DefaultGrace = time.Minute

var alertKeys = []string{"expect-duration", "grace", "mail-on", "ping", "webhook"}

// alert reads a job's `alert`.
func (l *loader) alert(n *node) *Alert {
	if n.kind != kindObject {
		l.errorf(n.pos, "\"alert\" must be an object like {\"mail-on\": \"failure\", \"webhook\": \"https://…\"}, found %s", n.found())
		return nil
	}
	a := &Alert{Grace: DefaultGrace, Pos: n.pos}
	for _, m := range n.members {
		switch k := m.key.text; k {
		case "mail-on":
			s := l.str(k, m.val)
			if i := slices.Index(mailOnNames[:], s); i >= 0 {
				a.MailOn = MailOn(i)
			} else if m.val.kind == kindString {
				l.errorf(m.val.pos, "\"mail-on\" must be \"always\", \"failure\" or \"never\", found %s", quote(s))
			}
		case "webhook", "ping":
			s := l.str(k, m.val)
			if m.val.kind != kindString {
				continue
			}
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.errorf(m.val.pos, "%s must be an http or https URL like https://hooks.example/kopf, found %s", quote(k), quote(s))
				continue
			}
			if k == "webhook" {
				a.Webhook = s
			} else {
				a.Ping = s
			}
		case "grace":
			a.Grace = l.duration(k, m.val)
		case "expect-duration":
			a.ExpectDuration = l.duration(k, m.val)
		default:
			hint := ""
			if c := closestKey(k, alertKeys); c != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", quote(c))
			}
			l.errorf(m.key.pos, "unknown key %s in \"alert\"%s", quote(k), hint)
		}
	}
	return a
}

// String is the alert as the fingerprint holds it.
func (a *Alert) String() string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("mail-on %s webhook %q ping %q grace %v expect-duration %v", a.MailOn, a.Webhook, a.Ping, a.Grace, a.ExpectDuration)
}
