// Starts a real broker (compiled, since its shards are worker threads) on free loopback ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Broker, BrokerOptions, createBroker as createBrokerType } from '../../src/broker.js';
import { distModule } from './dist.js';
import { freePort } from './ports.js';
import { destroyAll } from './raw-client.js';

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

/** The broker of a suite, once its beforeAll has run (read it inside hooks and tests). */
export interface SuiteBroker {
  readonly broker: Broker;
  /** Its plain-TCP MQTT port. */
  readonly port: number;
}

/**
 * One broker for the enclosing suite (a file, or the describe it is called in): one place for its
 * lifetime, instead of each file writing the same hooks. Started in beforeAll with `options` (or
 * what a function of them returns then, for options that must be made at that time, such as
 * ports); in afterAll every raw client is destroyed and the broker closed. Hooks the caller
 * registers after this call run after the start and before the close.
 */
export function useBroker(
  options: BrokerOptions | (() => BrokerOptions | Promise<BrokerOptions>) = {},
): SuiteBroker {
  let broker: Broker | undefined;
  beforeAll(async () => {
    broker = await startBroker(typeof options === 'function' ? await options() : options);
  });
  afterAll(async () => {
    destroyAll();
    await broker?.close();
  });
  return {
    get broker() {
      if (!broker) throw new Error('the suite broker is started in beforeAll: read it in hooks and tests');
      return broker;
    },
    get port() {
      return this.broker.ports.tcp!;
    },
  };
}
