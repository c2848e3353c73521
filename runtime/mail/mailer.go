package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// Config is the daemon's top-level "mail" section.
type Config struct {
	// SMTP is the relay, "host:port"; "" means "localhost:25". A host
	// without a port gets port 25. It is unused when Sendmail is set.
	SMTP string
	// StartTLS requires STARTTLS, with the server's certificate verified;
	// a server that does not offer it fails the attempt. When false, mail
	// goes in plain text even to a server that offers STARTTLS, so a local
	// relay with a self-signed certificate keeps working.
	StartTLS bool
	// Username, when set, authenticates with AUTH PLAIN. The password is
	// only ever sent over TLS or to a relay on a loopback address; any
	// other setting fails every message with ErrCleartextPassword.
	Username, Password string
	// Sendmail, when set, is used instead of SMTP: a command that reads the
	// message on its stdin. It is run as
	//
	//	Sendmail... -i -f <from> -- <recipient>...
	//
	// (-i: a line of a single dot does not end the message; -f: the
	// envelope sender), which sendmail, Postfix, Exim and msmtp all accept.
	Sendmail []string
	// Hostname names this host in subjects, in the default sender and in
	// EHLO; "" means os.Hostname().
	Hostname string
}

// Outcome is what became of a message, or of some of its recipients.
type Outcome string

const (
	// Sent: the relay accepted the message for Report.To.
	Sent Outcome = "sent"
	// Retry: an attempt failed for Report.To; another will follow.
	Retry Outcome = "retry"
	// Dropped: the message will never reach Report.To: attempts ran out,
	// the failure was permanent (a 5xx reply, a recipient refused), the
	// queue was full, or the Mailer closed first.
	Dropped Outcome = "dropped"
)

// Report tells what became of one message. Each recipient ends in exactly
// one Sent or Dropped report; Retry reports come before.
type Report struct {
	Unit    string
	To      []string // the envelope addresses this report is about
	Subject string
	Outcome Outcome
	Attempt int   // the attempt this is about, from 1; 0 when none was made
	Err     error // nil for Sent
}

// Errors in reports; test them with errors.Is.
var (
	// ErrQueueFull: Send found Options.QueueSize messages waiting.
	ErrQueueFull = errors.New("mail: queue full")
	// ErrClosed: Send came after Close, or Close's context ended before
	// the message could be delivered.
	ErrClosed = errors.New("mail: mailer closed")
	// ErrCleartextPassword: Username is set, StartTLS is not, and the relay
	// is not on a loopback address.
	ErrCleartextPassword = errors.New("mail: refusing to send a password in clear text")
	// ErrNoStart: Config.Sendmail is set but Options.Start is nil.
	ErrNoStart = errors.New("mail: Sendmail is set but there is no Start function to run it")
)

// Options configures a Mailer.
type Options struct {
	Config Config
	// Start runs the sendmail command with argv and env, writing stdin to
	// it, and returns a function that waits for its exit. The daemon builds
	// it on its process host: kopf reaps every child in one wait loop, so
	// the Mailer never starts a process itself. Unused without
	// Config.Sendmail.
	Start func(argv []string, env []string, stdin []byte) (wait func() (code int, err error), err error)
	// QueueSize bounds the messages held, waiting or being sent; default
	// 100. When it is reached, Send drops the new message.
	QueueSize int
	// Attempts bounds the attempts per message; default 5.
	Attempts int
	// Backoff is the wait after each failed attempt; the last one repeats.
	// Default 10s, 30s, 1m, 5m.
	Backoff []time.Duration
	// Report, when set, is told every outcome. It is called from the
	// Mailer's goroutine, and from Send's caller for a message dropped at
	// once, so it may be called concurrently; it should return quickly.
	// It may call Send, but not Close.
	Report func(Report)
	// Dial connects to the relay; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig verifies the relay for STARTTLS; nil means the system roots.
	// An empty ServerName is set to the host of Config.SMTP.
	TLSConfig *tls.Config
	// Timeout bounds each attempt, connection to QUIT or sendmail's start
	// to its exit; default 30s.
	Timeout time.Duration
	// Clock dates the messages; nil means time.Now. Waits use the time
	// package's timers, so tests that need fake time use testing/synctest.
	Clock func() time.Time
}

