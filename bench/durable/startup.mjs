// Broker start-up with a large store: 100k persistent sessions with 10 queued messages each (1M
// messages), written straight into a fresh store, then `weir` started on it (one shard, then two)
// and timed until it listens, with what it says it restored. Run after `npm run build`:
//   node --max-old-space-size=4096 bench/durable/startup.mjs [sessions] [messages per session]
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../../dist/src/', import.meta.url);
const { openLmdbStore } = await import(new URL('store/lmdb-store.js', dist).href);
const { createBroker } = await import(new URL('broker.js', dist).href);

const sessions = Number(process.argv[2] ?? 100_000);
const each = Number(process.argv[3] ?? 10);
const path = await mkdtemp(join(tmpdir(), 'weir-startup-bench-'));
const ms = (from) => Math.round(performance.now() - from);

try {
  const store = await openLmdbStore({
    path,
    maxBytes: 4 * 1024 ** 3,
    durability: 'flush',
    flushIntervalMs: 100,
  });
  // A real PUBLISH (QoS 1, topic devices/N/cmd/x, 64-byte payload) for every queued message.
  const t0 = performance.now();
  for (let s = 0; s < sessions; s++) {
    const clientId = `device-${s}`;
    const topic = Buffer.from(`devices/${s}/cmd/x`);
    const payload = Buffer.alloc(64, 7);
    const bytes = Buffer.concat([
      Buffer.from([0x32, 2 + topic.length + 2 + payload.length, 0, topic.length]),
      topic,
      Buffer.from([0, 1]),
      payload,
    ]);
    store.putSession({
      clientId,
      version: 4,
      expiryInterval: 0xffffffff,
      disconnectedAt: Date.now(),
      subscriptions: [
        {
          key: `devices/${s}/cmd/#`,
          filter: `devices/${s}/cmd/#`,
          options: { qos: 1, nl: false, rap: false, rh: 0, subId: 0, group: null },
        },
      ],
      will: null,
    });
    for (let seq = 1; seq <= each; seq++) {
      store.putMessage(clientId, {
        seq,
        state: 0,
        packetId: 0,
        bytes,
        version: 4,
        qos: 1,
        retain: false,
        subIds: [],
        expiresAt: 0,
      });
    }
    if (s % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await store.flushed();
  await store.close();
  console.log(`wrote ${sessions} sessions and ${sessions * each} messages in ${ms(t0)} ms`);
  for (const shards of [1, 2]) {
    const t = performance.now();
    const broker = createBroker({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      httpPort: 0,
      sysInterval: 0,
      shards,
      dataDir: path,
      maxQueued: each,
    });
    await broker.listen();
    const took = ms(t);
    const r = broker.restored;
    console.log(
      `--shards ${shards}: listening after ${took} ms; restored ${r.sessions} sessions (slowest shard ${r.ms} ms)`,
    );
    await broker.close();
  }
} finally {
  rmSync(path, { recursive: true, force: true });
}
