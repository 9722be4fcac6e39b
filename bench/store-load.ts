// Start-up cost of the LMDB store: write 100k sessions with 10 messages each (1M messages, 100-byte
// PUBLISHes), then load them back as one shard (owns everything) and as one of two shards (owns
// half, still reads every entry). Not part of `npm run bench` (it writes ~300 MB to a temp dir).
// Run: `npx tsc -p tsconfig.build.json --outDir tmp/bench-dist &&
//       node --expose-gc --max-old-space-size=4096 tmp/bench-dist/bench/store-load.js [sessions] [each]`
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStore } from '../src/store/lmdb-store.js';
import { MessageState } from '../src/store/store.js';

const sessions = Number(process.argv[2] ?? 100_000);
const each = Number(process.argv[3] ?? 10);
const path = await mkdtemp(join(tmpdir(), 'weir-store-bench-'));
const options = { path, maxBytes: 4 * 1024 ** 3, durability: 'flush', flushIntervalMs: 100 } as const;
const ms = (from: number) => `${(performance.now() - from).toFixed(0)} ms`;

try {
  let store = await openLmdbStore(options);
  const bytes = new Uint8Array(100).map((_, i) => i);
  let t = performance.now();
  for (let s = 0; s < sessions; s++) {
    const clientId = `client-${s.toString(36).padStart(6, '0')}`;
    store.putSession({
      clientId,
      version: 5,
      expiryInterval: 3600,
      disconnectedAt: 1_700_000_000_000,
      subscriptions: [
        {
          key: `devices/${s}/cmd/#`,
          filter: `devices/${s}/cmd/#`,
          options: { qos: 1, nl: false, rap: false, rh: 0, subId: 0, group: null },
        },
      ],
      will: null,
    });
    for (let seq = 0; seq < each; seq++) {
      store.putMessage(clientId, {
        seq,
        state: MessageState.QUEUED,
        packetId: 0,
        bytes,
        version: 5,
        qos: 1,
        retain: false,
        subIds: [],
        expiresAt: 0,
      });
    }
    if (s % 1000 === 999) await new Promise((r) => setImmediate(r)); // a shard's event turns
  }
  await store.flushed();
  console.log(`write ${sessions} sessions + ${sessions * each} messages, flushed: ${ms(t)}`);
  console.log(
    `size: ${(store.sizeBytes / 1e6).toFixed(0)} MB in use, file ${(store.fileBytes / 1e6).toFixed(0)} MB`,
  );
  store = await (async () => (await store.close(), openLmdbStore(options)))();

  const gc = (globalThis as { gc?: () => void }).gc;
  for (const [name, owns] of [
    ['one shard (owns all)', () => true],
    ['one of two shards (owns half)', (id: string) => id.charCodeAt(id.length - 1) % 2 === 0],
    ['none owned (the sessions pass alone)', () => false],
  ] as const) {
    gc?.(); // the previous load's objects are garbage now: do not charge their collection here
    t = performance.now();
    const loaded = store.loadSessions(owns);
    const count = loaded.reduce((n, l) => n + l.messages.length, 0);
    console.log(`load, ${name}: ${loaded.length} sessions, ${count} messages: ${ms(t)}`);
  }
  await store.close();
} finally {
  rmSync(path, { recursive: true, force: true });
}
