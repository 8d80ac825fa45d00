# What compare.sh and durable.sh share: their options, messages, the
# servers they install, ports and medians.  Sourced with NAME set (the
# prefix of messages); sets loomd, bench, conns, inflight, seconds, rounds.
# shellcheck shell=bash

loomd=./loomd
bench=./bench/loom-bench
conns=4
inflight=64
seconds=5
rounds=3

say() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { say "$*"; exit 1; }

# The script's own header, without its '#': its usage.
usage() { sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

bench_options() {
	local opt OPTIND=1
	while getopts d:b:c:w:t:r:h opt; do
		case $opt in
		d) loomd=$OPTARG ;;
		b) bench=$OPTARG ;;
		c) conns=$OPTARG ;;
		w) inflight=$OPTARG ;;
		t) seconds=$OPTARG ;;
		r) rounds=$OPTARG ;;
		*) usage ;;
		esac
	done
	[ -x "$loomd" ] || die "no loomd at $loomd (give -d, or run from a build directory)"
	[ -x "$bench" ] || die "no loom-bench at $bench (make bench, or give -b)"
}

# Debian's packages for these commands, installed when missing (as root).
need_commands() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		[ "$(id -u)" -eq 0 ] || die "$c is missing; as root: apt-get install $c"
		say "installing $c"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "$c" >/dev/null
	done
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	die "nothing listens on port $1"
}

# value KEY LINE: the number after KEY= in a loom-bench line.
value() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
