// Package metrics exposes what a kopf daemon does as Prometheus metrics
// (docs/observability.md). Counters and histograms are fed by the daemon's
// event stream (Observe, an asynchronous subscriber: it never holds up the
// supervisor); the gauges of the units' present state — running, queued,
// next fire, health — are read from the supervisor's status at each
// scrape. Every series is labelled by the unit's name and kind, never by
// its command, and a unit removed by a reload leaves the output.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
	"github.com/kopf/kopf/runtime/web"
)

// Outcomes of a run, the values of kopf_runs_total's outcome label.
const (
	Success    = "success"
	Failure    = "failure"
	Timeout    = "timeout"
	Killed     = "killed"
	SpawnError = "spawn_error"
)

// Build is what kopf_build_info says of the binary.
type Build struct {
	Version, Revision, GoVersion string
}

// Metrics holds a daemon's metrics in a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	runs          *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	lateness      *prometheus.HistogramVec
	lastStart     *prometheus.GaugeVec
	lastSuccess   *prometheus.GaugeVec
	skipped       *prometheus.CounterVec
	missed        *prometheus.CounterVec
	restarts      *prometheus.CounterVec
	reloads       *prometheus.CounterVec
	reloadSuccess prometheus.Gauge
	dropped       prometheus.Counter
	// A cluster's (docs/cluster.md): claims by result, ownership changes,
	// fences.
	claims    *prometheus.CounterVec
	ownership *prometheus.CounterVec
	fenced    prometheus.Counter
	// scrapeErrors counts scrapes that failed, most of them aborted by
	// their client: counted, not logged, so that nobody can fill kopf's
	// journal by hanging up.
	scrapeErrors prometheus.Counter

	mu      sync.Mutex
	fired   map[string]time.Time // a job's last schedule fire not yet started: its instant
	started map[string]bool      // procs started once already, for restarts
}

// New returns the metrics of a daemon whose units' present state status
// returns (kopf status's) at each scrape; status must give up rather than
// hang when the supervisor does not answer.
func New(build Build, status func() ([]control.Unit, error)) *Metrics {
	unitKind := []string{"unit", "kind"}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_runs_total", Help: "Runs of a job or proc that ended, by outcome: success, failure, timeout, killed or spawn_error.",
		}, []string{"unit", "kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kopf_run_duration_seconds", Help: "How long runs took, from start to end.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 10),
		}, unitKind),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kopf_start_lateness_seconds", Help: "How late a schedule fire's run started: its start minus the fire's instant.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"unit"}),
		lastStart: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kopf_last_start_timestamp_seconds", Help: "When the unit's last run started, in seconds since the Unix epoch.",
		}, unitKind),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kopf_last_success_timestamp_seconds", Help: "When the unit's last successful run ended, in seconds since the Unix epoch.",
		}, unitKind),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_skipped_total", Help: "Schedule fires and triggers that started no run of their own (overlap, a run already queued).",
		}, []string{"unit"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_missed_total", Help: "Schedule fires no run started: kopf was down (catch-up), or in a cluster no member ran them.",
		}, []string{"unit"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_proc_restarts_total", Help: "Starts of a proc after its first in this daemon.",
		}, []string{"unit"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_config_reloads_total", Help: "Reloads of the config that changed something, by result: success or failure.",
		}, []string{"result"}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kopf_config_last_reload_success_timestamp_seconds", Help: "When the config was last applied, at start or by a reload, in seconds since the Unix epoch.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kopf_metrics_events_dropped_total", Help: "Events the metrics missed because their queue was full; counters may be low by as many.",
		}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_cluster_claims_total", Help: "Runs this member asked the cluster for, by result: granted or refused.",
		}, []string{"unit", "result"}),
		ownership: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kopf_cluster_ownership_changes_total", Help: "Units this member took or stopped owning, by change: gained or lost.",
		}, []string{"unit", "change"}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kopf_cluster_fenced_total", Help: "Times this member stopped acting for the cluster because no keep-alive was answered in time.",
		}),
		scrapeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kopf_http_scrape_errors_total", Help: "Scrapes of /metrics that failed, most of them because the client hung up before the answer was written.",
		}),
		fired:   map[string]time.Time{},
		started: map[string]bool{},
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kopf_build_info", Help: "Always 1; the labels say which kopf this is.",
		ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": build.GoVersion},
	})
	info.Set(1)
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.runs, m.duration, m.lateness, m.lastStart, m.lastSuccess,
		m.skipped, m.missed, m.restarts, m.reloads, m.reloadSuccess, m.dropped, info,
		m.claims, m.ownership, m.fenced, m.scrapeErrors,
		&stateCollector{status: status},
	)
	return m
}

