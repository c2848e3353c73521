package config

import (
	"testing"
	"time"
)

// A job's dst is compiled into its schedules: what the supervisor, catch-up
// and kopf next --job ask of them.
func TestDSTInSchedules(t *testing.T) {
	cfg := parse(t, "k.json", `{"jobs": {
		"cronie": {"command": "x", "schedule": "30 2 * * *", "timezone": "America/New_York"},
		"skip": {"command": "x", "schedule": "30 2 * * *", "cron": "30 2 * * *", "timezone": "America/New_York", "dst": {"gap": "skip"}}
	}}`)
	after := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	want := map[string]string{"cronie": "2026-03-08T03:00:00-04:00", "skip": "2026-03-09T02:30:00-04:00"}
	for _, j := range cfg.Jobs {
		for _, s := range j.Schedules {
			got, _ := s.Compiled.Next(after)
			if got.Format(time.RFC3339) != want[j.Name] {
				t.Errorf("job %s, %s %q: next after %s = %s; want %s", j.Name, s.Key, s.Source, after, got.Format(time.RFC3339), want[j.Name])
			}
		}
	}
}
