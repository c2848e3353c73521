#!/bin/sh
# Measures kopf for docs/performance.md, on a clean checkout:
#   1. kopf against robfig/cron, hashicorp/cronexpr and adhocore/gronx on the
#      same crontab lines, answers checked first (go run .; flags go to it:
#      ./run.sh -benchtime 1s -count 5);
#   2. kopf alone, every-language lines and parse + compile included
#      (go test -bench in ../compile);
#   3. the wall time of "kopf next -n 1000", process start included;
#   4. kopf next against systemd-analyze calendar and a Go hello-world as
#      whole processes, run in turn (go run ./startup).
set -euf # no globbing: schedules are full of stars
cd "$(dirname "$0")"
go run . "$@"

echo
echo '### kopf alone: go test ./compile -run ^$ -bench . -benchmem'
echo
(cd .. && go test ./compile -run '^$' -bench . -benchmem)

echo
echo '### kopf next -n 1000 (wall time of the whole process, mean of 20 runs)'
echo
if [ ! -d ../cmd/kopf ]; then
	echo 'skipped: ../cmd/kopf does not exist'
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd .. && go build -o "$tmp/kopf" ./cmd/kopf)
# mean wall time in µs of 20 runs of kopf next with the given arguments
mean() {
	n=20 i=0
	t0=$(date +%s%N)
	while [ $i -lt $n ]; do
		"$tmp/kopf" next "$@" >/dev/null
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / n / 1000))
}
for args in "UTC */15_*_*_*_*" "America/New_York */15_*_*_*_*" \
	"America/New_York 0_9_*_*_mon-fri" "America/New_York every_10m_every_1d_@_10:00-01:00"; do
	set -- $args
	zone=$1 sched=$(echo "$2" | tr _ ' ')
	lines=$("$tmp/kopf" next -n 1000 --tz "$zone" --after 2026-01-01T00:00:00Z "$sched" | wc -l)
	one=$(mean -n 1 --tz "$zone" --after 2026-01-01T00:00:00Z "$sched")
	many=$(mean -n 1000 --tz "$zone" --after 2026-01-01T00:00:00Z "$sched")
	echo "$zone '$sched': -n 1000: $many µs ($lines lines); -n 1: $one µs"
done

echo
echo '### kopf next against systemd-analyze calendar, whole processes in turn'
echo
if ! command -v systemd-analyze >/dev/null; then
	echo 'skipped: systemd-analyze is not installed'
	exit 0
fi
mkdir "$tmp/hello"
printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hi\\n") }\n' >"$tmp/hello/main.go"
(cd "$tmp/hello" && go mod init hello >/dev/null 2>&1 && go build -o hello .)
uptime
go run ./startup -n 300 "$tmp/kopf next '*/5 * * * *'" "systemd-analyze calendar '*:0/5'" \
	"$tmp/kopf next 'every 10m every 1d @ 10:00-01:00'" "systemd-analyze calendar '*-*-* 10:00:00'" \
	"$tmp/hello/hello"
uptime
