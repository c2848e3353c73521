package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/kopf/kopf/runtime/alert"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/mail"
	"github.com/kopf/kopf/runtime/proc"
)

// jobAlert is a job's alert settings and title.
type jobAlert struct {
	alert *config.Alert
	title string
}

// startAlerter sends the jobs' alerts (runtime/alert), following the
// daemon's events.
func (d *daemon) startAlerter() {
	host, _ := os.Hostname()
	a := alert.New(alert.Options{
		Lookup: func(job string) (*config.Alert, string) {
			if m := d.alerts.Load(); m != nil {
				if ja, ok := (*m)[job]; ok {
					return ja.alert, ja.title
				}
			}
			return nil, ""
		},
		Record:   d.events.Publish,
		Hostname: host,
		Now:      d.now,
	})
	a.Subscribe(d.events)
	d.alerter = a
}

// setAlerts takes the alert settings of cfg's jobs.
func (d *daemon) setAlerts(cfg *config.Config) {
	m := map[string]jobAlert{}
	for _, j := range cfg.Jobs {
		if a := j.Alert(); a != nil {
			m[j.Name] = jobAlert{a, j.Title}
		}
	}
	d.alerts.Store(&m)
}

// newMailer delivers runs' output as the config's mail section says
// (without one: the machine's sendmail, as cron, or SMTP to localhost:25
// where there is none), logging and journaling every outcome. A
// sendmail runs on the host, like every other child.
func newMailer(m *config.Mail, host *proc.Host, log *slog.Logger, record func(...journal.Event)) *mail.Mailer {
	if m == nil {
		local, _ := config.LocalMail()
		m = &local
	}
	env := os.Environ()
	return mail.New(mail.Options{
		Config: mail.Config{SMTP: m.SMTP, StartTLS: m.StartTLS, Username: m.Username, Password: m.Password, Sendmail: m.Sendmail},
		Start: func(argv, _ []string, stdin []byte) (func() (int, error), error) {
			p, err := host.Start(proc.Spec{Argv: argv, Env: env, Stdin: stdin, Label: "mail"})
			if err != nil {
				return nil, err
			}
			return func() (int, error) { return (<-p.Done()).Code, nil }, nil
		},
		Report: func(r mail.Report) {
			ev := journal.Event{Type: journal.Mail, Unit: r.Unit, To: r.To, Reason: r.Subject, Action: journal.Action(r.Outcome), Count: r.Attempt}
			msg := fmt.Sprintf("mail %q to %s: %s", r.Subject, strings.Join(r.To, ", "), r.Outcome)
			level := slog.LevelInfo
			if r.Err != nil {
				ev.Error = r.Err.Error()
				msg += ": " + r.Err.Error()
				level = slog.LevelWarn
			}
			record(ev)
			// unit is set: the journal has the event already, not as a warning.
			log.Log(context.Background(), level, msg, "unit", r.Unit, "attempt", r.Attempt)
		},
	})
}
