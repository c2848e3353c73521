package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs url and parses it as Prometheus' text format.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the metrics do not parse: %v\n%s", err, body)
	}
	return families, body
}

// value is the value of the family's series with labels (name=value
// pairs), and whether there is one.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, nv := range labels {
			n, v, _ := strings.Cut(nv, "=")
			if have[n] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics scrapes a real daemon's /metrics: runs by outcome, the
// present state, the next fire, lateness, build info and the Go and
// process collectors; a unit removed by a reload leaves the output; and
// the output passes promtool check metrics (promlint without promtool).
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "kopf.json", `{
		"procs": {"web": {"command": "sleep 600"}},
		"jobs": {
			"ok": {"command": "true", "run-on-start": true},
			"bad": {"command": "exit 3", "run-on-start": true},
			"tick": {"command": "true", "schedule": "every 1s"},
			"slow": {"command": "sleep 600", "run-on-start": true}
		}}`)
	d := startKopfWith(t, "--http=127.0.0.1:0", cfg)
	var url string
	waitFor(t, "the metrics endpoint", d, func() bool {
		for _, m := range d.logs() {
			if _, u, ok := strings.Cut(m, ", metrics at "); ok {
				url = u
				return true
			}
		}
		return false
	})
	var families map[string]*dto.MetricFamily
	var body []byte
	waitFor(t, "two runs of tick", d, func() bool {
		families, body = scrape(t, url)
		n, _ := value(families, "kopf_runs_total", "unit=tick", "outcome=success")
		return n >= 2
	})
	checks := []struct {
		name   string
		labels []string
		want   func(float64) bool
	}{
		{"kopf_runs_total", []string{"unit=ok", "kind=job", "outcome=success"}, func(v float64) bool { return v == 1 }},
		{"kopf_runs_total", []string{"unit=bad", "kind=job", "outcome=failure"}, func(v float64) bool { return v == 1 }},
		{"kopf_running", []string{"unit=slow", "kind=job"}, func(v float64) bool { return v == 1 }},
		{"kopf_running", []string{"unit=web", "kind=proc"}, func(v float64) bool { return v == 1 }},
		{"kopf_running", []string{"unit=ok"}, func(v float64) bool { return v == 0 }},
		{"kopf_next_fire_timestamp_seconds", []string{"unit=tick"}, func(v float64) bool {
			return v > float64(time.Now().Add(-2*time.Second).Unix()) && v <= float64(time.Now().Add(2*time.Second).Unix())
		}},
		{"kopf_start_lateness_seconds", []string{"unit=tick"}, func(v float64) bool { return v >= 1 }},
		{"kopf_run_duration_seconds", []string{"unit=ok", "kind=job"}, func(v float64) bool { return v == 1 }},
		{"kopf_last_success_timestamp_seconds", []string{"unit=ok"}, func(v float64) bool { return v > float64(time.Now().Add(-time.Minute).Unix()) }},
		{"kopf_queued", []string{"unit=tick"}, func(v float64) bool { return v == 0 }},
		{"kopf_config_last_reload_success_timestamp_seconds", nil, func(v float64) bool { return v > 0 }},
		{"kopf_build_info", nil, func(v float64) bool { return v == 1 }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
		{"process_cpu_seconds_total", nil, func(v float64) bool { return v >= 0 }},
	}
	for _, c := range checks {
		if v, ok := value(families, c.name, c.labels...); !ok || !c.want(v) {
			t.Errorf("%s%v = %v (present %t)", c.name, c.labels, v, ok)
		}
	}
	if strings.Contains(string(body), "sleep") || strings.Contains(string(body), "exit 3") {
		t.Error("a metric is labelled with a command")
	}
	lint(t, body)

	// bad goes: its series go too, and the reload is counted.
	writeConfig(t, dir, "kopf.json", `{
		"procs": {"web": {"command": "sleep 600"}},
		"jobs": {"ok": {"command": "true", "run-on-start": true}, "tick": {"command": "true", "schedule": "every 1s"}, "slow": {"command": "sleep 600", "run-on-start": true}}}`)
	waitFor(t, "the reload", d, func() bool {
		families, _ = scrape(t, url)
		n, _ := value(families, "kopf_config_reloads_total", "result=success")
		return n == 1
	})
	if _, ok := value(families, "kopf_runs_total", "unit=bad"); ok {
		t.Error("the removed job bad is still in the metrics")
	}
	if _, ok := value(families, "kopf_runs_total", "unit=ok"); !ok {
		t.Error("the kept job ok left the metrics")
	}
	d.stop()
}

// lint checks the exposition with promtool check metrics, or with
// client_golang's promlint (the same rules) when promtool is not
// installed (Debian's prometheus package has it).
func lint(t *testing.T, body []byte) {
	t.Helper()
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
		return
	}
	t.Log("promtool is not installed: checking with promlint")
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
