package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
)

// sent records the requests an Alerter makes, on the bubble's clock.
type sent struct {
	mu     sync.Mutex
	epoch  time.Time
	lines  []string
	bodies []Body
	fail   int // fail this many sends first
}

func (s *sent) send(req *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return fmt.Errorf("connection refused")
	}
	line := fmt.Sprintf("%g %s %s", time.Since(s.epoch).Seconds(), req.Method, req.URL)
	if req.Body != nil {
		var b Body
		raw, _ := io.ReadAll(req.Body)
		json.Unmarshal(raw, &b)
		s.bodies = append(s.bodies, b)
		line += " " + b.Condition
	}
	s.lines = append(s.lines, line)
	return nil
}

func (s *sent) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(slices.Values(s.lines))
}

// TestAlerts feeds a job's events on the bubble's clock: a failure, the
// recovery, a fire whose run starts too late (missed), a run past its
// expect-duration (overdue), a skipped fire, and the pings of each run.
func TestAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sent{epoch: time.Now()}
		cfg := &config.Alert{Webhook: "http://hooks.test/kopf", Ping: "http://hc.test/ping/abc", Grace: time.Minute, ExpectDuration: 10 * time.Minute}
		var mu sync.Mutex
		var journaled []string
		a := New(Options{
			Lookup: func(job string) (*config.Alert, string) {
				if job == "backup" {
					return cfg, "Backup"
				}
				return nil, ""
			},
			Send:     s.send,
			Hostname: "web1",
			Record: func(evs ...journal.Event) {
				mu.Lock()
				defer mu.Unlock()
				for _, ev := range evs {
					journaled = append(journaled, ev.Sink+" "+ev.Reason+" "+string(ev.Action))
				}
			},
		})
		at := func(sec float64) time.Time { return s.epoch.Add(time.Duration(sec * float64(time.Second))) }
		code := func(c int) *int { return &c }
		step := func(sec float64, ev journal.Event) {
			time.Sleep(time.Until(at(sec)))
			ev.Time, ev.Unit, ev.Kind = time.Now(), "backup", journal.KindJob
			a.Observe(ev)
			synctest.Wait()
		}
		step(0, journal.Event{Type: journal.Fired, At: at(0)})
		step(1, journal.Event{Type: journal.Spawned, PID: 1})
		step(3, journal.Event{Type: journal.Exited, PID: 1, Code: code(3), Seconds: 2})
		step(100, journal.Event{Type: journal.Fired, At: at(100)})
		step(101, journal.Event{Type: journal.Spawned, PID: 2})
		step(102, journal.Event{Type: journal.Exited, PID: 2, Code: code(0), Seconds: 1})
		// A fire whose run cannot start (the job runs long): missed at 260.
		step(200, journal.Event{Type: journal.Fired, At: at(200)})
		step(300, journal.Event{Type: journal.Spawned, PID: 3})
		// Overdue 10 minutes after its start, at 900.
		step(1000, journal.Event{Type: journal.Skipped, At: at(1000), Reason: "overlap is skip"})
		step(1001, journal.Event{Type: journal.Exited, PID: 3, Code: code(0), Seconds: 701})
		// A job without alerts sends nothing.
		a.Observe(journal.Event{Type: journal.Exited, Unit: "other", Kind: journal.KindJob, PID: 9, Code: code(1)})
		synctest.Wait()
		want := []string{
			"1 GET http://hc.test/ping/abc/start",
			"101 GET http://hc.test/ping/abc/start",
			"102 GET http://hc.test/ping/abc",
			"102 POST http://hooks.test/kopf recovery",
			"1000 POST http://hooks.test/kopf missed",
			"1001 GET http://hc.test/ping/abc",
			"260 POST http://hooks.test/kopf missed",
			"3 GET http://hc.test/ping/abc/3",
			"3 POST http://hooks.test/kopf failure",
			"300 GET http://hc.test/ping/abc/start",
			"900 POST http://hooks.test/kopf overdue",
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, s.got()); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		failure := s.bodies[0]
		if failure.Condition != Failure || failure.Text != "kopf: Backup failed on web1: exit 3 after 2s" || *failure.ExitCode != 3 || failure.Host != "web1" {
			t.Errorf("the failure's body: %+v", failure)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(journaled, "webhook failure sent") || !slices.Contains(journaled, "ping start sent") {
			t.Errorf("journaled %q", journaled)
		}
	})
}

