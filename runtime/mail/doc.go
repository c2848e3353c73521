// Package mail mails a run's output to the people in its unit's mail-to,
// as cron does with MAILTO: at the end of a run, and in parts while a
// long run or a proc is still going.
//
// An [Output] collects a run's lines up to a bound and hands out what is
// new since it was last asked, with a count of the bytes it left out. A
// [Message] turns that into an RFC 5322 mail whose subject says what ran,
// how it ended, for how long and where. A [Mailer] delivers messages in
// the background, through an SMTP relay (github.com/emersion/go-smtp) or
// a sendmail command, and never holds up the supervisor:
//
//   - [Mailer.Send] never blocks and returns nothing. The queue is bounded;
//     a message that finds it full is dropped.
//   - One SMTP transaction per message, for all its recipients. A
//     recipient refused with 5xx is dropped, the others still get the
//     message; a 4xx reply is retried. A failed attempt is retried after
//     a backoff, a bounded number of times; a permanent failure (5xx) is
//     not.
//   - Every attempt has a time limit, on the connection itself.
//   - What happens to each message is told to [Options.Report]: every
//     recipient ends in exactly one [Sent] or [Dropped] report.
//   - A password goes only over TLS (STARTTLS, certificate verified) or to
//     a relay on a loopback address.
//   - sendmail runs through the [Options.Start] the daemon gives, since
//     kopf reaps every child in one wait loop (see runtime/proc).
//
// The package logs nothing.
//
// Use:
//
//	m := mail.New(mail.Options{Config: cfg, Report: func(r mail.Report) {
//		slog.Info("mail "+string(r.Outcome), "unit", r.Unit, "to", r.To, "err", r.Err)
//	}})
//	defer m.Close(ctx)
//
//	out := mail.NewOutput(1 << 20)
//	p, err := host.Start(proc.Spec{Argv: argv, Env: env, Output: out.Line})
//	…
//	e := <-p.Done()
//	data, cut := out.Take()
//	m.Send(mail.Message{
//		From: u.MailFrom, To: u.MailTo, Unit: name, Title: u.Title,
//		Exit: fmt.Sprintf("exit %d", e.Code), Duration: time.Since(start),
//		Output: data, Cut: cut,
//	})
package mail
