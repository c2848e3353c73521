package supervise

import (
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
)

// TestEnviron: kopf's own environment reaches a run only when it runs as
// kopf's user and inherits; a run as another user, or with inherit-env
// false (a crontab line), gets cron's PATH and the user's variables, with
// its own env over them.
func TestEnviron(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	self, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		t.Skip("kopf's own uid has no entry here")
	}
	if self.Uid == nobody.Uid {
		t.Skip("the tests run as nobody")
	}
	kopf := []string{"PATH=/opt/kopf/bin", "AWS_SECRET_ACCESS_KEY=root-secret"}
	as := func(name string) *config.Extra { return &config.Extra{As: &config.Identity{User: name}} }
	shellOf := func(name string) string {
		c, err := (&config.Identity{User: name}).Resolve()
		if err != nil || c.Shell == "" {
			return "/bin/sh"
		}
		return c.Shell
	}
	cases := []struct {
		name  string
		extra *config.Extra
		clean bool
		want  []string
	}{
		{"kopf's user, inheriting", nil, false, append(slices.Clone(kopf), "A=1")},
		{"kopf's user named, inheriting", as(self.Username), false,
			append(slices.Clone(kopf), "USER="+self.Username, "LOGNAME="+self.Username, "HOME="+self.HomeDir, "SHELL="+shellOf(self.Username), "A=1")},
		{"another user", as("nobody"), false,
			[]string{"PATH=/usr/bin:/bin", "USER=nobody", "LOGNAME=nobody", "HOME=" + nobody.HomeDir, "SHELL=/bin/sh", "A=1"}},
		{"another user, clean", as("nobody"), true,
			[]string{"PATH=/usr/bin:/bin", "USER=nobody", "LOGNAME=nobody", "HOME=" + nobody.HomeDir, "SHELL=/bin/sh", "A=1"}},
		{"kopf's user, clean", nil, true,
			[]string{"PATH=/usr/bin:/bin", "USER=" + self.Username, "LOGNAME=" + self.Username, "HOME=" + self.HomeDir, "SHELL=/bin/sh", "A=1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host := &fakeHost{}
				j := &config.Job{Unit: settings("j", "j"), RunOnStart: true}
				j.Env, j.Extra, j.CleanEnv = []string{"A=1"}, c.extra, c.clean
				ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Environ: kopf})
				ss.stop()
				host.mu.Lock()
				defer host.mu.Unlock()
				if len(host.starts) != 1 {
					t.Fatalf("%d starts", len(host.starts))
				}
				got := host.starts[0].env
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
				if c.extra != nil && c.extra.As.User == "nobody" && strings.Contains(strings.Join(got, " "), "root-secret") {
					t.Error("kopf's secret reached a run as another user")
				}
			})
		})
	}
}
