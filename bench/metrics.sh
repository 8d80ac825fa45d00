#!/bin/sh
# What metrics cost: loom-bench throughput with metrics_listen off, then on
# with /metrics scraped every second, alternating in the same run.  Prints
# each round and the medians.  Run from a build directory after `make bench`:
#   ../../bench/metrics.sh [ROUNDS (5)] [SECONDS per round (5)]
set -eu

rounds=${1:-5}
seconds=${2:-5}
bench=./bench/loom-bench
[ -x "$bench" ] || { echo "metrics.sh: run make bench first" >&2; exit 1; }
command -v curl >/dev/null || { echo "metrics.sh: needs curl" >&2; exit 1; }

# A free loopback port for the listener (a benchmark, not a test: a port
# taken between this probe and loomd's bind only fails the run).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
scraper=
cleanup() {
	[ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

scrape() {
	while :; do
		curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true
		sleep 1
	done
}

# "jobs/s cpu_us_per_job" of one loom-bench run.  The daemon's CPU time per
# job moves less than jobs/s when other work shares the cores.
run() {
	"$bench" "$@" throughput -t "$seconds" |
	    sed -n 's/.*jobs_per_s=\([0-9.]*\).*daemon_cpu_us_per_job=\([0-9.]*\).*/\1 \2/p'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

i=1
while [ "$i" -le "$rounds" ]; do
	# Which goes first alternates: the first of a pair runs on a colder
	# machine (or a hotter one), and that must not count as metrics.
	[ $((i % 2)) -eq 1 ] && off=$(run -o journal=off)
	scrape &
	scraper=$!
	on=$(run -o journal=off -o "metrics_listen=127.0.0.1:$port")
	kill "$scraper"
	wait "$scraper" 2>/dev/null || true
	scraper=
	[ $((i % 2)) -eq 0 ] && off=$(run -o journal=off)
	echo "round $i: off ${off% *} jobs/s ${off#* } us/job;" \
	    "on + a scrape a second ${on% *} jobs/s ${on#* } us/job"
	echo "${off% *}" >> "$tmp/off"
	echo "${on% *}" >> "$tmp/on"
	echo "${off#* }" >> "$tmp/offcpu"
	echo "${on#* }" >> "$tmp/oncpu"
	i=$((i + 1))
done
off=$(median < "$tmp/off")
on=$(median < "$tmp/on")
offcpu=$(median < "$tmp/offcpu")
oncpu=$(median < "$tmp/oncpu")
awk -v off="$off" -v on="$on" -v offcpu="$offcpu" -v oncpu="$oncpu" 'BEGIN {
	printf "metrics.sh off_jobs_per_s=%.0f on_jobs_per_s=%.0f change=%+.2f%% " \
	    "off_cpu_us_per_job=%.2f on_cpu_us_per_job=%.2f change=%+.2f%%\n",
	    off, on, (on - off) / off * 100, offcpu, oncpu,
	    (oncpu - offcpu) / offcpu * 100 }'
