package supervise

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/mail"
	"github.com/kopf/kopf/runtime/proc"
)

// runMail is a run's output on its way to the unit's mail-to.
type runMail struct {
	unit  *config.Unit // as the run was started
	out   *mail.Output
	parts int       // partial mails sent
	next  time.Time // when the next partial mail is due; zero without
}

// mailOutput mails what r wrote since its last mail, if anything: at the
// end of the run (end says how it ended) or, with end empty, as a part of
// a run still going.
func (s *Supervisor) mailOutput(r *running, end string, failed bool, now time.Time) {
	m := r.mail
	if m == nil || s.opts.Mail == nil {
		return
	}
	// alert's mail-on: failure mails a failed run's output at its end
	// only (a part of a run going on may yet succeed); never mails none.
	if a := m.unit.Alert(); a != nil && (a.MailOn == config.MailNever || a.MailOn == config.MailFailure && (end == "" || !failed)) {
		m.out.Take() // dropped, not kept for the next mail
		return
	}
	data, cut := m.out.Take()
	if len(data) == 0 && cut == 0 {
		return
	}
	msg := mail.Message{
		From: m.unit.MailFrom, To: m.unit.MailTo, Unit: m.unit.Name, Title: m.unit.Title,
		Exit: end, Duration: now.Sub(r.start), Host: s.opts.Hostname, Output: data, Cut: cut,
	}
	if end == "" {
		m.parts++
		msg.Partial = m.parts
	}
	s.opts.Mail(msg)
}

// mailParts sends the partial mails that are due (mail-partial-after).
func (s *Supervisor) mailParts(now time.Time) {
	for r := range s.partials {
		if m := r.mail; m != nil && !m.next.IsZero() && !m.next.After(now) {
			s.mailOutput(r, "", false, now)
			m.next = m.next.Add(m.unit.MailPartialAfter)
		}
	}
}

// runs lists the runs going on.
func (s *Supervisor) runs() []*running {
	var out []*running
	for r := range s.active {
		out = append(out, r)
	}
	return out
}

// howEnded says how a process ended: "exit 1", "killed by SIGTERM".
func howEnded(ex proc.Exit) string {
	if ex.Signal != 0 {
		return "killed by " + unix.SignalName(ex.Signal)
	}
	return fmt.Sprintf("exit %d", ex.Code)
}

// describeEnd says how a run ended, a timeout included, for triggers'
// reasons, retries and mail subjects.
func describeEnd(r *running, ex proc.Exit) string {
	if r.timedOut {
		return "timed out (" + howEnded(ex) + ")"
	}
	return howEnded(ex)
}
