package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// notifier tells systemd what kopf run is doing, by sd_notify(3) on
// $NOTIFY_SOCKET (a no-op without it): READY=1 once the first config is
// applied, RELOADING=1 and READY=1 around each reload, STOPPING=1, STATUS=
// lines, and WATCHDOG=1 from the supervisor's loop when the unit has
// WatchdogSec=.
type notifier struct {
	log     *slog.Logger
	enabled bool
}

func newNotifier(log *slog.Logger) *notifier {
	return &notifier{log: log, enabled: os.Getenv("NOTIFY_SOCKET") != ""}
}

// send sends the state lines, logging a failure once per call.
func (n *notifier) send(lines ...string) {
	if !n.enabled {
		return
	}
	if _, err := sd.SdNotify(false, strings.Join(lines, "\n")); err != nil {
		n.log.Warn(fmt.Sprintf("sd_notify: %v", err))
	}
}

func (n *notifier) ready(status string) { n.send("READY=1", "STATUS="+status) }

func (n *notifier) reloading() {
	n.send("RELOADING=1", strings.TrimSuffix(sd.SdNotifyMonotonicUsec(), "\n"), "STATUS=reloading the config")
}

func (n *notifier) stopping() { n.send("STOPPING=1", "STATUS=stopping every proc and job") }

func (n *notifier) watchdog() { n.send("WATCHDOG=1") }

// watchdogEvery is half the unit's WatchdogSec, as sd_watchdog_enabled(3)
// advises; 0 without a watchdog for this process.
func (n *notifier) watchdogEvery() time.Duration {
	if !n.enabled {
		return 0
	}
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		n.log.Warn(fmt.Sprintf("systemd watchdog: %v", err))
		return 0
	}
	return d / 2
}

// childEnviron is kopf's environment for its children, without systemd's
// notification variables: a child's sd_notify must not speak for kopf.
func childEnviron() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID"
	})
}