// Mailer sends messages from a bounded queue on its own goroutine. Send
// never blocks and returns nothing: a failed attempt is retried after a
// backoff, up to Options.Attempts, then the message is dropped, and each
// outcome goes to Options.Report. Messages are sent one at a time; one
// waiting for its retry does not hold up the others.
type Mailer struct {
	opts     Options
	hostname string
	report   func(Report)

	mu      sync.Mutex
	pending []*item // waiting for their next attempt
	held    int     // pending plus the one being sent
	seq     uint64
	closed  bool

	wake  chan struct{}           // buffered: tells run that pending or closed changed
	abort context.CancelCauseFunc // ends run's context
	done  chan struct{}           // closed when run returns
}

// item is one message in the queue.
type item struct {
	unit, subject string
	from          string   // envelope sender
	to            []string // envelope recipients still to reach
	data          []byte   // the message, CRLF line ends
	attempts      int      // made so far
	due           time.Time
	seq           uint64 // orders items due at the same time
}

// New returns a running Mailer; Close stops it.
func New(opts Options) *Mailer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 100
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if len(opts.Backoff) == 0 {
		opts.Backoff = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Dial == nil {
		opts.Dial = (&net.Dialer{}).DialContext
	}
	if opts.Config.SMTP == "" {
		opts.Config.SMTP = "localhost:25"
	}
	if _, _, err := net.SplitHostPort(opts.Config.SMTP); err != nil {
		opts.Config.SMTP = net.JoinHostPort(opts.Config.SMTP, "25")
	}
	m := &Mailer{
		opts:     opts,
		hostname: opts.Config.Hostname,
		report:   opts.Report,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if m.hostname == "" {
		m.hostname, _ = os.Hostname()
	}
	m.hostname = hostOr(m.hostname)
	if m.report == nil {
		m.report = func(Report) {}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	m.abort = cancel
	go m.run(ctx)
	return m
}

// Send queues msg, dated now by Options.Clock, and returns at once. An
// empty msg.Host is this host's name.
func (m *Mailer) Send(msg Message) {
	if msg.Host == "" {
		msg.Host = m.hostname
	}
	it := &item{
		unit:    msg.Unit,
		subject: msg.Subject(),
		from:    envelopeAddress(msg.from()),
		data:    msg.Bytes(m.opts.Clock()),
	}
	for _, a := range msg.To {
		it.to = append(it.to, envelopeAddress(a))
	}
	var err error
	m.mu.Lock()
	switch {
	case m.closed:
		err = ErrClosed
	case len(it.to) == 0:
		err = errors.New("mail: no recipients")
	case m.held >= m.opts.QueueSize:
		err = fmt.Errorf("%w (%d messages)", ErrQueueFull, m.held)
	default:
		m.seq++
		it.seq, it.due = m.seq, time.Now()
		m.pending = append(m.pending, it)
		m.held++
	}
	m.mu.Unlock()
	if err != nil {
		m.report(it.outcome(Dropped, it.to, err))
		return
	}
	m.poke()
}

// Close stops accepting messages, brings every waiting retry forward to
// now, and keeps delivering until the queue is empty or ctx is done. Then
// whatever is left, the attempt under way included, is dropped and
// reported, and Close returns ctx's error; it returns nil when the queue
// emptied first. Every report has been made when Close returns.
func (m *Mailer) Close(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		now := time.Now()
		for _, it := range m.pending {
			it.due = now
		}
	}
	m.mu.Unlock()
	m.poke()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
	}
	m.abort(fmt.Errorf("%w before delivery: %w", ErrClosed, ctx.Err()))
	<-m.done
	return ctx.Err()
}

