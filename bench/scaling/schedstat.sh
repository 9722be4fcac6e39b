#!/usr/bin/env bash
# Where a broker's threads spend a lat-10k run, from the scheduler's own counters: for each thread
# of the broker, CPU time, time spent waiting for a CPU (run queue) and time slices, per message
# delivered (/proc/PID/task/TID/schedstat before and after the run). Linux only.
#
#   bash bench/scaling/schedstat.sh NAME 'COMMAND using $PORT'
#   bash bench/scaling/schedstat.sh weir 'node bin/weir.js --host 127.0.0.1 --port $PORT --ws-port 0 --http-port 0 --durability memory'
#   bash bench/scaling/schedstat.sh mosquitto 'mosquitto -p $PORT'
#
# mqload comes from `npm run bench:e2e` (it builds it); MQLOAD overrides; SECONDS_RUN (default 8).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MQLOAD=${MQLOAD:-$HERE/../../node_modules/.cache/weir-bench/mqload}
[ -x "$MQLOAD" ] || { echo "schedstat: no mqload at $MQLOAD; run npm run bench:e2e once to build it" >&2; exit 2; }
NAME=$1
PORT=$((20000 + RANDOM % 10000))
export PORT
bash -c "exec $2" >/dev/null 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
sleep 0.5
TMP=$(mktemp -d)
snap() { for t in /proc/$BROKER/task/*; do echo "$(basename "$t") $(tr ' ' _ <"$t/comm") $(cat "$t/schedstat")"; done; }
snap >"$TMP/before"
"$MQLOAD" --port "$PORT" --mode pairs --pubs 50 --subs 50 --qos 0 --size 64 --rate 10000 \
  --duration "${SECONDS_RUN:-8}" --warmup 0 --drain 1 >"$TMP/mqload.json" 2>/dev/null
snap >"$TMP/after"
python3 - "$NAME" "$TMP" <<'PY'
import json, sys
name, tmp = sys.argv[1], sys.argv[2]
rows = lambda f: {l.split()[0]: l.split() for l in open(f'{tmp}/{f}')}
before, after = rows('before'), rows('after')
d = json.load(open(f'{tmp}/mqload.json'))
n = d['recv_total'] or 1
print(f"{name}: p50 {d['lat_p50_us']:.0f} us, p99 {d['lat_p99_us']:.0f} us, {n} messages")
for tid, b in after.items():
    a = before.get(tid)
    if not a:
        continue
    run, wait, slices = ((int(b[i]) - int(a[i])) for i in (2, 3, 4))
    if run < 10_000_000:  # ns: threads that ran under 10 ms in all (helpers) are left out
        continue
    print(f"  thread {tid} ({b[1]}): CPU {run / 1e3 / n:.1f} us, waiting for a CPU {wait / 1e3 / n:.1f} us, "
          f"{slices / n:.2f} slices per message")
PY
rm -rf "$TMP"
