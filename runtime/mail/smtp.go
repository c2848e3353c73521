package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtp makes one SMTP attempt at the item, for all its recipients at once.
// The connection's deadlines end it at limit, with a plain i/o timeout; a
// cancelled ctx (Close giving up) closes the connection.
func (m *Mailer) smtp(ctx context.Context, it *item, limit time.Time) result {
	cfg := m.opts.Config
	addr := cfg.SMTP
	host, _, _ := net.SplitHostPort(addr)
	if cfg.Username != "" && !cfg.StartTLS && !isLoopback(host) {
		return result{err: fmt.Errorf("%w to %s: require STARTTLS, or relay through localhost", ErrCleartextPassword, addr)}
	}
	dctx, cancel := context.WithDeadline(ctx, limit)
	conn, err := m.opts.Dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return result{err: fmt.Errorf("mail: connect to %s: %w", addr, err)}
	}
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	c, err := m.client(&deadlineConn{Conn: conn, limit: limit}, host)
	if err != nil {
		conn.Close()
		return result{err: fmt.Errorf("mail: %s: %w", addr, err)}
	}
	defer c.Close()
	res := transaction(c, it)
	if res.err != nil {
		res.err = fmt.Errorf("mail: %s: %w", addr, res.err)
		return res
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return res
}

// client greets the relay, with STARTTLS and AUTH as configured.
func (m *Mailer) client(conn *deadlineConn, host string) (*smtp.Client, error) {
	cfg := m.opts.Config
	conn.SetDeadline(time.Time{}) // that is, the attempt's limit
	var c *smtp.Client
	if cfg.StartTLS {
		tc := &tls.Config{}
		if m.opts.TLSConfig != nil {
			tc = m.opts.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
		// go-smtp has no STARTTLS on a client already greeted, so the EHLO
		// before STARTTLS names "localhost"; the one that counts, after it,
		// names this host. The handshake happens on that EHLO.
		var err error
		if c, err = smtp.NewClientStartTLS(conn, tc); err != nil {
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	if err := c.Hello(m.hostname); err != nil {
		c.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	if cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("AUTH PLAIN as %q: %w", cfg.Username, err)
		}
	}
	return c, nil
}

// transaction sends the item to all its recipients in one transaction. A recipient refused with 5xx is dropped; one refused with
// 4xx is tried again later; the others get the message.
func transaction(c *smtp.Client, it *item) result {
	var opts *smtp.MailOptions
	if !isASCII(it.from) || !isASCII(it.to...) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return result{err: permanentError{errors.New("addresses beyond ASCII, and the relay does not offer SMTPUTF8")}}
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(it.from, opts); err != nil {
		return result{err: fmt.Errorf("MAIL FROM <%s>: %w", it.from, err)}
	}
	var res result
	var accepted []string
	for _, to := range it.to {
		err := c.Rcpt(to, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			accepted = append(accepted, to)
		case errors.As(err, &se) && se.Code >= 500:
			res.refused = append(res.refused, rcptError{to, fmt.Errorf("mail: RCPT TO <%s>: %w", to, err)})
		case errors.As(err, &se):
			res.deferred = append(res.deferred, to)
			res.deferredErrs = append(res.deferredErrs, fmt.Errorf("mail: RCPT TO <%s>: %w", to, err))
		default:
			res.err = fmt.Errorf("RCPT TO <%s>: %w", to, err)
			return res
		}
	}
	if len(accepted) == 0 {
		c.Reset()
		return res
	}
	w, err := c.Data()
	if err != nil {
		res.err = fmt.Errorf("DATA: %w", err)
		return res
	}
	if _, err := w.Write(it.data); err != nil {
		res.err = fmt.Errorf("DATA: %w", err)
		return res
	}
	if err := w.Close(); err != nil {
		res.err = fmt.Errorf("DATA: %w", err)
		return res
	}
	res.sent = accepted
	return res
}

// deadlineConn keeps every deadline go-smtp sets (it sets minutes per
// command, and clears them after) within the attempt's limit.
type deadlineConn struct {
	net.Conn
	limit time.Time
}

func (c *deadlineConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}

func (c *deadlineConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// isLoopback reports whether host names this machine by name or address.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isASCII(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
	}
	return true
}

// permanentError is a failure that no retry can mend.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// permanent reports whether retrying cannot help: the relay answered 5xx,
// the configuration forbids sending, or sendmail said so.
func permanent(err error) bool {
	var se *smtp.SMTPError
	var xe *SendmailError
	var pe permanentError
	switch {
	case errors.As(err, &se):
		return se.Code >= 500
	case errors.As(err, &xe):
		return !xe.Temporary()
	}
	return errors.As(err, &pe) || errors.Is(err, ErrCleartextPassword) || errors.Is(err, ErrNoStart)
}
