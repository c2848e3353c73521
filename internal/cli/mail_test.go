package cli_test

import (
	"fmt"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kopf/kopf/runtime/journal"
)

// A real SMTP server on loopback (go-smtp's), which kopf run mails to.

type received struct {
	from    string
	to      []string
	subject string
	body    string
}

type mailBackend struct {
	mu  sync.Mutex
	got []received
}

func (b *mailBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{b: b}, nil }

func (b *mailBackend) mails() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

type mailSession struct {
	b    *mailBackend
	from string
	to   []string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *mailSession) Reset()                                      { s.from, s.to = "", nil }
func (s *mailSession) Logout() error                               { return nil }

func (s *mailSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.got = append(s.b.got, received{from: s.from, to: s.to, subject: subject, body: strings.ReplaceAll(string(b), "\r\n", "\n")})
	s.b.mu.Unlock()
	return nil
}

func smtpServer(t *testing.T) (*mailBackend, string) {
	t.Helper()
	b := &mailBackend{}
	s := smtp.NewServer(b)
	s.Domain = "test.example"
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return b, l.Addr().String()
}

func TestMailEndToEnd(t *testing.T) {
	box, addr := smtpServer(t)
	dir := t.TempDir()
	host, _ := os.Hostname()
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"mail": {"smtp": %q},
		"jobs": {
			"report": {"command": "echo hello; echo oops >&2; exit 3", "run-on-start": true,
			           "mail-to": ["Ops <ops@example.com>", "root@example.com"], "mail-from": "kopf@example.com"},
			"silent": {"command": "true", "run-on-start": true, "mail-to": "ops@example.com"}
		},
		"procs": {
			"tor": {"command": ["kopftest", "say", "started", "pid", %q], "mail-to": "ops@example.com",
			        "mail-partial-after": "300ms"}
		}
	}`, addr, filepath.Join(dir, "tor.pid")))
	d, _ := controlled(t, dir, cfg)
	waitFor(t, "two mails", d, func() bool { return len(box.mails()) >= 2 })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	var report, tor *received
	for _, m := range box.mails() {
		switch {
		case strings.Contains(m.subject, "report"):
			report = &m
		case strings.Contains(m.subject, "tor"):
			tor = &m
		case strings.Contains(m.subject, "silent"):
			t.Errorf("a run without output was mailed: %q", m.subject)
		}
	}
	if report == nil || tor == nil {
		t.Fatalf("mails: %+v", box.mails())
	}
	if want := "kopf: report: exit 3 after "; !strings.HasPrefix(report.subject, want) || !strings.HasSuffix(report.subject, " on "+host) {
		t.Errorf("subject %q, want %q… on %s", report.subject, want, host)
	}
	if report.from != "kopf@example.com" || strings.Join(report.to, " ") != "ops@example.com root@example.com" {
		t.Errorf("envelope from %q to %q", report.from, report.to)
	}
	if !strings.Contains(report.body, "hello\n") || !strings.Contains(report.body, "oops\n") {
		t.Errorf("body %q lacks the output", report.body)
	}
	if !strings.Contains(tor.subject, "output part 1") || !strings.Contains(tor.body, "started") {
		t.Errorf("the proc's partial mail: %q %q", tor.subject, tor.body)
	}
	var sent int
	for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
		if ev.Type == journal.Mail && ev.Action == "sent" {
			sent++
		}
	}
	if sent < 2 {
		t.Errorf("%d mail sent events in the journal, want 2", sent)
	}
}
