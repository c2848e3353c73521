package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// jobsFile is a config of n jobs as bench/daemon writes them: one line,
// each job a command and a daily schedule; change gives job n/2 another.
func jobsFile(n int, change bool) []byte {
	var b strings.Builder
	b.WriteString(`{"jobs":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		sched := fmt.Sprintf("%d 4 * * *", i%60)
		if change && i == n/2 {
			sched = "17 5 * * *"
		}
		fmt.Fprintf(&b, `"daily-%d":{"command":["/bin/true"],"schedule":%q}`, i, sched)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// Reading a file of 10k jobs, at a daemon's start.
func BenchmarkParse10k(b *testing.B) {
	src := jobsFile(10000, false)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, err := ParsePart("k.json", src); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading it again after one job changed: the other 9,999 are taken
// from the previous version.
func BenchmarkReparse10kOneChanged(b *testing.B) {
	prev, _, err := ParsePart("k.json", jobsFile(10000, false))
	if err != nil {
		b.Fatal(err)
	}
	src := jobsFile(10000, true)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, err := Reparse("k.json", src, prev); err != nil {
			b.Fatal(err)
		}
	}
}

// cronDFile is a system crontab of n lines as a busy /etc/cron.d file
// holds them: a few assignments, then lines of varied schedules (daily
// times, steps, weekday windows, lists, @ words), users that exist (root,
// nobody, daemon) and varied commands, with an occasional "# name:" or
// other comment. The same n gives the same file.
func cronDFile(n int) []byte {
	users := []string{"root", "nobody", "daemon", "root", "root"}
	cmds := []string{
		"/usr/local/bin/backup --db app%d",
		"find /var/tmp -mtime +%d -delete",
		"curl -fsS https://example.com/ping/%d >/dev/null",
		"/opt/app/bin/report --id %d 2>&1 | logger -t report",
		"echo job %d >> /tmp/cron.log",
		"run-parts --report /etc/cron.hourly.%d",
	}
	macros := []string{"@hourly", "@daily", "@weekly", "@monthly", "@reboot"}
	steps := []int{1, 2, 3, 5, 10, 15, 20, 30}
	days := []string{"mon-fri", "1-5", "*", "0,6"}
	months := []string{"*", "jan,jul", "1-6", "*/3"}
	var b strings.Builder
	b.WriteString("SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\nMAILTO=\"\"\n")
	r := uint64(42)
	rnd := func(k int) int { // a fixed LCG: the same file on every run
		r = r*6364136223846793005 + 1442695040888963407
		return int(r>>33) % k
	}
	for i := 3; i < n; i++ {
		var sched string
		switch k := rnd(10); {
		case k == 0:
			sched = macros[rnd(len(macros))]
		case k < 4:
			sched = fmt.Sprintf("%d %d * * *", rnd(60), rnd(24))
		case k < 6:
			sched = fmt.Sprintf("*/%d * * * *", steps[rnd(len(steps))])
		case k < 8:
			sched = fmt.Sprintf("%d %d-%d * * %s", rnd(60), rnd(8), 8+rnd(12), days[rnd(len(days))])
		default:
			sched = fmt.Sprintf("%d,%d %d %d %s *", rnd(30), 30+rnd(30), rnd(24), 1+rnd(28), months[rnd(len(months))])
		}
		switch rnd(50) {
		case 0:
			fmt.Fprintf(&b, "# name: named-%d\n", i)
			i++
		case 1:
			fmt.Fprintf(&b, "# what job %d does\n", i)
			i++
		}
		fmt.Fprintf(&b, "%s %s %s\n", sched, users[rnd(len(users))], fmt.Sprintf(cmds[rnd(len(cmds))], i))
	}
	return []byte(b.String())
}

var (
	crondOut   = flag.String("crond", "", "TestWriteCronD writes the cron.d file of BenchmarkParseCrontab to this path")
	crondLines = flag.Int("crond-lines", 100000, "the lines of the file -crond writes")
	crondQuiet = flag.Bool("crond-quiet", false, "-crond writes lines that fire only on 29 February and run true, for kopf run")
)

// TestWriteCronD writes cronDFile out, for timing kopf check and kopf run
// on the benchmark's file (docs/performance.md):
//
//	go test ./runtime/config -run TestWriteCronD -crond /tmp/cron.d/big -crond-lines 100000
//
// With -crond-quiet a daemon can run it: each line keeps its minute and
// hour fields (an @ word becomes 0 0), fires only on 29 February, and runs
// true with the command as arguments.
func TestWriteCronD(t *testing.T) {
	if *crondOut == "" {
		t.Skip("no -crond PATH")
	}
	src := cronDFile(*crondLines)
	if *crondQuiet {
		lines := strings.SplitAfter(string(src), "\n")
		for i, l := range lines {
			f := strings.Fields(l)
			switch {
			case len(f) == 0 || strings.HasPrefix(l, "#") || strings.Contains(f[0], "="):
			case strings.HasPrefix(f[0], "@"):
				lines[i] = "0 0 29 2 * " + f[1] + " true " + strings.Join(f[2:], " ") + "\n"
			default:
				lines[i] = f[0] + " " + f[1] + " 29 2 * " + f[5] + " true " + strings.Join(f[6:], " ") + "\n"
			}
		}
		src = []byte(strings.Join(lines, ""))
	}
	if err := os.WriteFile(*crondOut, src, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Reading a system crontab of 100k lines, as kopf check --cron-dir and a
// daemon's start do; against 10k, the cost must grow linearly.
func BenchmarkParseCrontab(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		src := cronDFile(n)
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, _, err := ParseCrontab("cron.d/big", src, SystemCrontab); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
