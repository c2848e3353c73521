package alert

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

// TestPolicy feeds the Policy a job's events and the clock's times, with
// no timer, lock or network: what each event calls for, when the next
// deadline is, and what Advance says at it.
func TestPolicy(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	alerts := &config.Alert{Webhook: "http://hooks.test/k", Ping: "http://ping.test/u", Grace: 5 * time.Second, ExpectDuration: time.Minute}
	p := NewPolicy(func(job string) (*config.Alert, string) {
		if job == "j" {
			return alerts, "the job"
		}
		return nil, ""
	}, "web1")
	brief := func(ds []Delivery) []string {
		var out []string
		for _, d := range ds {
			s := fmt.Sprintf("%s %s %s %s", d.Sink, d.What, d.Method, d.URL)
			if d.Body != nil {
				var b Body
				json.Unmarshal(d.Body, &b)
				s += ": " + b.Text
			}
			out = append(out, s)
		}
		return out
	}
	code := func(c int) *int { return &c }
	steps := []struct {
		name string
		ev   *journal.Event // nil: Advance
		now  float64
		want []string
		next float64 // -1: none
	}{
		{"a fire arms its grace", &journal.Event{Type: journal.Fired, Unit: "j", At: t0}, 0, nil, 5},
		{"the grace runs out", nil, 5, []string{"webhook missed POST http://hooks.test/k: kopf: the job missed a fire on web1: the fire at 2026-12-07T04:00:00Z: no run started within the grace of 5s"}, -1},
		{"a run starts: ping, and its expect-duration", &journal.Event{Type: journal.Spawned, Unit: "j", PID: 7, Time: at(10)}, 10, []string{"ping start GET http://ping.test/u/start"}, 70},
		{"it runs too long", nil, 70, []string{"webhook overdue POST http://hooks.test/k: kopf: the job is overdue on web1: pid 7 still runs after its expect-duration of 1m0s"}, -1},
		{"it fails", &journal.Event{Type: journal.Exited, Unit: "j", PID: 7, Code: code(3), Seconds: 65}, 75, []string{
			"webhook failure POST http://hooks.test/k: kopf: the job failed on web1: exit 3 after 1m5s", "ping failure GET http://ping.test/u/3"}, -1},
		{"kopf stops the next run: nothing", &journal.Event{Type: journal.Exited, Unit: "j", PID: 8, Signal: "SIGTERM", StoppedBy: journal.StoppedReload}, 80, nil, -1},
		{"a success after failing: recovery", &journal.Event{Type: journal.Exited, Unit: "j", PID: 9, Code: code(0)}, 90, []string{
			"webhook recovery POST http://hooks.test/k: kopf: the job recovered on web1: succeeded after failing", "ping success GET http://ping.test/u"}, -1},
		{"a fire, then a run in time: no alert", &journal.Event{Type: journal.Fired, Unit: "j", At: at(100)}, 100, nil, 105},
		{"", &journal.Event{Type: journal.Spawned, Unit: "j", PID: 10, Time: at(101)}, 101, []string{"ping start GET http://ping.test/u/start"}, 161},
		{"a job without alerts: nothing", &journal.Event{Type: journal.Exited, Unit: "other", PID: 11, Code: code(1)}, 102, nil, 161},
		{"the job removed: forgotten", &journal.Event{Type: journal.Source, Op: journal.OpRemove, Unit: "j"}, 103, nil, -1},
	}
	for _, s := range steps {
		var got []Delivery
		if s.ev != nil {
			got = p.Observe(*s.ev, at(s.now))
		} else {
			got = p.Advance(at(s.now))
		}
		if diff := cmp.Diff(s.want, brief(got)); diff != "" {
			t.Errorf("%s (at %gs): deliveries (-want +got):\n%s", s.name, s.now, diff)
		}
		var want time.Time
		if s.next >= 0 {
			want = at(s.next)
		}
		if next := p.Next(); !next.Equal(want) {
			t.Errorf("%s: Next() = %v, want %v", s.name, next, want)
		}
	}
}