// TestAlertRetries: a failing sink is retried after each backoff, then
// dropped, and every attempt is journaled; it holds up nothing else.
func TestAlertRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sent{epoch: time.Now(), fail: 10}
		var mu sync.Mutex
		var journaled []string
		a := New(Options{
			Lookup: func(string) (*config.Alert, string) { return &config.Alert{Webhook: "http://hooks.test/k"}, "j" },
			Send:   s.send, Backoff: []time.Duration{time.Second, 5 * time.Second},
			Record: func(evs ...journal.Event) {
				mu.Lock()
				defer mu.Unlock()
				for _, ev := range evs {
					journaled = append(journaled, fmt.Sprintf("%g %s %d", time.Since(s.epoch).Seconds(), ev.Action, ev.Count))
				}
			},
		})
		code := 1
		a.Observe(journal.Event{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, Time: time.Now(), Code: &code})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]string{"0 retry 1", "1 retry 2", "6 dropped 3"}, journaled); diff != "" {
			t.Errorf("journaled (-want +got):\n%s", diff)
		}
	})
}

// TestClose: Close waits for the deliveries in flight and journals those
// it gives up on when its time runs out — a sink that hangs, and one in
// its backoff — as dropped; a delivery that ends in time is sent. After
// Close nothing is sent or journaled.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		epoch := time.Now()
		var mu sync.Mutex
		var journaled []string
		hang := make(chan struct{})
		a := New(Options{
			Lookup: func(job string) (*config.Alert, string) {
				return map[string]*config.Alert{
					"slow":  {Webhook: "http://slow.test/k"},
					"quick": {Webhook: "http://quick.test/k"},
					"flaky": {Webhook: "http://flaky.test/k"},
				}[job], job
			},
			Backoff: []time.Duration{30 * time.Second},
			Send: func(req *http.Request) error {
				switch req.URL.Host {
				case "slow.test":
					select {
					case <-hang:
					case <-req.Context().Done():
						return req.Context().Err()
					}
				case "quick.test":
					time.Sleep(2 * time.Second)
				case "flaky.test":
					return fmt.Errorf("connection refused")
				}
				return nil
			},
			Record: func(evs ...journal.Event) {
				mu.Lock()
				defer mu.Unlock()
				for _, ev := range evs {
					journaled = append(journaled, fmt.Sprintf("%g %s %s %s", time.Since(epoch).Seconds(), ev.Unit, ev.Action, ev.Error))
				}
			},
		})
		code := 1
		for _, job := range []string{"slow", "quick", "flaky"} {
			a.Observe(journal.Event{Type: journal.Exited, Unit: job, Kind: journal.KindJob, Time: time.Now(), Code: &code})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
		a.Observe(journal.Event{Type: journal.Exited, Unit: "quick", Kind: journal.KindJob, Time: time.Now(), Code: &code})
		close(hang)
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		want := []string{
			"0 flaky retry connection refused",
			"2 quick sent ",
			"5 flaky dropped kopf stopped before it was delivered",
			"5 slow dropped kopf stopped before it was delivered",
		}
		slices.Sort(journaled)
		if diff := cmp.Diff(want, journaled); diff != "" {
			t.Errorf("journaled (-want +got):\n%s", diff)
		}
	})
}

// TestMissedEvents: events the alerts' queue could not take are journaled
// as dropped alerts, with how many; the event after them is acted on.
func TestMissedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sent{epoch: time.Now()}
		var journaled []string
		a := New(Options{
			Lookup: func(string) (*config.Alert, string) { return &config.Alert{Webhook: "http://hooks.test/k"}, "j" },
			Send:   s.send,
			Record: func(evs ...journal.Event) {
				for _, ev := range evs {
					journaled = append(journaled, ev.Sink+" "+string(ev.Action)+": "+ev.Error)
				}
			},
		})
		code := 1
		a.delivered(stream.Delivery{Missed: 7, Event: journal.Event{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, Time: time.Now(), Code: &code}})
		synctest.Wait()                         // the failure's webhook goes out on its own goroutine
		a.delivered(stream.Delivery{Missed: 2}) // the last word of a closing stream
		synctest.Wait()
		want := []string{
			"alerts dropped: 7 events missed: the alerts' queue was full; their alerts were not sent",
			"webhook sent: ",
			"alerts dropped: 2 events missed: the alerts' queue was full; their alerts were not sent",
		}
		if diff := cmp.Diff(want, journaled); diff != "" {
			t.Errorf("journaled (-want +got):\n%s", diff)
		}
		if got := s.got(); len(got) != 1 {
			t.Errorf("sent %q, want the one failure", got)
		}
	})
}

