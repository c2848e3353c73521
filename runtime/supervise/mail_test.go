package supervise

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/mail"
)

type mailbox struct {
	mu   sync.Mutex
	sent []string
}

func (b *mailbox) send(m mail.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, fmt.Sprintf("@%g %s to %v from %q: exit %q after %s, part %d, host %s: %q",
		time.Since(epoch).Seconds(), m.Title, m.To, m.From, m.Exit, m.Duration, m.Partial, m.Host, m.Output))
}

func TestMailOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "noisy":
				return behaviour{run: 2 * time.Second, code: 1, output: []string{"a", "b"}}
			case "daemon":
				return behaviour{output: []string{"started"}}
			}
			return behaviour{run: time.Second} // quiet: no output, no mail
		}}
		noisy := &config.Job{Unit: settings("noisy", "noisy"), RunOnStart: true}
		noisy.MailTo, noisy.MailFrom = []string{"ops@example.com"}, "kopf@example.com"
		quiet := &config.Job{Unit: settings("quiet", "quiet"), RunOnStart: true}
		quiet.MailTo = []string{"ops@example.com"}
		daemon := &config.Proc{Unit: settings("daemon", "daemon")}
		daemon.MailTo, daemon.MailPartialAfter = []string{"ops@example.com"}, 10*time.Second
		box := &mailbox{}
		ss := start(t, host, cfgOf([]*config.Job{noisy, quiet}, []*config.Proc{daemon}), Options{Mail: box.send, Hostname: "web1"})
		ss.until(25)
		ss.stop()
		want := []string{
			`@2 noisy to [ops@example.com] from "kopf@example.com": exit "exit 1" after 2s, part 0, host web1: "a\nb\n"`,
			// The proc's output so far at 10s; nothing new at 20s, nor when it
			// is stopped.
			`@10 daemon to [ops@example.com] from "": exit "" after 10s, part 1, host web1: "started\n"`,
		}
		if diff := cmp.Diff(want, box.sent); diff != "" {
			t.Errorf("mails (-want +got):\n%s", diff)
		}
	})
}

// TestMailOn: alert's mail-on failure mails only failed runs; never
// mails none.
func TestMailOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			code := 0
			if argv[len(argv)-1] == "fail" {
				code = 2
			}
			return behaviour{run: time.Second, code: code, output: []string{"out"}}
		}}
		job := func(name, outcome string, on config.MailOn) *config.Job {
			j := &config.Job{Unit: settings(name, name, outcome), RunOnStart: true}
			j.MailTo = []string{"ops@example.com"}
			j.Extra = &config.Extra{Alert: &config.Alert{MailOn: on}}
			return j
		}
		jobs := []*config.Job{
			job("ok-on-failure", "ok", config.MailFailure), job("bad-on-failure", "fail", config.MailFailure),
			job("bad-never", "fail", config.MailNever), job("ok-always", "ok", config.MailAlways),
		}
		box := &mailbox{}
		ss := start(t, host, cfgOf(jobs, nil), Options{Mail: box.send, Hostname: "web1"})
		ss.until(5)
		ss.stop()
		var units []string
		for _, m := range box.sent {
			units = append(units, strings.Fields(m)[1])
		}
		slices.Sort(units)
		if diff := cmp.Diff([]string{"bad-on-failure", "ok-always"}, units); diff != "" {
			t.Errorf("mailed units (-want +got):\n%s", diff)
		}
	})
}
