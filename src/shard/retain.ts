// Retained messages of a shard: topic → the last retained PUBLISH [MQTT-5.0 3.3.1-5]. Looked up
// by filter when a subscription is made. Wildcard lookups test each retained topic against the
// filter with a one-entry probe index (the same WASM matcher as routing, so the matching rules,
// `$` topics included, cannot drift); that is O(retained topics) per wildcard SUBSCRIBE.
import type { WeirError } from '../errors.js';
import { SubscriptionIndex } from '../protocol/topic.js';
import type { WasmInstance } from '../protocol/wasm.js';

export interface RetainedMessage {
  /** The PUBLISH as received, RETAIN flag set. */
  bytes: Uint8Array;
  version: 3 | 4 | 5;
  /** Absolute expiry in ms, or 0: an expired retained message is no longer sent [MQTT-5.0 3.3.2-5]. */
  expiresAt: number;
}

export class RetainStore {
  private readonly messages = new Map<string, RetainedMessage>();
  private readonly probe: SubscriptionIndex;

  constructor(
    wasm: WasmInstance,
    /** Told when a lookup could not run because the matcher's memory is full. */
    private readonly onFull: () => void = () => {},
  ) {
    this.probe = new SubscriptionIndex(wasm);
  }

  get size(): number {
    return this.messages.size;
  }

  /** Store, or with an empty payload clear, the retained message of a topic [MQTT-5.0 3.3.1-6]. */
  set(topic: string, message: RetainedMessage | null): void {
    if (message) this.messages.set(topic, message);
    else this.messages.delete(topic);
  }

  /** Every retained message that has not expired (a new shard's replica is filled from these). */
  *all(): Generator<RetainedMessage> {
    const now = Date.now();
    for (const m of this.messages.values()) if (m.expiresAt === 0 || m.expiresAt > now) yield m;
  }

  /** The live retained messages whose topics match `filter` (without any $share prefix). */
  *matching(filter: string): Generator<[string, RetainedMessage]> {
    const now = Date.now();
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.messages.get(filter);
      if (m && (m.expiresAt === 0 || m.expiresAt > now)) yield [filter, m];
      return;
    }
    if (this.messages.size === 0) return;
    try {
      this.probe.add(filter, { handle: 1, qos: 0, nl: false, rap: false, rh: 0, subId: 0, group: null });
    } catch (error) {
      // The matcher's memory is full: the subscription stands, its retained messages cannot be
      // looked up (the shard's warning says what to raise).
      if ((error as WeirError).code !== 'ERR_WASM_MEMORY') throw error;
      this.onFull();
      return;
    }
    try {
      for (const [topic, m] of this.messages) {
        if (m.expiresAt !== 0 && m.expiresAt <= now) {
          this.messages.delete(topic);
          continue;
        }
        if (this.probe.match(topic).length > 0) yield [topic, m];
      }
    } finally {
      this.probe.remove(filter, 1);
    }
  }
}