// TestSourceEventsOfOtherJobs: a load of many jobs without alerts makes a
// Source event each; the Alerter's queue takes none of them, so it misses
// nothing, while a followed job's removal still reaches it.
func TestSourceEventsOfOtherJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var journaled []string
		alerts := map[string]*config.Alert{"backup": {Webhook: "http://hooks.test/k", Grace: time.Minute}}
		a := New(Options{
			Lookup: func(job string) (*config.Alert, string) {
				mu.Lock()
				defer mu.Unlock()
				return alerts[job], job
			},
			Send: (&sent{epoch: time.Now()}).send,
			Record: func(evs ...journal.Event) {
				mu.Lock()
				defer mu.Unlock()
				for _, ev := range evs {
					journaled = append(journaled, ev.Unit+" "+ev.Sink+" "+ev.Reason+" "+string(ev.Action)+" "+ev.Error)
				}
			},
		})
		s := stream.New()
		a.Subscribe(s)
		s.Publish(journal.Event{Type: journal.Fired, Unit: "backup", Kind: journal.KindJob, Time: time.Now(), At: time.Now()})
		var load []journal.Event
		for i := range 10000 {
			load = append(load, journal.Event{Type: journal.Source, Unit: fmt.Sprintf("job%d", i), Kind: journal.KindJob, Op: "add"})
		}
		s.Publish(load...)
		// backup leaves the config: its pending fire is no longer missed.
		mu.Lock()
		delete(alerts, "backup")
		mu.Unlock()
		s.Publish(journal.Event{Type: journal.Source, Unit: "backup", Kind: journal.KindJob, Op: "remove"})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		s.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(journaled) != 0 {
			t.Errorf("journaled %q, want nothing: no event missed, and no missed alert for a job gone", journaled)
		}
		if _, ok := a.followed.Load("backup"); ok {
			t.Error("backup's removal did not reach the Alerter: it still follows backup")
		}
	})
}

// TestSecretsStayOutOfTheJournal: a webhook or ping that cannot be
// delivered is journaled as scheme://host/…: its path and query (a Slack
// webhook's path, a healthchecks.io UUID) and its user never.
func TestSecretsStayOutOfTheJournal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: every delivery fails
	var mu sync.Mutex
	var journaled []journal.Event
	a := New(Options{
		Lookup: func(string) (*config.Alert, string) {
			return &config.Alert{
				Webhook: "http://hook:s3cret-pass@" + dead + "/services/T0/B0/s3cret-path?token=s3cret-query",
				Ping:    "http://" + dead + "/ping/s3cret-uuid",
			}, "j"
		},
		Backoff: []time.Duration{time.Millisecond},
		Record: func(evs ...journal.Event) {
			mu.Lock()
			defer mu.Unlock()
			journaled = append(journaled, evs...)
		},
	})
	code := 1
	a.Observe(journal.Event{Type: journal.Spawned, Unit: "j", Kind: journal.KindJob, PID: 7, Time: time.Now()})
	a.Observe(journal.Event{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, PID: 7, Time: time.Now(), Code: &code})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	failed := 0
	for _, ev := range journaled {
		line, _ := json.Marshal(ev)
		if strings.Contains(string(line), "s3cret") {
			t.Errorf("a secret of the URL is in the journal: %s", line)
		}
		if ev.Error != "" {
			failed++
			if !strings.Contains(ev.Error, "http://"+dead+"/…") {
				t.Errorf("the error does not say which sink failed: %q", ev.Error)
			}
		}
	}
	if failed < 4 { // the webhook and two pings, each tried twice
		t.Errorf("%d failed deliveries journaled, want the webhook's and the pings' (%d events)", failed, len(journaled))
	}
}
