package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

// fast are Options for tests: short waits, every report recorded.
func fast(cfg Config, r *reports) Options {
	return Options{
		Config:   cfg,
		Attempts: 3,
		Backoff:  []time.Duration{time.Millisecond},
		Timeout:  20 * time.Second,
		Report:   r.add,
		Clock:    func() time.Time { return date },
	}
}

// closeNow closes m, which has nothing left to do.
func closeNow(t *testing.T, m *Mailer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func backupRun() Message {
	return Message{
		From:     "Backup Robot <robot@example.com>",
		To:       []string{"ops@example.com", "Zoë <zoe@example.com>"},
		Unit:     "backup",
		Title:    "Sauvegarde été",
		Exit:     "exit 1",
		Duration: 123 * time.Second,
		Output:   []byte("copying…\n.\nfailed: disk full\n"),
	}
}

func TestSendSMTP(t *testing.T) {
	b := &backend{}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr, Hostname: "web1"}, r))
	m.Send(backupRun())
	closeNow(t, m)

	want := []string{"sent@1 ops@example.com,zoe@example.com"}
	if diff := cmp.Diff(want, summary(r.now())); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	if rep := r.now()[0]; rep.Unit != "backup" || rep.Subject != "kopf: Sauvegarde été: exit 1 after 2m3s on web1" || rep.Err != nil {
		t.Errorf("report = %+v", rep)
	}
	got := b.envelopes()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	env := got[0]
	if env.From != "robot@example.com" || !cmp.Equal(env.To, []string{"ops@example.com", "zoe@example.com"}) {
		t.Errorf("envelope from %q to %q", env.From, env.To)
	}
	if env.Helo != "web1" || env.TLS || env.User != "" {
		t.Errorf("session: EHLO %q, TLS %v, user %q", env.Helo, env.TLS, env.User)
	}
	msg, subject, body := parse(t, env.Data)
	if want := "kopf: Sauvegarde été: exit 1 after 2m3s on web1"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	if want := string(backupRun().Output); body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date = %v, %v; want the Clock's %v", d, err, date)
	}
}

func TestDefaultSenderAndHost(t *testing.T) {
	b := &backend{}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(Message{To: []string{"ops@example.com"}, Unit: "u", Exit: "exit 0"})
	closeNow(t, m)
	got := b.envelopes()
	if len(got) != 1 {
		t.Fatalf("server got %d messages: %v", len(got), summary(r.now()))
	}
	host, _ := os.Hostname()
	host = hostOr(host)
	if got[0].From != "kopf@"+host || got[0].Helo != host {
		t.Errorf("envelope from %q, EHLO %q; want kopf@%s, %s", got[0].From, got[0].Helo, host, host)
	}
	if _, subject, _ := parse(t, got[0].Data); !strings.HasSuffix(subject, " on "+host) {
		t.Errorf("subject %q does not name the host %s", subject, host)
	}
}

// TestHeaderInjectionSMTP: a title with CR LF adds no recipient, neither
// to the envelope nor as a header.
func TestHeaderInjectionSMTP(t *testing.T) {
	b := &backend{}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr, Hostname: "web1"}, r))
	m.Send(Message{To: []string{"ops@example.com"}, Unit: "u", Title: "t\r\nBcc: x@y", Exit: "exit 0"})
	closeNow(t, m)
	got := b.envelopes()
	if len(got) != 1 || !cmp.Equal(got[0].To, []string{"ops@example.com"}) {
		t.Fatalf("envelopes %+v", got)
	}
	msg, _, _ := parse(t, got[0].Data)
	if v, ok := msg.Header["Bcc"]; ok {
		t.Errorf("Bcc header %q", v)
	}
}

