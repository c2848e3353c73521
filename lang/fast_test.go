package lang

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkFast holds fastParse to participle: it takes exactly the lines
// participle takes, and builds the same tree from each.
func checkFast(t *testing.T, src string) {
	t.Helper()
	fast, ok := fastParse(src)
	slow, err := parser().ParseString("", src)
	switch {
	case ok && err != nil:
		t.Fatalf("%q: fastParse takes it, participle says %v", src, err)
	case !ok && err == nil:
		t.Fatalf("%q: participle takes it, fastParse does not", src)
	case ok && !reflect.DeepEqual(fast, slow):
		t.Fatalf("%q: the trees differ (-participle +fastParse):\n%s", src, cmp.Diff(slow, fast))
	}
}

var fastSamples = []string{
	"*/15 * * * *", "5,35 */2 1-10 jan,jul *", "0 9 * * mon-fri", "0 0 29 2 *", "30 4 1,15 * 5",
	"0-59/10 0,10-23 * * *", "5 4", "@hourly", "@daily in Europe/Berlin", "@reboot", "@yearly",
	"CRON_TZ=America/New_York 30 2 * * *", "TZ=UTC 0 4 * * *", "CRON_TZ=EST5EDT 0 0 * * *",
	"H H * * *", "H(0-29)/10 * * * *", "H/15 H(9-17) * * 1-5", "0 4 * * * in Asia/Tokyo",
	"every 10m", "every 10m every 1d @ 10:00-01:00", "every workday offset 8h30m", "every monday every hour offset 30m",
	"every 1h @ 0m, 10m, 20m, 40m, 50m", "@ 04:15", "@ 04:15 in Europe/Berlin", "every 5m offset 1m",
	"every month offset 2d8h30m", "in UTC every 1d @ 23:30-00:30", "every 2w @ 10:00", "every 30s",
	"every 1d @ 04:15:30", "every 1m every 1d @ 01:00-02:00", "every 1d @ 08:00, 12:00, 18:00-19:00",
	// not taken
	"", "every", "every 10m @", "every 10m,", "every 10m @ 5m,", "* * * * * *", "mon * * * *", "in", "in UTC",
	"CRON_TZ=", "CRON_TZ UTC * * * * *", "TZ=UTC", "H(", "H(1-", "H(1-2", "1-", "*/", "*/x", "5,", "5 ,6",
	"every 10m offset", "every 10m offset 04:00 offset 5m", "@ 25:00", "every 1d @ 04:15 - 05:00", "* * * * * in",
	"# only a comment", "0 4 * * * # with a comment", "every 10m # comment", "\t0\t4\t*\t*\t*\n", "ünïcode",
	"0 4 * * 1-5/2", "1-5/2,7 * * * *", "jan-mar * * * *", "0 4 * * sun-sat", "every day", "Every 10m",
}

func TestFastParseAgrees(t *testing.T) {
	for _, src := range fastSamples {
		checkFast(t, src)
	}
	words := []string{"every", "@", "in", "offset", "CRON_TZ", "TZ", "=", "Europe/Berlin", "UTC", "10m", "1d", "2h30m",
		"04:15", "10:00", "24:00", "-", ",", "*", "/", "5", "0", "59", "mon", "jan", "H", "(", ")", "@hourly",
		"@daily", "workday", "monday", "#x", "1h", "day", "7", "*/5"}
	seps := []string{" ", " ", " ", "", ",", "\t", "\n"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		var b strings.Builder
		for i := range 1 + r.IntN(9) {
			if i > 0 {
				b.WriteString(seps[r.IntN(len(seps))])
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		checkFast(t, b.String())
	}
}

func FuzzFastParse(f *testing.F) {
	for _, s := range fastSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkFast(t, src)
	})
}
