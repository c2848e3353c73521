package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitVerifies: examples/systemd/kopf.service passes
// systemd-analyze verify, with its ExecStart pointed at a kopf that
// exists here.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian's systemd package has it)")
	}
	kopf, err := exec.LookPath("kopf")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../examples/systemd/kopf.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(b), "/usr/local/bin/kopf", kopf)
	path := filepath.Join(t.TempDir(), "kopf.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", path)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "KillMode=mixed", "StateDirectory=kopf", "ExecReload=",
		// It reads cron's files: cron must not run beside it.
		"--cron-dir /etc/cron.d", "Conflicts=cron.service cronie.service crond.service"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit has no %s", want)
		}
	}
}

// TestContainerExample: the Dockerfile builds with the Go of go.mod, runs
// kopf as its entrypoint with the journal on a volume, and stops it with
// SIGTERM. (CI has no container runtime to build it with.)
func TestContainerExample(t *testing.T) {
	b, err := os.ReadFile("../../examples/container/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var goVersion string
	for _, line := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			goVersion = v
		}
	}
	minor := strings.Join(strings.Split(goVersion, ".")[:2], ".")
	for _, want := range []string{
		"FROM golang:" + minor + " AS build", "COPY --from=build /out/kopf /usr/local/bin/kopf",
		"VOLUME /var/lib/kopf", "STOPSIGNAL SIGTERM",
		`ENTRYPOINT ["kopf", "run", "--journal", "/var/lib/kopf/journal.jsonl", "--health", "0.0.0.0:8081"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the Dockerfile has no %q", want)
		}
	}
}
