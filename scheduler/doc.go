// Package scheduler runs Go functions on kopf schedules, inside a program:
// jumpscale's background services, or what robfig/cron's AddFunc does, on
// the same job core as the kopf daemon (runtime/job), so a function and a
// process are scheduled by the same rules.
//
// A job has a schedule in either dialect ("*/5 * * * *",
// "every 10m every 1d @ 10:00-01:00 in Europe/Berlin"), an already compiled
// schedule, or an interval counted from one start to the next; and a
// func(ctx) error. The scheduler guarantees:
//
//   - a job never runs twice at once: a fire while it runs queues exactly
//     one next run, and Status and the Queued event say so;
//   - at most Options.Limit jobs run at once (one per CPU by default); a due
//     job waits for a free slot, the longest waiting first;
//   - a panic or an error is recovered, logged with log/slog, reported to
//     Options.OnEvent, and the job stays scheduled;
//   - a run's context ends at its Timeout, when its job is removed or
//     replaced without waiting, and when the scheduler stops; Stop returns
//     once every run has returned.
//
// Jobs can be added, replaced and removed while the scheduler runs, and
// Status reports each one's last start, last end, last error and next fire.
package scheduler
