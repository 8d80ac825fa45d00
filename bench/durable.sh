#!/usr/bin/env bash
# durable.sh: durable throughput, side by side on this machine and disk.
#
#   bench/durable.sh [-d LOOMD] [-b LOOM_BENCH] [-c CONNS] [-w INFLIGHT] [-t SECONDS] [-r ROUNDS]
#
# loomd with journal_sync=always, batch and off and with journal=off is
# loaded by loom-bench (echo jobs with wait, CONNS x INFLIGHT in flight,
# over loopback TCP); beanstalkd with its binlog synced at every write
# (-b DIR -f 0) by the same client (put + reserve + delete); Redis with
# appendfsync always by redis-benchmark, pipelined as deep as our window
# (a cycle is one LPUSH and one RPOP: the cycle rate is 1 / (1/lpush +
# 1/rpop)).  Every server keeps its files in one temporary directory on
# the same disk.  They take turns for ROUNDS rounds of SECONDS each; the
# median of each is printed.  Run it from a build directory after
# `make bench`; beanstalkd and redis-server are Debian's packages,
# installed here when missing (as root).
set -euo pipefail

NAME=durable
. "$(dirname "$0")/lib.sh"
bench_options "$@"
need_commands beanstalkd redis-server

dir=$(mktemp -d /var/tmp/loomdurable.XXXXXX)
pids=()
cleanup() {
	# set -e: a reaped server's status must not cut the loop short.
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
	true
}
trap cleanup EXIT INT TERM

bport=$(free_port)
mkdir -p "$dir/beanstalkd"
beanstalkd -l 127.0.0.1 -p "$bport" -b "$dir/beanstalkd" -f 0 &
pids+=($!)
bpid=$!
wait_port "$bport"

rport=$(free_port)
mkdir -p "$dir/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir/redis" --appendonly yes \
	--appendfsync always --save '' --daemonize no >/dev/null &
pids+=($!)
wait_port "$rport"

# loomd MODE...: one round of loom-bench against a loomd it starts itself.
loomd_round() {
	local line
	line=$(timeout $((seconds + 60)) "$bench" -d "$loomd" -T "$@" throughput \
		-c "$conns" -w "$inflight" -t "$seconds" | head -1)
	value jobs_per_s "$line"
}

redis_round() {
	local n=$((seconds * 100000)) out push pop
	out=$(redis-benchmark -h 127.0.0.1 -p "$rport" -c "$conns" -P "$inflight" \
		-n "$n" -t lpush,rpop -q 2>/dev/null | tr '\r' '\n')
	push=$(sed -n 's/^LPUSH: \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
	pop=$(sed -n 's/^RPOP: \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
	awk -v a="$push" -v b="$pop" 'BEGIN { printf "%.0f", (a > 0 && b > 0 ? 1 / (1 / a + 1 / b) : 0) }'
}

declare -A rates
for r in $(seq "$rounds"); do
	rates[always]+="$(loomd_round -o journal_sync=always -o "state_dir=$dir/l$r-a") "
	rates[batch]+="$(loomd_round -o journal_sync=batch -o "state_dir=$dir/l$r-b") "
	rates[off]+="$(loomd_round -o journal_sync=off -o "state_dir=$dir/l$r-o") "
	rates[memory]+="$(loomd_round -o journal=off -o "state_dir=$dir/l$r-m") "
	line=$(timeout $((seconds + 60)) "$bench" -H "127.0.0.1:$bport" -p "$bpid" beanstalkd \
		-c "$conns" -w "$inflight" -t "$seconds" | head -1)
	rates[beanstalkd]+="$(value cycles_per_s "$line") "
	rates[redis]+="$(redis_round) "
	say "round $r done"
done

printf 'durable conns=%s inflight=%s seconds=%s rounds=%s transport=tcp-loopback\n' \
	"$conns" "$inflight" "$seconds" "$rounds"
for k in always batch off memory beanstalkd redis; do
	printf '  %-11s %s per s (median of: %s)\n' "$k" \
		"$(tr ' ' '\n' <<<"${rates[$k]}" | grep . | median)" "${rates[$k]}"
done
