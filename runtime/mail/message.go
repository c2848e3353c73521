package mail

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one mail about a run of a job or proc.
type Message struct {
	// From is the unit's mail-from; "" means "kopf@" + Host. Like To, it
	// may be a bare address or "Name <address>".
	From string
	To   []string // the unit's mail-to
	// Unit is the unit's name; Title, when set, names it in the subject
	// instead.
	Unit, Title string
	// Exit says how the run ended: "exit 0", "exit 1", "killed by SIGTERM",
	// "timed out (…)". It is "" in a partial mail of a run still going.
	Exit     string
	Duration time.Duration // how long the run has been going
	Host     string        // "" means "localhost"; the Mailer fills it in
	// Partial is 0 for the mail at the end of a run, and n > 0 for the n-th
	// partial mail of a run that is still going.
	Partial int
	Output  []byte // the run's combined stdout and stderr, as collected
	Cut     int64  // bytes of output left out by the size bound (0: none)
}

// maxTitle bounds the title in the subject, in runes, so that a subject
// never approaches the 998-byte line limit of RFC 5322.
const maxTitle = 200

// Subject returns the subject line, before any header encoding: it names
// the title, how the run ended (or that it is still going), the duration
// and the host.
//
//	kopf: backup: exit 1 after 2m3s on web1
//	kopf: backup: running for 10m, output part 2 on web1
func (m Message) Subject() string {
	title := m.Title
	if title == "" {
		title = m.Unit
	}
	title = oneLine(title)
	if utf8.RuneCountInString(title) > maxTitle {
		title = string([]rune(title)[:maxTitle]) + "…"
	}
	host := hostOr(m.Host)
	if m.Partial > 0 {
		return fmt.Sprintf("kopf: %s: running for %s, output part %d on %s",
			title, roundDuration(m.Duration), m.Partial, host)
	}
	exit := oneLine(m.Exit)
	if exit == "" {
		exit = "ended"
	}
	return fmt.Sprintf("kopf: %s: %s after %s on %s", title, exit, roundDuration(m.Duration), host)
}

// Bytes returns the message in RFC 5322 form, with CRLF line ends, dated
// now. The body is the output, quoted-printable, so that any bytes survive
// any relay; line ends in the output become CRLF. A note follows when
// output was cut. Nothing from the Message can add a header line: CR, LF
// and other control characters in the title or the exit become spaces.
func (m Message) Bytes(now time.Time) []byte {
	host := hostOr(m.Host)
	var b bytes.Buffer
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	writeHeader(&b, "From", headerAddress(m.from()))
	if len(m.To) > 0 { // an empty address list is not allowed
		to := make([]string, len(m.To))
		for i, a := range m.To {
			to[i] = headerAddress(a)
		}
		writeHeader(&b, "To", strings.Join(to, ", "))
	}
	writeHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	// rand.Text is 26 base32 characters: unique without a counter, and the
	// same bytes are resent on every retry, so a receiver can see a
	// duplicate for what it is.
	writeHeader(&b, "Message-ID", "<"+rand.Text()+"@"+host+">")
	writeHeader(&b, "MIME-Version", "1.0")
	writeHeader(&b, "Content-Type", "text/plain; charset=utf-8")
	writeHeader(&b, "Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: no vacation replies to a robot.
	writeHeader(&b, "Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	qp.Write(m.Output) // a bytes.Buffer does not fail
	if m.Cut > 0 {
		if len(m.Output) > 0 && m.Output[len(m.Output)-1] != '\n' {
			qp.Write([]byte("\n"))
		}
		fmt.Fprintf(qp, "[kopf: %d bytes of output were left out]\n", m.Cut)
	}
	qp.Close()
	return b.Bytes()
}

// from is the header and envelope sender.
func (m Message) from() string {
	if m.From != "" {
		return m.From
	}
	return "kopf@" + hostOr(m.Host)
}

// writeHeader writes one header field, folded at spaces so that lines stay
// within 78 characters where the words allow it.
func writeHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	b.WriteByte(':')
	line, words := len(name)+1, 0 // length and words of the current line
	for _, w := range strings.Split(value, " ") {
		// Folding puts CRLF before a space, which unfolding removes again.
		if w != "" && words > 0 && line+1+len(w) > 78 {
			b.WriteString("\r\n")
			line, words = 0, 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		line += 1 + len(w)
		if w != "" {
			words++
		}
	}
	b.WriteString("\r\n")
}

// headerAddress formats an address for a header. The config loader has
// parsed every address with net/mail already; should one not parse here,
// it goes out as it is, on one line.
func headerAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.String() // quotes and encodes the display name as needed
	}
	return oneLine(s)
}

// envelopeAddress is the bare address for MAIL FROM, RCPT TO and sendmail.
func envelopeAddress(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return strings.TrimSpace(oneLine(s))
}

// oneLine replaces control characters (CR and LF among them) by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// hostOr returns h if it is usable as a host name in a header, and
// "localhost" otherwise.
func hostOr(h string) string {
	if h == "" || len(h) > 253 {
		return "localhost"
	}
	for _, c := range []byte(h) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
		if !ok {
			return "localhost"
		}
	}
	return h
}

// roundDuration prints d as people read it in a subject: whole seconds
// from a second up, without trailing zero units ("2m3s", "10m", "1h"), and
// milliseconds below.
func roundDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return s
}
