package metrics

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
	"github.com/kopf/kopf/runtime/web"
)

// TestObserve: outcomes, lateness from the fire's instant, proc restarts,
// misses counted with their count, and a removed unit's series gone.
func TestObserve(t *testing.T) {
	m := New(Build{Version: "v1"}, func() ([]control.Unit, error) { return nil, nil })
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	code := func(c int) *int { return &c }
	for _, ev := range []journal.Event{
		{Type: journal.Fired, Unit: "j", At: t0},
		{Type: journal.Spawned, Unit: "j", Kind: journal.KindJob, PID: 1, Time: t0.Add(250 * time.Millisecond)},
		{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, PID: 1, Code: code(0), Seconds: 2, Time: t0.Add(3 * time.Second)},
		{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, PID: 2, Code: code(1), Seconds: 1},
		{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, PID: 3, Signal: "SIGKILL", StoppedBy: "timeout"},
		{Type: journal.Exited, Unit: "j", Kind: journal.KindJob, PID: 4, Signal: "SIGTERM"},
		{Type: journal.SpawnError, Unit: "j", Kind: journal.KindJob},
		{Type: journal.Spawned, Unit: "p", Kind: journal.KindProc, PID: 5},
		{Type: journal.Spawned, Unit: "p", Kind: journal.KindProc, PID: 6},
		{Type: journal.Missed, Unit: "j", Count: 3},
		{Type: journal.Missed, Unit: "j"},
		{Type: journal.OwnerGained, Unit: "j", Epoch: 7},
		{Type: journal.Claimed, Unit: "j", Fence: 9},
		{Type: journal.Claimed, Unit: "j", Fence: 11},
		{Type: journal.ClaimRefused, Unit: "j"},
		{Type: journal.Fenced},
		{Type: journal.OwnerLost, Unit: "j", Epoch: 7},
	} {
		m.Observe(ev)
	}
	for outcome, want := range map[string]float64{Success: 1, Failure: 1, Timeout: 1, Killed: 1, SpawnError: 1} {
		if got := testutil.ToFloat64(m.runs.WithLabelValues("j", "job", outcome)); got != want {
			t.Errorf("runs %s = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(m.restarts.WithLabelValues("p")); got != 1 {
		t.Errorf("restarts = %v, want 1 (the second start)", got)
	}
	if got := testutil.ToFloat64(m.missed.WithLabelValues("j")); got != 4 {
		t.Errorf("missed = %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.lastSuccess.WithLabelValues("j", "job")); got != float64(t0.Add(3*time.Second).Unix()) {
		t.Errorf("last success = %v", got)
	}
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.claims.WithLabelValues("j", "granted")), 2, "granted claims"},
		{testutil.ToFloat64(m.claims.WithLabelValues("j", "refused")), 1, "refused claims"},
		{testutil.ToFloat64(m.ownership.WithLabelValues("j", "gained")), 1, "gains"},
		{testutil.ToFloat64(m.ownership.WithLabelValues("j", "lost")), 1, "losses"},
		{testutil.ToFloat64(m.fenced), 1, "fences"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.lateness); n != 1 {
		t.Errorf("%d lateness series, want 1", n)
	}
	m.Observe(journal.Event{Type: journal.Source, Op: "remove", Unit: "j"})
	if n := testutil.CollectAndCount(m.runs); n != 0 {
		t.Errorf("%d runs series after j was removed, want 0", n)
	}
}

// TestLoadOfManyUnits: a load's Source events (one a unit) do not reach
// the metrics' queue, so a start with many units drops no event; a
// removal does, and forgets the unit's series.
func TestLoadOfManyUnits(t *testing.T) {
	m := New(Build{Version: "v1"}, func() ([]control.Unit, error) { return nil, nil })
	s := stream.New()
	m.Subscribe(s)
	s.Publish(journal.Event{Type: journal.Missed, Unit: "old", Count: 2})
	m.mu.Lock() // the metrics are busy: their queue fills
	var load []journal.Event
	for i := range 10000 {
		load = append(load, journal.Event{Type: journal.Source, Unit: fmt.Sprintf("job%d", i), Kind: journal.KindJob, Op: "add"})
	}
	s.Publish(load...)
	s.Publish(journal.Event{Type: journal.Source, Unit: "old", Kind: journal.KindJob, Op: "remove"})
	m.mu.Unlock()
	s.Close()
	if got := testutil.ToFloat64(m.dropped); got != 0 {
		t.Errorf("events dropped = %v, want 0", got)
	}
	if n := testutil.CollectAndCount(m.missed); n != 0 {
		t.Errorf("%d missed series after old's removal, want 0", n)
	}
}

// hungUp is a ResponseWriter whose client has hung up: every write fails.
type hungUp struct{ header http.Header }

func (w *hungUp) Header() http.Header       { return w.header }
func (w *hungUp) WriteHeader(int)           {}
func (w *hungUp) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestScrapeErrorsAreCountedNotLogged: a scrape whose client hung up is
// counted in kopf_http_scrape_errors_total, and logs nothing above debug
// (kopf's warnings go to the journal, which a client must not fill).
func TestScrapeErrorsAreCountedNotLogged(t *testing.T) {
	m := New(Build{}, func() ([]control.Unit, error) { return nil, nil })
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := m.Handler(log)
	for range 3 {
		h.ServeHTTP(&hungUp{header: http.Header{}}, httptest.NewRequest("GET", "/metrics", nil))
	}
	if got := testutil.ToFloat64(m.scrapeErrors); got != 3 {
		t.Errorf("kopf_http_scrape_errors_total = %v after 3 hung-up scrapes, want 3", got)
	}
	if logged.Len() > 0 {
		t.Errorf("hung-up scrapes logged above debug:\n%s", logged.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "kopf_http_scrape_errors_total 3") {
		t.Errorf("a good scrape does not show the count:\n%s", rec.Body.String())
	}
}

// TestWatchHTTP: an HTTP server's counts are series labelled with its
// name.
func TestWatchHTTP(t *testing.T) {
	m := New(Build{}, func() ([]control.Unit, error) { return nil, nil })
	m.WatchHTTP("http", func() web.Stats { return web.Stats{Open: 3, Evicted: 5, Refused: 7, Misdirected: 11} })
	rec := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`kopf_http_connections{server="http"} 3`,
		`kopf_http_connections_closed_total{reason="idle",server="http"} 5`,
		`kopf_http_connections_closed_total{reason="refused",server="http"} 7`,
		`kopf_http_requests_misdirected_total{server="http"} 11`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %s in:\n%s", want, rec.Body.String())
		}
	}
}

// TestReloadedEvents: the config's applications reach the metrics as
// events: the start sets the last success, a reload counts by result.
func TestReloadedEvents(t *testing.T) {
	m := New(Build{}, func() ([]control.Unit, error) { return nil, nil })
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	m.Observe(journal.Event{Type: journal.Reloaded, Reason: journal.ReloadStart, Time: t0})
	m.Observe(journal.Event{Type: journal.Reloaded, Reason: "1 restarted (a)", Time: t0.Add(time.Minute)})
	m.Observe(journal.Event{Type: journal.Reloaded, Error: "no", Time: t0.Add(2 * time.Minute)})
	if got := testutil.ToFloat64(m.reloadSuccess); got != float64(t0.Add(time.Minute).Unix()) {
		t.Errorf("last success = %v, want the successful reload's time", got)
	}
	for result, want := range map[string]float64{"success": 1, "failure": 1} {
		if got := testutil.ToFloat64(m.reloads.WithLabelValues(result)); got != want {
			t.Errorf("reloads{%s} = %v, want %v (the start is not a reload)", result, got, want)
		}
	}
}
