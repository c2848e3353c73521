package cli

import (
	"time"

	"github.com/kopf/kopf/compile/export"
	"github.com/kopf/kopf/runtime/config"
)

// exportConfig writes every scheduled job of a config file for the
// target (export.Jobs), after reporting the file's errors as kopf check
// does. It reports whether every job was exact.
func (e *env) exportConfig(target, file, dir, image string) (bool, error) {
	cfg, _, err := config.Load(file)
	if err != nil {
		e.report(file, nil, nil, err, time.Now())
		return false, errSchedule
	}
	if target == "systemd" && dir == "" {
		return false, usagef("--to systemd --config needs --out DIR for the .timer and .service files")
	}
	return export.Jobs(e.stdout, cfg.Jobs, target, dir, image)
}
