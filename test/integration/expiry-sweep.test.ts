// A message that expires while it waits for an offline session is removed then, from memory
// and from the store, not only when the session comes back [MQTT-5.0 3.3.2-5].
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { openLmdbStore as openType } from '../../src/store/lmdb-store.js';
import { startBroker } from '../helpers/broker.js';
import { distModule } from '../helpers/dist.js';
import { connected, destroyAll } from '../helpers/raw-client.js';

const { openLmdbStore } = (await import(distModule('src/store/lmdb-store.ts'))) as {
  openLmdbStore: typeof openType;
};
const dataDir = mkdtempSync(join(tmpdir(), 'weir-sweep-'));
afterAll(() => {
  destroyAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('expired messages of an offline session', () => {
  it('[MQTT-5.0 3.3.2-5] are removed from the store while the session stays offline', async () => {
    const broker = await startBroker({ dataDir, shards: 1 });
    const keep = { clean: false, properties: { sessionExpiryInterval: 3600 } };
    const sub = await connected(broker.ports.tcp!, 5, 'sweep-sub', keep);
    await sub.subscribe('sweep/+', 1);
    await sub.end();
    const pub = await connected(broker.ports.tcp!, 5, 'sweep-pub');
    await pub.publishAcked('sweep/short', 'gone soon', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAcked('sweep/long', 'stays', { qos: 1 });
    // The sweep runs every second; the short one expires after one.
    await new Promise((r) => setTimeout(r, 2600));
    await broker.close();
    const store = await openLmdbStore({
      path: dataDir,
      maxBytes: 64 << 20,
      durability: 'flush',
      flushIntervalMs: 100,
    });
    try {
      const [loaded] = store.loadSessions((id) => id === 'sweep-sub');
      expect(loaded?.session.clientId).toBe('sweep-sub');
      expect(loaded!.messages.map((m) => Buffer.from(m.bytes).toString('latin1'))).toEqual([
        expect.stringContaining('stays'),
      ]);
    } finally {
      await store.close();
    }
  });
});
