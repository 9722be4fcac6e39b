#!/usr/bin/env bash
# bench/durable/run.sh: QoS 1 throughput to persistent-session subscribers, Weir with
# --durability flush, interval and memory, next to Mosquitto (persistence true) and aedes, with
# ../shared/peerbench's mqload and run-peers.sh (qos1-pairs, 50 × 50, 256 B).
#
# peerbench's subscribers connect with Clean Session 1; this script works on a copy of
# peerbench in which they connect with Clean Session 0 (MQTT 3.1.1), so every message is for a
# persistent session and must be stored, and in which Mosquitto runs with `persistence true`.
# Weir's three modes are separate run-peers.sh runs; Mosquitto and aedes run with the first, so
# the flush row's ratios are taken in the same run.
#
#   npm run build && bash bench/durable/run.sh            # ROUNDS=3 by default
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=${PEERBENCH:-$ROOT/../shared/peerbench}
WORK=${WORK:-$(mktemp -d -t weir-durable-bench.XXXXXX)}
export ROUNDS=${ROUNDS:-3}
cp -r "$SRC"/. "$WORK/"
cd "$WORK"
# Subscribers (role 1) connect with Clean Session 0.
sed -i 's|    p\[o++\] = 0x02; /\* clean session / clean start \*/|    p[o++] = c->role == 1 ? 0x00 : 0x02; /* subscribers: persistent sessions */|' mqload.c
grep -q 'c->role == 1 ? 0x00' mqload.c || { echo "bench/durable: could not patch mqload.c (its CONNECT changed?)" >&2; exit 1; }
# Mosquitto saves its state (on its autosave interval and at shutdown).
# A file of its own per start, so that no run restores the previous run's sessions.
sed -i "s|^persistence false|persistence true\npersistence_location \$OUTDIR/\npersistence_file mosquitto-\$RANDOM\$RANDOM.db|" run-peers.sh
grep -q '^persistence true' run-peers.sh || { echo "bench/durable: could not patch run-peers.sh" >&2; exit 1; }
rm -f mqload
[ -d node_modules/aedes ] || npm install --no-audit --no-fund >/dev/null 2>&1
# Each run starts Weir on an empty data directory: sessions left by the previous run (mqload's
# subscribers keep theirs) would otherwise be restored and queue every message again.
cat > "$WORK/weir-fresh.sh" <<SH
#!/usr/bin/env bash
rm -rf "$WORK/data-\$1"
exec node "$ROOT/bin/weir.js" --host 127.0.0.1 --port "\$BROKER_PORT" --ws-port 0 --http-port 0 \\
  --sys-interval 0 --data-dir "$WORK/data-\$1" --durability "\$1" --max-queued 1000000
SH
weir() { echo "bash $WORK/weir-fresh.sh $1"; }
OUTDIR=$WORK/out-flush BROKERS="mosquitto aedes" BROKER_NAME=weir-flush BROKER_CMD=$(weir flush) ./run-peers.sh qos1-pairs
OUTDIR=$WORK/out-interval BROKERS=weir-interval BROKER_NAME=weir-interval BROKER_CMD=$(weir interval) ./run-peers.sh qos1-pairs
OUTDIR=$WORK/out-memory BROKERS=weir-memory BROKER_NAME=weir-memory BROKER_CMD=$(weir memory) ./run-peers.sh qos1-pairs
echo "bench/durable: tables in $WORK/out-*/table.txt" >&2