func TestStartTLS(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	b := &backend{users: map[string]string{"kopf": "s3cret"}}
	addr := serve(t, b, serverTLS, false)

	t.Run("auth over TLS", func(t *testing.T) {
		r := newReports()
		opts := fast(Config{SMTP: addr, StartTLS: true, Username: "kopf", Password: "s3cret", Hostname: "web1"}, r)
		opts.TLSConfig = &tls.Config{RootCAs: roots}
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		if diff := cmp.Diff([]string{"sent@1 ops@example.com,zoe@example.com"}, summary(r.now())); diff != "" {
			t.Fatalf("reports mismatch (-want +got):\n%s\n%v", diff, r.now())
		}
		got := b.envelopes()
		if len(got) != 1 || !got[0].TLS || got[0].User != "kopf" || got[0].Helo != "web1" {
			t.Fatalf("envelopes %+v; want one over TLS from kopf, EHLO web1", got)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		r := newReports()
		opts := fast(Config{SMTP: addr, StartTLS: true, Username: "kopf", Password: "guess"}, r)
		opts.TLSConfig = &tls.Config{RootCAs: roots}
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		reps := r.now()
		// 535 is permanent: no second attempt.
		if diff := cmp.Diff([]string{"dropped@1 ops@example.com,zoe@example.com"}, summary(reps)); diff != "" {
			t.Fatalf("reports mismatch (-want +got):\n%s", diff)
		}
		if smtpCode(reps[0].Err) != 535 || !strings.Contains(reps[0].Err.Error(), "AUTH") {
			t.Errorf("error %v; want the 535 of AUTH", reps[0].Err)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		r := newReports()
		opts := fast(Config{SMTP: addr, StartTLS: true}, r)
		opts.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
		opts.Attempts = 1
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		reps := r.wait(t, 1)
		var cve *tls.CertificateVerificationError
		if reps[0].Outcome != Dropped || !errors.As(reps[0].Err, &cve) {
			t.Errorf("report %+v; want dropped for the certificate", reps[0])
		}
	})

	t.Run("server without STARTTLS", func(t *testing.T) {
		plain := serve(t, &backend{}, nil, false)
		r := newReports()
		opts := fast(Config{SMTP: plain, StartTLS: true}, r)
		opts.Attempts = 1
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		reps := r.wait(t, 1)
		if reps[0].Outcome != Dropped || !strings.Contains(reps[0].Err.Error(), "STARTTLS") {
			t.Errorf("report %+v; want dropped, naming STARTTLS", reps[0])
		}
	})
}

func TestCleartextPassword(t *testing.T) {
	b := &backend{users: map[string]string{"kopf": "s3cret"}}
	addr := serve(t, b, nil, true)
	var mu sync.Mutex
	dials := 0
	redirect := func(ctx context.Context, network, _ string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	_, port, _ := net.SplitHostPort(addr)

	t.Run("refused to another host", func(t *testing.T) {
		r := newReports()
		opts := fast(Config{SMTP: "mail.example.com:25", Username: "kopf", Password: "s3cret"}, r)
		opts.Dial = redirect
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		reps := r.now()
		if diff := cmp.Diff([]string{"dropped@1 ops@example.com,zoe@example.com"}, summary(reps)); diff != "" {
			t.Fatalf("reports mismatch (-want +got):\n%s", diff)
		}
		err := reps[0].Err
		if !errors.Is(err, ErrCleartextPassword) || !strings.Contains(err.Error(), "mail.example.com:25") {
			t.Errorf("error %v; want ErrCleartextPassword naming the relay", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if dials != 0 {
			t.Errorf("%d connections made; the password must not even be offered", dials)
		}
	})

	t.Run("allowed to localhost", func(t *testing.T) {
		r := newReports()
		opts := fast(Config{SMTP: net.JoinHostPort("localhost", port), Username: "kopf", Password: "s3cret"}, r)
		opts.Dial = redirect
		m := New(opts)
		m.Send(backupRun())
		closeNow(t, m)
		if diff := cmp.Diff([]string{"sent@1 ops@example.com,zoe@example.com"}, summary(r.now())); diff != "" {
			t.Fatalf("reports mismatch (-want +got):\n%s\n%v", diff, r.now())
		}
		if got := b.envelopes(); len(got) != 1 || got[0].User != "kopf" || got[0].TLS {
			t.Errorf("envelopes %+v; want one from kopf in plain text", got)
		}
	})
}

func TestRetryTemporaryFailure(t *testing.T) {
	b := &backend{mail: func(n int) error {
		if n <= 2 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(backupRun())
	reps := r.wait(t, 3)
	closeNow(t, m)
	want := []string{
		"retry@1 ops@example.com,zoe@example.com",
		"retry@2 ops@example.com,zoe@example.com",
		"sent@3 ops@example.com,zoe@example.com",
	}
	if diff := cmp.Diff(want, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	for _, rep := range reps[:2] {
		if smtpCode(rep.Err) != 451 {
			t.Errorf("retry error %v; want the 451", rep.Err)
		}
	}
	if got := b.envelopes(); len(got) != 1 {
		t.Errorf("server got %d messages, want 1", len(got))
	}
}

func TestPermanentFailure(t *testing.T) {
	b := &backend{mail: func(int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "not you"}
	}}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(backupRun())
	closeNow(t, m)
	reps := r.now()
	if diff := cmp.Diff([]string{"dropped@1 ops@example.com,zoe@example.com"}, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	if smtpCode(reps[0].Err) != 550 {
		t.Errorf("error %v; want the 550", reps[0].Err)
	}
}

// TestRecipients: one transaction for all; a 5xx recipient is dropped, a
// 4xx one tried again alone, the rest delivered at once.
func TestRecipients(t *testing.T) {
	b := &backend{rcpt: func(to string, n int) error {
		switch {
		case to == "gone@example.com":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case to == "later@example.com" && n == 1:
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy"}
		}
		return nil
	}}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(Message{To: []string{"ok@example.com", "gone@example.com", "later@example.com"}, Unit: "u", Exit: "exit 0"})
	reps := r.wait(t, 4)
	closeNow(t, m)
	want := []string{
		"sent@1 ok@example.com",
		"dropped@1 gone@example.com",
		"retry@1 later@example.com",
		"sent@2 later@example.com",
	}
	if diff := cmp.Diff(want, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	if smtpCode(reps[1].Err) != 550 || smtpCode(reps[2].Err) != 450 {
		t.Errorf("errors %v, %v; want 550 and 450", reps[1].Err, reps[2].Err)
	}
	got := b.envelopes()
	if len(got) != 2 || !cmp.Equal(got[0].To, []string{"ok@example.com"}) || !cmp.Equal(got[1].To, []string{"later@example.com"}) {
		t.Errorf("envelopes %+v", got)
	}
}

func TestAllRecipientsRefused(t *testing.T) {
	b := &backend{rcpt: func(string, int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}}
	addr := serve(t, b, nil, false)
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(Message{To: []string{"a@example.com", "b@example.com"}, Unit: "u", Exit: "exit 0"})
	closeNow(t, m)
	if diff := cmp.Diff([]string{"dropped@1 a@example.com", "dropped@1 b@example.com"}, summary(r.now())); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.datas != 0 {
		t.Errorf("DATA sent with no recipient left")
	}
}

// TestDataReplies: the reply after the message decides like any other:
// 4xx retries the whole message, 5xx drops it.
func TestDataReplies(t *testing.T) {
	for _, code := range []int{452, 554} {
		b := &backend{data: func(n int) error {
			if n == 1 {
				return &smtp.SMTPError{Code: code, Message: "no"}
			}
			return nil
		}}
		addr := serve(t, b, nil, false)
		r := newReports()
		m := New(fast(Config{SMTP: addr}, r))
		m.Send(Message{To: []string{"a@example.com", "b@example.com"}, Unit: "u", Exit: "exit 0"})
		want := []string{"retry@1 a@example.com,b@example.com", "sent@2 a@example.com,b@example.com"}
		if code >= 500 {
			want = []string{"dropped@1 a@example.com,b@example.com"}
		}
		reps := r.wait(t, len(want))
		closeNow(t, m)
		if diff := cmp.Diff(want, summary(reps)); diff != "" {
			t.Errorf("%d: reports mismatch (-want +got):\n%s", code, diff)
		}
		if smtpCode(reps[0].Err) != code || !strings.Contains(reps[0].Err.Error(), "DATA") {
			t.Errorf("%d: error %v", code, reps[0].Err)
		}
	}
}

// TestUTF8Addresses: an address beyond ASCII asks for SMTPUTF8, and a
// relay without it fails the message for good.
func TestUTF8Addresses(t *testing.T) {
	msg := Message{From: "kopf@bücher.example", To: []string{"zoë@example.com"}, Unit: "u", Exit: "exit 0"}

	b := &backend{}
	addr := serve(t, b, nil, false, func(s *smtp.Server) { s.EnableSMTPUTF8 = true })
	r := newReports()
	m := New(fast(Config{SMTP: addr}, r))
	m.Send(msg)
	closeNow(t, m)
	got := b.envelopes()
	if len(got) != 1 || got[0].From != "kopf@bücher.example" || !cmp.Equal(got[0].To, []string{"zoë@example.com"}) {
		t.Errorf("envelopes %+v; reports %v", got, summary(r.now()))
	}

	addr = serve(t, &backend{}, nil, false)
	r = newReports()
	m = New(fast(Config{SMTP: addr}, r))
	m.Send(msg)
	closeNow(t, m)
	reps := r.now()
	if diff := cmp.Diff([]string{"dropped@1 zoë@example.com"}, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(reps[0].Err.Error(), "SMTPUTF8") {
		t.Errorf("error %v; want it to name SMTPUTF8", reps[0].Err)
	}
}

// downAddr returns a loopback address where nothing listens.
func downAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestServerDown(t *testing.T) {
	r := newReports()
	m := New(fast(Config{SMTP: downAddr(t)}, r))
	m.Send(Message{To: []string{"ops@example.com"}, Unit: "u", Exit: "exit 0"})
	reps := r.wait(t, 3)
	closeNow(t, m)
	want := []string{"retry@1 ops@example.com", "retry@2 ops@example.com", "dropped@3 ops@example.com"}
	if diff := cmp.Diff(want, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	for _, rep := range reps {
		if !errors.Is(rep.Err, syscall.ECONNREFUSED) {
			t.Errorf("error %v; want connection refused", rep.Err)
		}
	}
}

// mute accepts connections and never says a word.
func mute(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestTimeout: the attempt's limit holds although go-smtp sets minutes of
// deadline for the greeting.
func TestTimeout(t *testing.T) {
	r := newReports()
	opts := fast(Config{SMTP: mute(t)}, r)
	opts.Timeout = 100 * time.Millisecond
	opts.Attempts = 2
	m := New(opts)
	m.Send(Message{To: []string{"ops@example.com"}, Unit: "u", Exit: "exit 0"})
	reps := r.wait(t, 2)
	closeNow(t, m)
	if diff := cmp.Diff([]string{"retry@1 ops@example.com", "dropped@2 ops@example.com"}, summary(reps)); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	for _, rep := range reps {
		var ne net.Error
		if !errors.As(rep.Err, &ne) || !ne.Timeout() {
			t.Errorf("error %v; want a timeout", rep.Err)
		}
	}
}

// stall makes a backend whose Data blocks until the test ends, and a
// channel that tells when a Data call has begun.
func stall(t *testing.T) (*backend, <-chan struct{}) {
	release := make(chan struct{})
	entered := make(chan struct{}, 100)
	b := &backend{data: func(int) error {
		entered <- struct{}{}
		<-release
		return nil
	}}
	// Registered before serve's cleanup, so it runs after: the blocked
	// handlers end once the server has closed their connections.
	t.Cleanup(func() { close(release) })
	return b, entered
}

func TestQueueBounded(t *testing.T) {
	b, entered := stall(t)
	addr := serve(t, b, nil, false)
	r := newReports()
	opts := fast(Config{SMTP: addr}, r)
	opts.QueueSize = 2
	m := New(opts)
	for _, unit := range []string{"one", "two", "three"} {
		m.Send(Message{To: []string{"ops@example.com"}, Unit: unit, Exit: "exit 0"})
	}
	// The third was dropped within Send, before it returned.
	reps := r.now()
	if len(reps) != 1 || reps[0].Unit != "three" || reps[0].Outcome != Dropped || reps[0].Attempt != 0 || !errors.Is(reps[0].Err, ErrQueueFull) {
		t.Fatalf("reports %+v; want three dropped for a full queue", reps)
	}
	<-entered // the first is being sent, the second waits: still full
	m.Send(Message{To: []string{"ops@example.com"}, Unit: "four", Exit: "exit 0"})
	if reps := r.now(); len(reps) != 2 || reps[1].Unit != "four" || !errors.Is(reps[1].Err, ErrQueueFull) {
		t.Fatalf("reports %+v; want four dropped as well", reps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	m.Close(ctx)
}

// TestHangingServer: Send returns at once whatever the server does, and
// Close gives up when its context ends, reporting what it dropped.
func TestHangingServer(t *testing.T) {
	b, entered := stall(t)
	addr := serve(t, b, nil, false)
	r := newReports()
	opts := fast(Config{SMTP: addr}, r)
	opts.Timeout = time.Hour
	opts.QueueSize = 3
	m := New(opts)
	m.Send(Message{To: []string{"a@example.com"}, Unit: "u", Exit: "exit 0"})
	<-entered
	for range 10 {
		m.Send(Message{To: []string{"b@example.com"}, Unit: "u", Exit: "exit 0"})
	}
	if n := len(r.now()); n != 8 {
		t.Errorf("%d reports after the Sends; want 8 dropped for a full queue", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := m.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	// Every report is made when Close returns: the one being sent and the
	// two waiting are dropped, for the Close.
	reps := r.now()
	if len(reps) != 11 {
		t.Fatalf("%d reports after Close, want 11:\n%s", len(reps), strings.Join(summary(reps), "\n"))
	}
	for _, rep := range reps[8:] {
		if rep.Outcome != Dropped || !errors.Is(rep.Err, ErrClosed) || !errors.Is(rep.Err, context.DeadlineExceeded) {
			t.Errorf("report %+v; want dropped for the Close", rep)
		}
	}
	m.Send(Message{To: []string{"c@example.com"}, Unit: "late", Exit: "exit 0"})
	if reps := r.now(); len(reps) != 12 || !errors.Is(reps[11].Err, ErrClosed) {
		t.Errorf("Send after Close: reports %+v", reps[11:])
	}
}

// TestCloseDelivers: Close waits for what is queued, retries included.
func TestCloseDelivers(t *testing.T) {
	b := &backend{mail: func(n int) error {
		if n == 1 {
			return &smtp.SMTPError{Code: 421, Message: "busy"}
		}
		return nil
	}}
	addr := serve(t, b, nil, false)
	r := newReports()
	opts := fast(Config{SMTP: addr}, r)
	opts.Backoff = []time.Duration{time.Hour} // Close brings it forward
	m := New(opts)
	m.Send(Message{To: []string{"a@example.com"}, Unit: "u", Exit: "exit 0"})
	r.wait(t, 1)
	closeNow(t, m)
	if diff := cmp.Diff([]string{"retry@1 a@example.com", "sent@2 a@example.com"}, summary(r.now())); diff != "" {
		t.Errorf("reports mismatch (-want +got):\n%s", diff)
	}
}

// fakeStart stands in for the daemon's process host.
type fakeStart struct {
	mu    sync.Mutex
	calls []startCall
	codes []int // exit codes, one per call; then 0
}

type startCall struct {
	argv, env []string
	stdin     []byte
	at        time.Time
}

func (f *fakeStart) start(argv, env []string, stdin []byte) (func() (int, error), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := 0
	if len(f.calls) < len(f.codes) {
		code = f.codes[len(f.calls)]
	}
	f.calls = append(f.calls, startCall{argv, env, stdin, time.Now()})
	return func() (int, error) { return code, nil }, nil
}

func (f *fakeStart) got() []startCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startCall(nil), f.calls...)
}

func TestSendmail(t *testing.T) {
	f := &fakeStart{}
	r := newReports()
	opts := fast(Config{Sendmail: []string{"/usr/sbin/sendmail", "-oem"}, Hostname: "web1"}, r)
	opts.Start = f.start
	m := New(opts)
	m.Send(backupRun())
	closeNow(t, m)
	if diff := cmp.Diff([]string{"sent@1 ops@example.com,zoe@example.com"}, summary(r.now())); diff != "" {
		t.Fatalf("reports mismatch (-want +got):\n%s", diff)
	}
	calls := f.got()
	if len(calls) != 1 {
		t.Fatalf("%d starts, want 1", len(calls))
	}
	want := []string{"/usr/sbin/sendmail", "-oem", "-i", "-f", "robot@example.com", "--", "ops@example.com", "zoe@example.com"}
	if diff := cmp.Diff(want, calls[0].argv); diff != "" {
		t.Errorf("argv mismatch (-want +got):\n%s", diff)
	}
	if len(calls[0].env) == 0 {
		t.Errorf("sendmail gets an empty environment")
	}
	if strings.Contains(string(calls[0].stdin), "\r") {
		t.Errorf("stdin has CR; sendmail expects LF line ends")
	}
	_, subject, body := parse(t, calls[0].stdin)
	if subject != "kopf: Sauvegarde été: exit 1 after 2m3s on web1" || body != string(backupRun().Output) {
		t.Errorf("stdin carries subject %q, body %q", subject, body)
	}
}

func TestSendmailFailures(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		want  []string
	}{
		{"temporary", []int{75, 75}, []string{"retry@1 a@example.com", "retry@2 a@example.com", "sent@3 a@example.com"}},
		{"out of attempts", []int{1, 1, 1}, []string{"retry@1 a@example.com", "retry@2 a@example.com", "dropped@3 a@example.com"}},
		{"no such user", []int{67}, []string{"dropped@1 a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeStart{codes: tt.codes}
			r := newReports()
			opts := fast(Config{Sendmail: []string{"sendmail"}}, r)
			opts.Start = f.start
			m := New(opts)
			m.Send(Message{To: []string{"a@example.com"}, Unit: "u", Exit: "exit 0"})
			reps := r.wait(t, len(tt.want))
			closeNow(t, m)
			if diff := cmp.Diff(tt.want, summary(reps)); diff != "" {
				t.Fatalf("reports mismatch (-want +got):\n%s", diff)
			}
			var se *SendmailError
			if len(tt.codes) > 0 && (!errors.As(reps[0].Err, &se) || se.Code != tt.codes[0]) {
				t.Errorf("error %v; want exit status %d", reps[0].Err, tt.codes[0])
			}
		})
	}

	t.Run("no Start", func(t *testing.T) {
		r := newReports()
		m := New(fast(Config{Sendmail: []string{"sendmail"}}, r))
		m.Send(Message{To: []string{"a@example.com"}, Unit: "u"})
		closeNow(t, m)
		if reps := r.now(); len(reps) != 1 || reps[0].Outcome != Dropped || !errors.Is(reps[0].Err, ErrNoStart) {
			t.Errorf("reports %+v; want dropped for ErrNoStart", reps)
		}
	})
}

// TestBackoffSchedule runs the default backoff in fake time: attempts at
// 0, 10s, 40s, 1m40s and 6m40s, then the message is dropped.
func TestBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStart{codes: []int{75, 75, 75, 75, 75}}
		r := newReports()
		m := New(Options{Config: Config{Sendmail: []string{"sendmail"}}, Start: f.start, Report: r.add})
		start := time.Now()
		m.Send(Message{To: []string{"a@example.com"}, Unit: "u"})
		synctest.Wait()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		var at []time.Duration
		for _, c := range f.got() {
			at = append(at, c.at.Sub(start))
		}
		want := []time.Duration{0, 10 * time.Second, 40 * time.Second, 100 * time.Second, 400 * time.Second}
		if diff := cmp.Diff(want, at); diff != "" {
			t.Errorf("attempt times mismatch (-want +got):\n%s", diff)
		}
		wantReps := []string{"retry@1 a@example.com", "retry@2 a@example.com", "retry@3 a@example.com", "retry@4 a@example.com", "dropped@5 a@example.com"}
		if diff := cmp.Diff(wantReps, summary(r.now())); diff != "" {
			t.Errorf("reports mismatch (-want +got):\n%s", diff)
		}
		if err := m.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestSendmailHangs: a sendmail that never exits is given up on at the
// attempt's limit, and retried.
func TestSendmailHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		calls := 0
		start := func([]string, []string, []byte) (func() (int, error), error) {
			calls++
			if calls == 1 {
				return func() (int, error) { <-release; return 0, nil }, nil
			}
			return func() (int, error) { return 0, nil }, nil
		}
		r := newReports()
		m := New(Options{Config: Config{Sendmail: []string{"sendmail"}}, Start: start, Report: r.add, Backoff: []time.Duration{time.Second}})
		m.Send(Message{To: []string{"a@example.com"}, Unit: "u"})
		time.Sleep(time.Minute)
		synctest.Wait()
		reps := r.now()
		if diff := cmp.Diff([]string{"retry@1 a@example.com", "sent@2 a@example.com"}, summary(reps)); diff != "" {
			t.Fatalf("reports mismatch (-want +got):\n%s", diff)
		}
		if !errors.Is(reps[0].Err, context.DeadlineExceeded) || !strings.Contains(reps[0].Err.Error(), "still running after 30s") {
			t.Errorf("error %v; want the 30s default limit", reps[0].Err)
		}
		if err := m.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
