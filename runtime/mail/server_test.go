package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// envelope is one message a test server accepted.
type envelope struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the transaction ran over TLS
	User string // who authenticated, "" for nobody
	Helo string
}

// backend is a go-smtp Backend that records what it accepts. Its hooks,
// set before the server starts, make it refuse or stall.
type backend struct {
	users map[string]string // for AUTH PLAIN; nil offers no AUTH
	// mail answers the n-th MAIL command (from 1); nil accepts.
	mail func(n int) error
	// rcpt answers the n-th RCPT command for to; nil accepts.
	rcpt func(to string, n int) error
	// data runs before Data reads the message; it may block. A non-nil
	// error is Data's answer to the n-th message (from 1).
	data func(n int) error

	mu    sync.Mutex
	got   []envelope
	mails int
	datas int
	rcpts map[string]int
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, tls := c.TLSConnectionState()
	return &session{b: b, env: envelope{TLS: tls, Helo: c.Hostname()}}, nil
}

func (b *backend) envelopes() []envelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

type session struct {
	b    *backend
	env  envelope
	user string
}

func (s *session) AuthMechanisms() []string {
	if s.b.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if want, ok := s.b.users[user]; !ok || want != pass || identity != "" && identity != user {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.b.mu.Lock()
	s.b.mails++
	n := s.b.mails
	s.b.mu.Unlock()
	if s.b.mail != nil {
		if err := s.b.mail(n); err != nil {
			return err
		}
	}
	s.env.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	if s.b.rcpts == nil {
		s.b.rcpts = make(map[string]int)
	}
	s.b.rcpts[to]++
	n := s.b.rcpts[to]
	s.b.mu.Unlock()
	if s.b.rcpt != nil {
		if err := s.b.rcpt(to, n); err != nil {
			return err
		}
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	s.b.mu.Lock()
	s.b.datas++
	n := s.b.datas
	s.b.mu.Unlock()
	if s.b.data != nil {
		if err := s.b.data(n); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	env := s.env
	env.Data, env.User = data, s.user
	s.b.mu.Lock()
	s.b.got = append(s.b.got, env)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.env.From, s.env.To = "", nil }

func (s *session) Logout() error { return nil }

// serve runs a go-smtp server for b on a loopback port until the test
// ends, and returns its address. With tc it offers STARTTLS; each of more
// sets up the server further before it starts.
func serve(t *testing.T, b *backend, tc *tls.Config, insecureAuth bool, more ...func(*smtp.Server)) string {
	t.Helper()
	s := smtp.NewServer(b)
	s.Domain = "test.example"
	s.TLSConfig = tc
	s.AllowInsecureAuth = insecureAuth
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.ErrorLog = log.New(io.Discard, "", 0)
	for _, f := range more {
		f(s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

// selfSigned returns a server configuration with a certificate for
// 127.0.0.1 and localhost, and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kopf test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// reports records what a Mailer reports.
type reports struct {
	mu   sync.Mutex
	list []Report
	more chan struct{}
}

func newReports() *reports { return &reports{more: make(chan struct{}, 1)} }

func (r *reports) add(rep Report) {
	r.mu.Lock()
	r.list = append(r.list, rep)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *reports) now() []Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// wait returns the reports once there are at least n. The bound is loose:
// it only keeps a broken test from hanging.
func (r *reports) wait(t *testing.T, n int) []Report {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := r.now(); len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("waited for %d reports, got:\n%s", n, strings.Join(summary(r.now()), "\n"))
		}
	}
}

// summary renders reports as "outcome@attempt to,to".
func summary(reps []Report) []string {
	var out []string
	for _, r := range reps {
		out = append(out, fmt.Sprintf("%s@%d %s", r.Outcome, r.Attempt, strings.Join(r.To, ",")))
	}
	return out
}

// smtpCode returns the SMTP reply code in err, or 0.
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
