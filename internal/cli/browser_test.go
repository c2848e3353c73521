package cli_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kopf/kopf/runtime/journal"
)

// chromium finds a headless browser for the status page's test: Debian's
// chromium, which .ci/run installs when it is missing.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium here (Debian's chromium package; .ci/run installs it)")
	return ""
}

// TestStatusPageInABrowser drives headless Chromium against a daemon with
// a few jobs and a proc: the table lists them, the timeline has a bar per
// finished run and a tick per coming fire, the page is accessible enough
// (captions, header scopes, labels, contrast), actions are refused without
// the token and work after logging in; it saves a screenshot.
func TestStatusPageInABrowser(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret-s3cret-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, "kopf.json", `{
		"procs": {"web": {"command": "sleep 600", "ports": "http"}},
		"jobs": {
			"tick": {"command": "true", "schedule": "every 1s"},
			"bad": {"command": "exit 3", "run-on-start": true},
			"hourly": {"command": "true", "schedule": "every 1h"},
			"talk": {"command": "echo 'hello <b>world</b>'", "run-on-start": true, "log-output": true}
		}}`)
	d, sock := controlled(t, dir, cfg, "--http=127.0.0.1:0", "--http-token="+token)
	var page string
	waitFor(t, "the page", d, func() bool {
		for _, m := range d.logs() {
			if u, _, ok := strings.Cut(strings.TrimPrefix(m, "kopf's page at "), ", metrics"); ok && u != m {
				page = u
				return true
			}
		}
		return false
	})
	exited := func(unit string) int {
		n := 0
		for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
			if ev.Type == journal.Exited && ev.Unit == unit {
				n++
			}
		}
		return n
	}
	waitFor(t, "three runs of tick", d, func() bool { return exited("tick") >= 3 && exited("bad") == 1 && exited("talk") == 1 })
	// Stopped, tick runs no more: the page and the journal can agree.
	if out, errs, code := client(t, sock, "stop", "tick"); code != 0 {
		t.Fatalf("kopf stop tick: %s%s", out, errs)
	}
	ticks := exited("tick")

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#units"))); err != nil {
		t.Fatal(err)
	}
	units := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#units tr.unit')].map(r => r.dataset.unit)`)
	tickBars := evalJS[int](t, ctx, `document.querySelectorAll('g.row[data-unit="tick"] rect.run.success').length`)
	badBars := evalJS[int](t, ctx, `document.querySelectorAll('g.row[data-unit="bad"] rect.run.failure').length`)
	hourlyTicks := evalJS[int](t, ctx, `document.querySelectorAll('g.row[data-unit="hourly"] line.fire').length`)
	buttons := evalJS[int](t, ctx, `document.querySelectorAll('button[aria-label^="trigger"]').length`)
	captions := evalJS[int](t, ctx, `[...document.querySelectorAll('table')].filter(t => t.caption).length`)
	unscoped := evalJS[int](t, ctx, `[...document.querySelectorAll('th')].filter(h => !h.scope).length`)
	unlabelled := evalJS[int](t, ctx, `[...document.querySelectorAll('input:not([type=hidden])')].filter(i => !document.querySelector('label[for="'+i.id+'"]')).length`)
	svgRole := evalJS[string](t, ctx, `document.querySelector('#timeline').getAttribute('role')`)
	fg := evalJS[string](t, ctx, `getComputedStyle(document.body).color`)
	bg := evalJS[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
	failColor := evalJS[string](t, ctx, `getComputedStyle(document.querySelector('tr[data-unit="bad"] td:nth-child(7)')).color`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(units, " ") != "bad hourly talk tick web" {
		t.Errorf("the table lists %q", units)
	}
	if tickBars != ticks || badBars != 1 {
		t.Errorf("timeline: %d bars for tick's %d runs, %d for bad's 1 failure", tickBars, ticks, badBars)
	}
	if hourlyTicks < 6 || hourlyTicks > 7 {
		t.Errorf("timeline: %d ticks for hourly's fires of the next 6 hours, want 6", hourlyTicks)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('g.row[data-unit="tick"] line.fire').length`); n != 0 {
		t.Errorf("timeline: %d coming fires for the stopped tick", n)
	}
	if buttons != 0 {
		t.Errorf("%d action buttons before logging in", buttons)
	}
	if captions != 2 || unscoped != 0 || unlabelled != 0 || svgRole != "img" {
		t.Errorf("accessibility: %d captioned tables (want 2), %d th without scope, %d inputs without a label, svg role %q", captions, unscoped, unlabelled, svgRole)
	}
	if r := contrast(fg, bg); r < 7 {
		t.Errorf("body text contrast %.1f:1 (%s on %s), want at least 7:1", r, fg, bg)
	}
	if r := contrast(failColor, bg); r < 4.5 {
		t.Errorf("failure text contrast %.1f:1, want at least 4.5:1", r)
	}
	artifacts := os.Getenv("KOPF_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	shotPath := filepath.Join(artifacts, "status-page.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", shotPath)
	if docs := os.Getenv("KOPF_SCREENSHOT"); docs != "" { // docs/status-page.png
		os.WriteFile(docs, shot, 0o644)
	}

	// A unit's page: its run, and the tail of its output, as text.
	if err := chromedp.Do(ctx, chromedp.Navigate(page+"units/talk"), chromedp.WaitVisible(chromedp.CSS("#output"))); err != nil {
		t.Fatal(err)
	}
	if out := evalJS[string](t, ctx, `document.querySelector('#output').textContent`); out != "hello <b>world</b>\n" {
		t.Errorf("talk's output on its page: %q", out)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('#runs tr.run').length`); n != 1 {
		t.Errorf("talk's page lists %d runs, want 1", n)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}

	// Without the token, an action is refused; logged in, the page's
	// button starts tick again.
	status := evalJS[int](t, ctx, `fetch('/api/units/tick/start', {method: 'POST'}).then(r => r.status)`, chromedp.EvalAwaitPromise)
	if status != 401 {
		t.Errorf("an action without the token answered %d, want 401", status)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), "s3cret-s3cret-s3cret"),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="start tick"]`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="start tick"]`)),
		chromedp.WaitVisible(chromedp.CSS("#runs")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tick to run again", d, func() bool { return exited("tick") > ticks })
}

// evalJS evaluates a script in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, script string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, opts...))
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return v
}

// contrast is the WCAG contrast ratio of two CSS rgb() colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(css string) float64 {
	css = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(css, "rgba("), "rgb("), ")")
	parts := strings.Split(css, ",")
	if len(parts) < 3 {
		return 0
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		c, _ := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		c /= 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}
