package config

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// mailKeys are the keys of the top-level "mail" section.
var mailKeys = []string{"password", "password-file", "sendmail", "smtp", "starttls", "username"}

// mail reads the top-level "mail" section: SMTP delivery (smtp, starttls,
// username, password or password-file) or a sendmail command.
func (l *loader) mail(n *node) *Mail {
	m := &Mail{Pos: n.pos}
	if n.kind != kindObject {
		l.errorf(n.pos, "\"mail\" must be an object like {\"smtp\": \"host:port\"} or {\"sendmail\": [\"/usr/sbin/sendmail\", \"-t\"]}, found %s", n.found())
		return nil
	}
	set := map[string]*node{}
	for _, e := range n.members {
		k := e.key.text
		if !slices.Contains(mailKeys, k) {
			hint := ""
			if s := closestKey(k, mailKeys); s != "" {
				hint = " (did you mean " + quote(s) + "?)"
			}
			l.errorf(e.key.pos, "unknown key %s in \"mail\"%s", quote(k), hint)
			continue
		}
		set[k] = e.val
	}
	if v := set["smtp"]; v != nil {
		m.SMTP = l.str("smtp", v)
		if _, port, err := net.SplitHostPort(m.SMTP); v.kind == kindString && (err != nil || port == "") {
			l.errorf(v.pos, "\"smtp\" must be host:port, like \"mail.example.com:587\", found %s", quote(m.SMTP))
		}
	}
	if v := set["sendmail"]; v != nil {
		m.Sendmail, _ = l.command(v, defaultShell)
		if set["smtp"] != nil {
			l.errorf(v.pos, "give \"smtp\" or \"sendmail\", not both")
		}
		for _, k := range []string{"starttls", "username", "password", "password-file"} {
			if set[k] != nil {
				l.errorf(set[k].pos, "%s is for SMTP; it has no effect with \"sendmail\"", quote(k))
			}
		}
	}
	if m.SMTP == "" && m.Sendmail == nil {
		m.SMTP = DefaultMail.SMTP
	}
	m.StartTLS = l.boolean("starttls", set["starttls"], false)
	if v := set["username"]; v != nil {
		m.Username = l.str("username", v)
	}
	pw, pwFile := set["password"], set["password-file"]
	switch {
	case pw != nil && pwFile != nil:
		l.errorf(pwFile.pos, "give \"password\" or \"password-file\", not both")
	case pw != nil:
		m.Password = l.str("password", pw)
	case pwFile != nil:
		m.PasswordFile = l.str("password-file", pwFile)
		if pwFile.kind == kindString {
			path := m.PasswordFile
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(l.src.file), path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				l.errorf(pwFile.pos, "cannot read \"password-file\": %v", err)
			}
			m.Password = strings.TrimRight(string(b), "\r\n")
		}
	}
	if (pw != nil || pwFile != nil) && set["username"] == nil {
		l.errorf(n.pos, "a password needs \"username\"")
	}
	return m
}
