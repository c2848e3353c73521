package cli

import (
	"time"

	"github.com/kopf/kopf/compile"
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
	jobs := make([]export.Job, len(cfg.Jobs))
	for i, j := range cfg.Jobs {
		jobs[i] = exportJob(j)
	}
	return export.Jobs(e.stdout, jobs, target, dir, image)
}

// exportJob is what an export needs of j.
func exportJob(j *config.Job) export.Job {
	x := export.Job{Name: j.Name, Argv: j.Command, Shell: j.Shell, Env: j.Env, Dir: j.Dir, Jitter: j.Jitter, Timeout: j.Timeout,
		CatchUp: j.CatchUp != config.CatchUpNone, Replace: j.Overlap.String() == "replace"}
	if len(j.Schedules) > 0 {
		var parts []*compile.Schedule
		for _, sc := range j.Schedules {
			parts = append(parts, sc.Compiled)
		}
		x.Schedule = compile.Union(parts...)
	}
	if as := j.As(); as != nil {
		x.User, x.Group = as.User, as.Group
	}
	return x
}
