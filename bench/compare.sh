#!/usr/bin/env bash
# compare.sh: loomd and beanstalkd side by side, on this machine, in one run.
#
#   bench/compare.sh [-d LOOMD] [-b LOOM_BENCH] [-c CONNS] [-w INFLIGHT] [-t SECONDS] [-r ROUNDS]
#
# Both servers listen on loopback TCP and are loaded by the same client
# (loom-bench, one epoll thread, CONNS connections x INFLIGHT job cycles in
# flight, one write per read).  A loomd job cycle is a submit of an echo job
# with wait, answered with its result; a beanstalkd job cycle is put +
# reserve + delete.  A loomd worker cycle is a submit with wait of a type
# run by workers (2 worker connections, concurrency 256, in the same client),
# pushed to a worker, completed by it and answered; it runs memory-only
# (journal=off), as beanstalkd does without -b.
# The servers take turns for ROUNDS rounds of SECONDS
# each; the median of each is reported, and their ratio.  Run it from a
# build directory after `make bench`.  beanstalkd is Debian's package,
# installed here when missing (as root).
set -euo pipefail

NAME=compare
. "$(dirname "$0")/lib.sh"
bench_options "$@"
need_commands beanstalkd

bpid=
cleanup() { if [ -n "$bpid" ]; then kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM

# beanstalkd in memory (no binlog), on its own loopback port.
bport=$(free_port)
beanstalkd -l 127.0.0.1 -p "$bport" &
bpid=$!
wait_port "$bport"

# value KEY LINE: the number after KEY= in a loom-bench line.

b_rates=()
l_rates=()
w_rates=()
for r in $(seq "$rounds"); do
	line=$(timeout $((seconds + 60)) "$bench" -H "127.0.0.1:$bport" -p "$bpid" beanstalkd \
		-c "$conns" -w "$inflight" -t "$seconds" | head -1)
	b_rates+=("$(value cycles_per_s "$line")")
	line=$(timeout $((seconds + 60)) "$bench" -d "$loomd" -T throughput \
		-c "$conns" -w "$inflight" -t "$seconds" | head -1)
	l_rates+=("$(value jobs_per_s "$line")")
	line=$(timeout $((seconds + 60)) "$bench" -d "$loomd" -T -o journal=off worker \
		-c "$conns" -w "$inflight" -t "$seconds" | head -1)
	w_rates+=("$(value cycles_per_s "$line")")
	say "round $r: beanstalkd ${b_rates[-1]} cycles/s, loomd ${l_rates[-1]} jobs/s, loomd workers ${w_rates[-1]} cycles/s"
done
b=$(printf '%s\n' "${b_rates[@]}" | median)
l=$(printf '%s\n' "${l_rates[@]}" | median)
w=$(printf '%s\n' "${w_rates[@]}" | median)
ratio=$(awk -v l="$l" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? l / b : 0) }')
wratio=$(awk -v w="$w" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? w / b : 0) }')

printf 'compare loomd_jobs_per_s=%s beanstalkd_cycles_per_s=%s ratio=%s conns=%s inflight=%s seconds=%s rounds=%s transport=tcp-loopback\n' \
	"$l" "$b" "$ratio" "$conns" "$inflight" "$seconds" "$rounds"
printf 'compare loomd_worker_cycles_per_s=%s beanstalkd_cycles_per_s=%s ratio=%s workers=2 concurrency=256 journal=off\n' \
	"$w" "$b" "$wratio"
printf '  loomd %s echo jobs/s (submit with wait), beanstalkd %s job cycles/s (put+reserve+delete): loomd is %sx\n' \
	"$l" "$b" "$ratio"
printf '  loomd %s worker cycles/s (submit with wait, push, job.complete): %sx beanstalkd\n' \
	"$w" "$wratio"
