// Starts a real broker (compiled, since its shards are worker threads) on free loopback ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker, BrokerOptions, createBroker as createBrokerType } from '../../src/broker.js';
import { distModule } from './dist.js';
import { freePort } from './ports.js';

const { createBroker } = (await import(distModule('src/broker.ts'))) as {
  createBroker: typeof createBrokerType;
};

export { freePort };

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  // A port freePort() found free can be taken by a parallel test file before we bind it: try
  // again with a fresh one (only for the port this helper picks itself).
  for (let attempt = 0; ; attempt++) {
    // Each broker gets a store of its own (durability "flush", the default), removed on close.
    const dataDir = mkdtempSync(join(tmpdir(), 'weir-test-'));
    const broker = createBroker({
      dataDir,
      host: '127.0.0.1',
      port: await freePort(),
      wsPort: 0,
      httpPort: 0,
      shards: Number(process.env.WEIR_TEST_SHARDS ?? 1),
      shardMemoryBytes: 64 << 20,
      ...options,
    });
    const close = broker.close.bind(broker);
    broker.close = async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    try {
      await broker.listen();
      return broker;
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      const inUse = error instanceof Error && /in use/.test(error.message) && options.port === undefined;
      if (!inUse || attempt === 4) throw error;
    }
  }
}
