#!/usr/bin/env bash
# instructions.sh: loomd's instructions a job, under callgrind.
#
#   bench/instructions.sh [-d LOOMD] [-n JOBS] [-o KEY=VALUE]...
#
# Starts LOOMD (default ./loomd) under valgrind --tool=callgrind on a Unix
# socket, sends 2,000 echo jobs with wait to warm it up, zeroes the
# counters, then sends JOBS (default 40,000) more, 4 connections x 64 in
# flight, stops it and prints the instructions a job (everything the
# daemon ran meanwhile, its threads too, divided by JOBS).  Unlike
# loom-bench's rates this does not move with the machine's load; what a
# job costs in waits and wake-ups it does not see.  The callgrind file is
# kept (its path is printed) for callgrind_annotate.  Needs valgrind and
# python3.
set -euo pipefail

loomd=./loomd
jobs=40000
opts=()
while getopts d:n:o:h opt; do
	case $opt in
	d) loomd=$OPTARG ;;
	n) jobs=$OPTARG ;;
	o) opts+=(-o "$OPTARG") ;;
	*) sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
command -v valgrind >/dev/null || { echo "instructions: valgrind is missing" >&2; exit 1; }

dir=$(mktemp -d /tmp/loombench.XXXXXX)
out=$(mktemp /tmp/loombench.callgrind.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

valgrind --tool=callgrind --callgrind-out-file="$out" "$loomd" -c /dev/null \
	-u "$dir/s" -o log_level=warning -o "state_dir=$dir/state" "${opts[@]}" \
	2>"$dir/valgrind.log" &
pid=$!
for _ in $(seq 600); do [ -S "$dir/s" ] && break; sleep 0.1; done
[ -S "$dir/s" ] || { echo "instructions: loomd did not start" >&2; cat "$dir/valgrind.log" >&2; exit 1; }

# N echo jobs with wait, 4 connections x 64 in flight.
send() {
	python3 - "$dir/s" "$1" <<'EOF'
import selectors, socket, sys
path, total = sys.argv[1], int(sys.argv[2])
conns, window = 4, 64
line = (b'{"op":"submit","wait":true,"job":{"type":"echo","ttl":0,'
        b'"args":{"value":1}}}\n')
sel = selectors.DefaultSelector()
per = total // conns
for _ in range(conns):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    st = {"s": s, "sent": min(window, per), "got": 0, "buf": b""}
    s.sendall(line * st["sent"])
    sel.register(s, selectors.EVENT_READ, st)
left = conns
while left:
    for key, _ in sel.select():
        st = key.data
        data = st["s"].recv(1 << 16)
        if not data:
            sys.exit("instructions: loomd closed a connection")
        lines = (st["buf"] + data).split(b"\n")
        st["buf"] = lines.pop()
        if any(b'"state":"done"' not in l for l in lines):
            sys.exit("instructions: a job did not end done")
        st["got"] += len(lines)
        more = min(len(lines), per - st["sent"])
        if more > 0:
            st["s"].sendall(line * more)
            st["sent"] += more
        if st["got"] == per:
            sel.unregister(st["s"])
            left -= 1
EOF
}

send 2000
callgrind_control -z "$pid" >/dev/null 2>&1
send "$jobs"
kill -TERM "$pid"
wait "$pid" || true
pid=
total=$(sed -n 's/^summary: //p' "$out" | head -1)
[ -n "$total" ] || total=$(sed -n 's/^totals: //p' "$out" | head -1)
awk -v t="$total" -v n="$jobs" 'BEGIN { printf "instructions=%d jobs=%d instructions_per_job=%.0f\n", t, n, t / n }'
echo "callgrind file: $out" >&2