// Handler serves the metrics. A scrape that fails — a client that hangs
// up mid-answer, above all — is counted in kopf_http_scrape_errors_total
// and logged at debug level only.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorLog: scrapeErrorLog{m.scrapeErrors, log}})
}

// scrapeErrorLog is promhttp's ErrorLog: it counts.
type scrapeErrorLog struct {
	n   prometheus.Counter
	log *slog.Logger
}

func (l scrapeErrorLog) Println(v ...any) {
	l.n.Inc()
	if l.log != nil {
		l.log.Debug(fmt.Sprint(v...))
	}
}

// WatchHTTP adds the counts of an HTTP server of kopf's (runtime/web) to
// the metrics, labelled server=name ("http" for --http, "health" for
// --health).
func (m *Metrics) WatchHTTP(name string, stats func() web.Stats) {
	m.Registry.MustRegister(&httpCollector{name: name, stats: stats})
}

var (
	httpOpenDesc        = prometheus.NewDesc("kopf_http_connections", "Connections open to kopf's HTTP server now.", []string{"server"}, nil)
	httpClosedDesc      = prometheus.NewDesc("kopf_http_connections_closed_total", "Connections kopf's HTTP server closed to stay within its caps: idle (closed to make room for a new one) or refused (its client had all its connections busy).", []string{"server", "reason"}, nil)
	httpMisdirectedDesc = prometheus.NewDesc("kopf_http_requests_misdirected_total", "Requests answered 421 because their Host header was not one of the server's names (--http-host).", []string{"server"}, nil)
)

type httpCollector struct {
	name  string
	stats func() web.Stats
}

func (c *httpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- httpOpenDesc
	ch <- httpClosedDesc
	ch <- httpMisdirectedDesc
}

func (c *httpCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(httpOpenDesc, prometheus.GaugeValue, float64(st.Open), c.name)
	ch <- prometheus.MustNewConstMetric(httpClosedDesc, prometheus.CounterValue, float64(st.Evicted), c.name, "idle")
	ch <- prometheus.MustNewConstMetric(httpClosedDesc, prometheus.CounterValue, float64(st.Refused), c.name, "refused")
	ch <- prometheus.MustNewConstMetric(httpMisdirectedDesc, prometheus.CounterValue, float64(st.Misdirected), c.name)
}

// Subscribe makes m an asynchronous subscriber of s; call it before the
// first Publish.
func (m *Metrics) Subscribe(s *stream.Stream) {
	keep := func(ev journal.Event) bool { return !ev.Loads() } // only a removal counts
	s.SubscribeWhere("metrics", 4096, keep, func(d stream.Delivery) {
		if d.Missed > 0 {
			m.dropped.Add(float64(d.Missed))
		}
		m.Observe(d.Event)
	})
}

