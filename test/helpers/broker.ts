// Starts a real broker (compiled, since its shards are worker threads) on free loopback ports.
import { createServer } from 'node:net';
import type { Broker, BrokerOptions, createBroker as createBrokerType } from '../../src/broker.js';
import { distModule } from './dist.js';

const { createBroker } = (await import(distModule('src/broker.ts'))) as {
  createBroker: typeof createBrokerType;
};

/** A port free on 127.0.0.1 right now (0 means "listener off" in Weir's configuration). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  // A port freePort() found free can be taken by a parallel test file before we bind it: try
  // again with a fresh one (only for the port this helper picks itself).
  for (let attempt = 0; ; attempt++) {
    const broker = createBroker({
      host: '127.0.0.1',
      port: await freePort(),
      wsPort: 0,
      httpPort: 0,
      shards: Number(process.env.WEIR_TEST_SHARDS ?? 1),
      shardMemoryBytes: 64 << 20,
      ...options,
    });
    try {
      await broker.listen();
      return broker;
    } catch (error) {
      const inUse = error instanceof Error && /in use/.test(error.message) && options.port === undefined;
      if (!inUse || attempt === 4) throw error;
    }
  }
}
