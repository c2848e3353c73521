package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// fuzzSeeds are the documents' examples and inputs that sit on the edges
// of the lexer and the grammar.
func fuzzSeeds() []string {
	seeds := []string{
		monthly, workdays, mondays, fiveMin,
		"", " ", "\n", "#", "# only a comment", "@", "@ ", "every", "every ", "in", "in UTC",
		"*/", "*/0", "*/1001", "1-", "-1", "1-2-3", "5-2 * * * *", "sat-sun", "5/2 * * * *",
		"*", "* *", "* * *", "* * * *", "* * * * * *", "* * * * * chrome-bot",
		"@ 25:00", "@ 24:00", "@ 23:59:59", "@ 1:2", "@ 04:15", "@ 4:15", "@ 04:15:60",
		"every 10m @ 10:00-10:00", "every 1d @ 23:30-00:30", "every 0m", "every 0d", "every 25h",
		"every 7m", "every 90m", "every 2d", "every 2w", "every 1w @ 6d23h59m59s", "every year @ 365d",
		"every month @ 31d", "every month offset 31d", "every 1d offset 1d", "every 1h @ 60m",
		"every mondya", "every 10m every 10m", "every 10m @ 1m offset 1m", "every 1d @ 1h offset 2h offset 3h",
		"every 10m in Europe/Berlin", "every 10m in Nowhere/Land", "in UTC every 10m in UTC",
		"CRON_TZ=America/New_York 30 2 * * *", "TZ=UTC @daily", "CRON_TZ=", "CRON_TZ=Bad/Zone * * * * *",
		"@daily", "@hourly", "@reboot", "@yearly", "@weekly", "@nonsense", "@DAILY",
		"0 0 29 2 *", "0 0 30 2 *", "0 0 30 2 mon", "0 0 31 4,6,9,11 *",
		"0 0 * JAN-mar SUN-sat/2", "mon * * * *", "0 0 * * 8", "60 * * * *", "0 24 * * *", "0 0 0 * *",
		"0 0 * 13 *", "0 0 * 0 *", "1,2 3", "1 ,2", "1, 2", "1\t2\t3\t4\t5",
		"99999999999999999999 * * * *", "*/99999999999999999999", "every 99999999999999999999m",
		"every 9999999999999999999999999999w", "@ 99999999999999999999:00", "@ 00:99999999999999999999",
		"every 10m @ 0m, 10m, 20m, 40m, 50m", "every 1h @ 0m, 10m, 20m, 40m, 50m  # alternative",
		"ëvery 10m", "every 10m @ 1m\u00a0", "0 0 * * мон", "⏰", "\xff\xfe", "every\x0010m",
		"every 10m\n@ 1m", "\n\n* *\n* * *", "every 5mon", "10:00", "10m",
		"H H * * *", "H(0-29)/10 H(2-5) * * *", "H/15", "H(", "H(5-2)", "H()", "0 0 * * sat-sun", "5-0", "CRON_TZ=EST5EDT 30 2 * * *", "every 1h in GMT+0",
	}
	for _, row := range equivalences {
		seeds = append(seeds, row.cron)
		seeds = append(seeds, row.every...)
	}
	for _, tc := range dstCases {
		seeds = append(seeds, tc.src)
	}
	return seeds
}

// FuzzParse: whatever the input, parsing and compiling return instead of
// panicking; every error is a lang.ErrorList whose entries are positioned
// inside the input; what parses prints back to text that parses to the same
// text; and a compiled schedule's Next moves strictly forward.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	from := mustTime("2026-03-08T06:59:59Z")
	f.Fuzz(func(t *testing.T, src string) {
		ast, err := lang.Parse(src)
		if err != nil {
			checkErrorList(t, src, err)
		} else {
			checkReprint(t, src, ast)
		}
		// With a name, so that H fields hash; what they resolve to is a
		// line that compiles by itself.
		s, cerr := compile.ParseWith(src, compile.Options{Name: "fuzz"})
		if cerr != nil {
			checkErrorList(t, src, cerr)
			return
		}
		if r := s.Resolved(); r != s.String() {
			if _, err := compile.Parse(r); err != nil {
				t.Fatalf("%q resolves to %q, which does not compile: %v", src, r, err)
			}
		}
		if err != nil {
			t.Fatalf("compile.Parse(%q) succeeded where lang.Parse failed: %v", src, err)
		}
		for _, after := range []time.Time{from, time.Unix(0, 0), mustTime("2099-12-31T23:59:59Z")} {
			n, ok := s.Next(after)
			if ok && !n.After(after) {
				t.Fatalf("%q: Next(%s) = %s, not after it", src, after.Format(time.RFC3339), n.Format(time.RFC3339))
			}
			if ok {
				if m, ok2 := s.Next(n); ok2 && !m.After(n) {
					t.Fatalf("%q: Next(%s) = %s, not after it", src, n.Format(time.RFC3339), m.Format(time.RFC3339))
				}
			}
		}
	})
}

// checkReprint: the canonical form of a parsed schedule parses again, to
// itself.
func checkReprint(t *testing.T, src string, ast *lang.Schedule) {
	t.Helper()
	text := ast.String()
	again, err := lang.Parse(text)
	if err != nil {
		t.Fatalf("%q prints as %q, which does not parse: %v", src, text, err)
	}
	if got := again.String(); got != text {
		t.Fatalf("%q prints as %q, which prints as %q", src, text, got)
	}
	if strings.TrimSpace(text) != text {
		t.Fatalf("%q prints as %q, with spaces around it", src, text)
	}
}