// Observe counts one event.
func (m *Metrics) Observe(ev journal.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kind := string(ev.Kind)
	switch ev.Type {
	case journal.Fired:
		m.fired[ev.Unit] = ev.At
	case journal.Spawned:
		m.lastStart.WithLabelValues(ev.Unit, kind).Set(seconds(ev.Time))
		if at, ok := m.fired[ev.Unit]; ok {
			m.lateness.WithLabelValues(ev.Unit).Observe(max(0, ev.Time.Sub(at).Seconds()))
			delete(m.fired, ev.Unit)
		}
		if ev.Kind == journal.KindProc {
			if m.started[ev.Unit] {
				m.restarts.WithLabelValues(ev.Unit).Inc()
			}
			m.started[ev.Unit] = true
		}
	case journal.SpawnError:
		m.runs.WithLabelValues(ev.Unit, kind, SpawnError).Inc()
	case journal.Exited:
		outcome := outcomeOf(ev)
		m.runs.WithLabelValues(ev.Unit, kind, outcome).Inc()
		m.duration.WithLabelValues(ev.Unit, kind).Observe(ev.Seconds)
		if outcome == Success {
			m.lastSuccess.WithLabelValues(ev.Unit, kind).Set(seconds(ev.Time))
		}
	case journal.Skipped:
		m.skipped.WithLabelValues(ev.Unit).Inc()
	case journal.Missed:
		m.missed.WithLabelValues(ev.Unit).Add(float64(max(1, ev.Count)))
	case journal.Source:
		if ev.Op == "remove" {
			m.forget(ev.Unit)
		}
	case journal.Claimed:
		m.claims.WithLabelValues(ev.Unit, "granted").Inc()
	case journal.ClaimRefused:
		m.claims.WithLabelValues(ev.Unit, "refused").Inc()
	case journal.OwnerGained:
		m.ownership.WithLabelValues(ev.Unit, "gained").Inc()
	case journal.OwnerLost:
		m.ownership.WithLabelValues(ev.Unit, "lost").Inc()
	case journal.Fenced:
		m.fenced.Inc()
	case journal.Reloaded:
		m.applied(ev.Error == "", ev.Reason == journal.ReloadStart, ev.Time)
	}
}

// forget removes a unit's series: a unit removed by a reload leaves the
// output.
func (m *Metrics) forget(unit string) {
	l := prometheus.Labels{"unit": unit}
	m.runs.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.lateness.DeletePartialMatch(l)
	m.lastStart.DeletePartialMatch(l)
	m.lastSuccess.DeletePartialMatch(l)
	m.skipped.DeletePartialMatch(l)
	m.missed.DeletePartialMatch(l)
	m.restarts.DeletePartialMatch(l)
	m.claims.DeletePartialMatch(l)
	m.ownership.DeletePartialMatch(l)
	delete(m.fired, unit)
	delete(m.started, unit)
}

// applied counts a reload that changed the config (ok: it was applied),
// or the config applied at start (start: true).
func (m *Metrics) applied(ok, start bool, at time.Time) {
	if ok {
		m.reloadSuccess.Set(seconds(at))
	}
	if start {
		return
	}
	result := "success"
	if !ok {
		result = "failure"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// outcomeOf says how a run ended.
func outcomeOf(ev journal.Event) string {
	switch {
	case ev.StoppedBy == "timeout":
		return Timeout
	case ev.Signal != "":
		return Killed
	case ev.Code != nil && *ev.Code == 0:
		return Success
	}
	return Failure
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// stateCollector reads the units' present state from the supervisor at
// each scrape.
type stateCollector struct {
	status func() ([]control.Unit, error)
}

var (
	runningDesc  = prometheus.NewDesc("kopf_running", "1 while a process of the unit runs, else 0.", []string{"unit", "kind"}, nil)
	queuedDesc   = prometheus.NewDesc("kopf_queued", "Reasons a job's next run waits for (schedule fires, triggers), 0 when none.", []string{"unit"}, nil)
	nextFireDesc = prometheus.NewDesc("kopf_next_fire_timestamp_seconds", "A job's next schedule fire, in seconds since the Unix epoch; absent for a job without one.", []string{"unit"}, nil)
	healthDesc   = prometheus.NewDesc("kopf_health_up", "1 while a checked proc is healthy and its last check passed, 0 while it is starting or its checks fail; absent without checks or while snoozed.", []string{"unit"}, nil)
	statusDesc   = prometheus.NewDesc("kopf_status_up", "1 when the supervisor answered for this scrape, 0 when it did not (the unit gauges are then absent).", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runningDesc
	ch <- queuedDesc
	ch <- nextFireDesc
	ch <- healthDesc
	ch <- statusDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	units, err := c.status()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, 1)
	for _, u := range units {
		running := 0.0
		if u.PID != 0 {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, running, u.Name, u.Kind)
		if u.Kind == "job" {
			ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(len(u.Queued)), u.Name)
			if !u.NextFire.IsZero() {
				ch <- prometheus.MustNewConstMetric(nextFireDesc, prometheus.GaugeValue, seconds(u.NextFire), u.Name)
			}
		}
		if u.Health != "" && u.Health != "snoozed" {
			up := 0.0
			if u.Health == "healthy" && (u.LastCheck == nil || u.LastCheck.Error == "") {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, up, u.Name)
		}
	}
}
