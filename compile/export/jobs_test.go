package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
)

// jobs are a config's jobs as kopf export --config hands them over.
func jobs(t *testing.T) []Job {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	schedule := func(src string, loc *time.Location) *compile.Schedule {
		s, err := compile.ParseIn(src, loc)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return []Job{
		{Name: "backup", Schedule: schedule("every 1d @ 04:15", berlin), Argv: []string{"tar", "czf", "/backups/it's.tgz", "/etc"},
			Env: []string{"LANG=C"}, Dir: "/var/tmp", Jitter: 5 * time.Minute, CatchUp: true, Timeout: time.Hour, User: "backup"},
		{Name: "halves", Schedule: schedule("every 90m", time.UTC), Argv: []string{"true"}},
		{Name: "poll", Argv: []string{"/bin/sh", "-c", "poll"}, Shell: true},
		{Name: "report", Schedule: schedule("0 9 * * mon-fri", time.UTC), Argv: []string{"/bin/sh", "-c", "date +%F | mail"}, Shell: true, Replace: true},
	}
}

func TestJobsCrontab(t *testing.T) {
	var out strings.Builder
	exact, err := Jobs(&out, jobs(t), "crontab", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if exact {
		t.Error("exact with a job of no schedule")
	}
	got := out.String()
	for _, want := range []string{
		"# job backup: fidelity: exact\nCRON_TZ=Europe/Berlin\n15 4 * * * 'tar' 'czf' '/backups/it'\\''s.tgz' '/etc'\n",
		// a shell command stays the line it was
		"0 9 * * 1-5 date +%F | mail\n",
		"# job poll: not exported: it has no schedule",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("crontab lacks %q:\n%s", want, got)
		}
	}
}

func TestJobsKubernetesAndNomad(t *testing.T) {
	var k8s strings.Builder
	if _, err := Jobs(&k8s, jobs(t), "kubernetes", "", "busybox:1"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`schedule: "15 4 * * *"`, `timeZone: "Europe/Berlin"`, "image: busybox:1", "concurrencyPolicy: Forbid", "concurrencyPolicy: Replace", `{name: "LANG", value: "C"}`} {
		if !strings.Contains(k8s.String(), want) {
			t.Errorf("CronJobs lack %q:\n%s", want, k8s.String())
		}
	}
	// Documents are separated, never started with a separator.
	if strings.HasPrefix(k8s.String(), "---") || strings.Count(k8s.String(), "\n---\n") < 1 {
		t.Errorf("documents not separated:\n%s", k8s.String())
	}
	var nomad strings.Builder
	if _, err := Jobs(&nomad, jobs(t), "nomad", "", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`job "backup" {`, `crons            = ["15 4 * * *"]`, `time_zone        = "Europe/Berlin"`, "prohibit_overlap = true"} {
		if !strings.Contains(nomad.String(), want) {
			t.Errorf("Nomad lacks %q:\n%s", want, nomad.String())
		}
	}
}

func TestJobsSystemd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "units")
	var out strings.Builder
	if _, err := Jobs(&out, jobs(t), "systemd", dir, ""); err != nil {
		t.Fatal(err)
	}
	timer, err := os.ReadFile(filepath.Join(dir, "kopf-backup.timer"))
	if err != nil {
		t.Fatal(err)
	}
	service, err := os.ReadFile(filepath.Join(dir, "kopf-backup.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OnCalendar=*-*-* 4:15:0 Europe/Berlin\n", "RandomizedDelaySec=300\nFixedRandomDelay=true\nPersistent=true\n"} {
		if !strings.Contains(string(timer), want) {
			t.Errorf("timer lacks %q:\n%s", want, timer)
		}
	}
	for _, want := range []string{`ExecStart="tar" "czf" "/backups/it's.tgz" "/etc"`, `Environment="LANG=C"`, "WorkingDirectory=/var/tmp\n", "User=backup\n", "TimeoutStartSec=3600\n"} {
		if !strings.Contains(string(service), want) {
			t.Errorf("service lacks %q:\n%s", want, service)
		}
	}
	// A percent in a command is systemd's specifier unless doubled.
	report, err := os.ReadFile(filepath.Join(dir, "kopf-report.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "%%F") {
		t.Errorf("a %% in the command is not escaped:\n%s", report)
	}
	if _, err := os.Stat(filepath.Join(dir, "kopf-poll.timer")); err == nil {
		t.Error("a job without a schedule got a timer")
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		cmd := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(dir, "kopf-report.timer"), filepath.Join(dir, "kopf-report.service"))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, b)
		}
	}
	// A directory that cannot be made is an error, not a partial export.
	if _, err := Jobs(&out, jobs(t), "systemd", "/proc/kopf-units", ""); err == nil {
		t.Error("no error for a directory that cannot be made")
	}
}
