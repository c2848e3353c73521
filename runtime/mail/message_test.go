package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var date = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

// parse reads a message as a mail client would, and returns it with its
// decoded subject and body (CRLF line ends turned into LF).
func parse(t *testing.T, data []byte) (msg *mail.Message, subject, body string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" || params["charset"] != "utf-8" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("quoted-printable body: %v", err)
	}
	return msg, subject, strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"exit", Message{Unit: "backup", Exit: "exit 1", Duration: 123 * time.Second, Host: "web1"},
			"kopf: backup: exit 1 after 2m3s on web1"},
		{"title over unit", Message{Unit: "bk", Title: "nightly backup", Exit: "exit 0", Duration: 10 * time.Minute, Host: "web1"},
			"kopf: nightly backup: exit 0 after 10m on web1"},
		{"partial", Message{Unit: "backup", Partial: 2, Duration: 10*time.Minute + 200*time.Millisecond, Host: "web1"},
			"kopf: backup: running for 10m, output part 2 on web1"},
		{"hours", Message{Unit: "u", Exit: "killed by SIGTERM", Duration: time.Hour, Host: "h"},
			"kopf: u: killed by SIGTERM after 1h on h"},
		{"hours and seconds", Message{Unit: "u", Exit: "exit 0", Duration: time.Hour + 5*time.Second, Host: "h"},
			"kopf: u: exit 0 after 1h0m5s on h"},
		{"rounded up", Message{Unit: "u", Exit: "exit 0", Duration: 1500 * time.Millisecond, Host: "h"},
			"kopf: u: exit 0 after 2s on h"},
		{"under a second", Message{Unit: "u", Exit: "exit 0", Duration: 250 * time.Millisecond, Host: "h"},
			"kopf: u: exit 0 after 250ms on h"},
		{"no exit, no host", Message{Unit: "u"},
			"kopf: u: ended after 0s on localhost"},
		{"bad host", Message{Unit: "u", Exit: "exit 0", Host: "a b\r\nc"},
			"kopf: u: exit 0 after 0s on localhost"},
		{"timed out", Message{Unit: "u", Exit: "timed out (1h)", Duration: time.Hour, Host: "h"},
			"kopf: u: timed out (1h) after 1h on h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.msg.Subject(); got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	out := "first line\n" +
		strings.Repeat("long=line ", 30) + "\n" +
		".\n" +
		"trailing space \n" +
		"Grüße, ünïcødé ✓\n" +
		"From the start\n"
	m := Message{
		From:     "Backup Robot <robot@example.com>",
		To:       []string{"ops@example.com", "Zoë <zoe@example.com>"},
		Unit:     "backup",
		Title:    "Sauvegarde été",
		Exit:     "exit 1",
		Duration: 123 * time.Second,
		Host:     "web1",
		Output:   []byte(out),
	}
	data := m.Bytes(date)

	for i, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\r\n") || strings.Count(line, "\r") != 1 {
			t.Errorf("line %d %q does not end in a lone CRLF", i+1, line)
		}
		if len(line) > 100 {
			t.Errorf("line %d is %d bytes long", i+1, len(line))
		}
	}

	msg, subject, body := parse(t, data)
	if want := "kopf: Sauvegarde été: exit 1 after 2m3s on web1"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	if raw := msg.Header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw Subject %q is not Q-encoded", raw)
	}
	if body != out {
		t.Errorf("body mismatch (-want +got):\n%s", cmp.Diff(out, body))
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Backup Robot" || from[0].Address != "robot@example.com" {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		t.Fatalf("To: %v", err)
	}
	if diff := cmp.Diff([]*mail.Address{{Address: "ops@example.com"}, {Name: "Zoë", Address: "zoe@example.com"}}, to); diff != "" {
		t.Errorf("To mismatch (-want +got):\n%s", diff)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date = %v, %v; want %v", d, err, date)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@web1>") {
		t.Errorf("Message-ID = %q", id)
	}
	for name, want := range map[string]string{"MIME-Version": "1.0", "Auto-Submitted": "auto-generated"} {
		if got := msg.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestBytesDefaultFrom(t *testing.T) {
	msg, _, body := parse(t, Message{To: []string{"a@example.com"}, Unit: "u", Host: "web1"}.Bytes(date))
	if got := msg.Header.Get("From"); got != "<kopf@web1>" {
		t.Errorf("From = %q, want <kopf@web1>", got)
	}
	if body != "" {
		t.Errorf("body = %q, want none", body)
	}
}

func TestBytesCutNote(t *testing.T) {
	for _, out := range []string{"all of it\n", "a line cut in the midd"} {
		_, _, body := parse(t, Message{To: []string{"a@example.com"}, Unit: "u", Output: []byte(out), Cut: 1234567}.Bytes(date))
		want := strings.TrimSuffix(out, "\n") + "\n[kopf: 1234567 bytes of output were left out]\n"
		if body != want {
			t.Errorf("body = %q, want %q", body, want)
		}
	}
}

// TestHeaderInjection: CR and LF in what the config or the run supplies
// never start a header line.
func TestHeaderInjection(t *testing.T) {
	m := Message{
		To:    []string{"a@example.com"},
		Unit:  "u",
		Title: "x\r\nBcc: x@y",
		Exit:  "exit 1\nX-Evil: yes",
		Host:  "web1\r\nBcc: z@y",
	}
	data := m.Bytes(date)
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(line, "Bcc") || strings.HasPrefix(line, "X-Evil") {
			t.Errorf("injected header line %q", line)
		}
	}
	msg, subject, _ := parse(t, data)
	for _, name := range []string{"Bcc", "X-Evil"} {
		if v, ok := msg.Header[name]; ok {
			t.Errorf("header %s: %q", name, v)
		}
	}
	if want := "kopf: x  Bcc: x@y: exit 1 X-Evil: yes after 0s on localhost"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
}

// TestHeaderFolding: long headers are folded, and unfold to what they were.
func TestHeaderFolding(t *testing.T) {
	var to []string
	for i := range 30 {
		to = append(to, "Recipient Number "+strings.Repeat("x", i)+" <r"+strings.Repeat("y", i)+"@example.com>")
	}
	m := Message{To: to, Unit: "u", Title: strings.Repeat("Überlange Titelzeile ", 12), Exit: "exit 0", Host: "h"}
	data := m.Bytes(date)
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line of %d bytes", len(line))
		}
		if len(line) > 90 && !strings.HasPrefix(line, " ") {
			t.Errorf("header line %q was not folded", line)
		}
	}
	msg, subject, _ := parse(t, data)
	if subject != m.Subject() {
		t.Errorf("subject = %q, want %q", subject, m.Subject())
	}
	got, err := msg.Header.AddressList("To")
	if err != nil || len(got) != len(to) {
		t.Fatalf("To: %d addresses, %v", len(got), err)
	}
	for i, a := range got {
		if want, _ := mail.ParseAddress(to[i]); *a != *want {
			t.Errorf("To[%d] = %v, want %v", i, a, want)
		}
	}
}

func TestTitleBounded(t *testing.T) {
	s := Message{Unit: "u", Title: strings.Repeat("é", 1000)}.Subject()
	if n := strings.Count(s, "é"); n != maxTitle {
		t.Errorf("title kept %d runes, want %d", n, maxTitle)
	}
}
