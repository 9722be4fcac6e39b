// What every conformance file needs: one broker on a free loopback port for the file, raw clients
// cleaned up after each test, and unique client IDs. `port` and `broker` are live bindings: read
// them inside tests (after beforeAll has run).
import { afterEach, beforeAll } from 'vitest';
import type { Broker, BrokerOptions } from '../../src/broker.js';
import { useBroker as useSuiteBroker } from '../helpers/broker.js';
import { destroyAll } from '../helpers/raw-client.js';

export let broker: Broker;
export let port = 0;

/** Start one broker for this file (with `options`), and close it and every raw client after. */
export function useBroker(options: BrokerOptions = {}): void {
  const suite = useSuiteBroker(options);
  beforeAll(() => {
    broker = suite.broker;
    port = suite.port;
  });
  afterEach(() => destroyAll());
}

let seq = 0;
/** A client ID no other test of the file uses. */
export const uid = (prefix: string) => `${prefix}-${++seq}`;