func (m *Mailer) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run sends the items as they fall due, until Close has emptied the queue
// or ctx is cancelled.
func (m *Mailer) run(ctx context.Context) {
	defer close(m.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop() // since Go 1.23, a stopped timer never delivers a stale tick
	for {
		it, wait, ok := m.next()
		switch {
		case !ok:
			return
		case it != nil:
			m.deliver(ctx, it)
		default:
			if wait >= 0 {
				timer.Reset(wait)
			}
			select {
			case <-ctx.Done():
			case <-m.wake:
			case <-timer.C:
			}
			timer.Stop()
		}
		if ctx.Err() != nil {
			m.dropAll(context.Cause(ctx))
			return
		}
	}
}

// next takes the item due first off pending when it is due. Otherwise it
// returns how long until it is (-1: nothing pending), or !ok once the
// Mailer is closed and nothing is left.
func (m *Mailer) next() (it *item, wait time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil, -1, !m.closed
	}
	first := 0
	for i, p := range m.pending {
		if p.due.Before(m.pending[first].due) || p.due.Equal(m.pending[first].due) && p.seq < m.pending[first].seq {
			first = i
		}
	}
	it = m.pending[first]
	if wait := time.Until(it.due); wait > 0 {
		return nil, wait, true
	}
	m.pending = append(m.pending[:first], m.pending[first+1:]...)
	return it, 0, true
}

// deliver makes one attempt at it, reports, and requeues it for a retry
// or lets it go.
func (m *Mailer) deliver(ctx context.Context, it *item) {
	it.attempts++
	res := m.attempt(ctx, it)
	if ctx.Err() != nil && res.err != nil {
		// Close gave up on the attempt; whatever it failed with, that is why.
		res.err = context.Cause(ctx)
	}
	if len(res.sent) > 0 {
		m.report(it.outcome(Sent, res.sent, nil))
	}
	for _, r := range res.refused {
		m.report(it.outcome(Dropped, []string{r.addr}, r.err))
	}
	again, err := res.deferred, res.err
	if err != nil {
		// The attempt failed after some recipients were refused, or before.
		again = slices.DeleteFunc(slices.Clone(it.to), func(to string) bool {
			return slices.ContainsFunc(res.refused, func(r rcptError) bool { return r.addr == to })
		})
	} else if len(again) > 0 {
		err = errors.Join(res.deferredErrs...)
	}
	if len(again) == 0 {
		m.finish()
		return
	}
	if permanent(err) || it.attempts >= m.opts.Attempts || ctx.Err() != nil {
		m.report(it.outcome(Dropped, again, err))
		m.finish()
		return
	}
	rep := it.outcome(Retry, again, err)
	it.to = again
	i := min(it.attempts-1, len(m.opts.Backoff)-1)
	m.mu.Lock()
	it.due = time.Now().Add(m.opts.Backoff[i])
	m.pending = append(m.pending, it)
	m.mu.Unlock()
	// Only now: a Close prompted by the report must find the item waiting.
	m.report(rep)
}

// finish lets go of an item that was being sent.
func (m *Mailer) finish() {
	m.mu.Lock()
	m.held--
	m.mu.Unlock()
}

// dropAll drops and reports every pending item.
func (m *Mailer) dropAll(err error) {
	m.mu.Lock()
	left := m.pending
	m.pending = nil
	m.held -= len(left)
	m.mu.Unlock()
	for _, it := range left {
		m.report(it.outcome(Dropped, it.to, err))
	}
}

func (it *item) outcome(o Outcome, to []string, err error) Report {
	return Report{
		Unit:    it.unit,
		To:      append([]string(nil), to...),
		Subject: it.subject,
		Outcome: o,
		Attempt: it.attempts,
		Err:     err,
	}
}

// result is what one attempt did for each recipient. err is set when the
// attempt failed as a whole; the other fields are then empty.
type result struct {
	sent         []string
	refused      []rcptError
	deferred     []string
	deferredErrs []error
	err          error
}

type rcptError struct {
	addr string
	err  error
}

// attempt makes one delivery attempt, which ends by Options.Timeout from
// now, or when ctx is cancelled.
func (m *Mailer) attempt(ctx context.Context, it *item) result {
	limit := time.Now().Add(m.opts.Timeout)
	if len(m.opts.Config.Sendmail) > 0 {
		if err := m.sendmail(ctx, it, limit); err != nil {
			return result{err: err}
		}
		return result{sent: it.to}
	}
	return m.smtp(ctx, it, limit)
}
