// A session: what the broker keeps for one client ID across connections (MQTT 5.0 §4.1):
// subscriptions, QoS flows in both directions, queued messages, the will, and its expiry.
// Owned by the shard its client ID hashes to; a connection (Channel) attaches to it.
import type { QoS } from '../protocol/packets.js';
import { Outbound } from './outbound.js';

/** A message kept for later delivery: the publisher's PUBLISH bytes, re-encoded per subscriber. */
export interface StoredMessage {
  /** The PUBLISH packet as received (any properties intact). */
  bytes: Uint8Array;
  /** The protocol level of the bytes (3, 4 or 5). */
  version: 3 | 4 | 5;
  /** QoS of this delivery: min(published, granted). */
  qos: QoS;
  /** RETAIN flag to send. */
  retain: boolean;
  /** Subscription identifiers of the matching subscriptions (MQTT 5). */
  subIds: number[];
  /** Absolute expiry (ms since epoch) from the Message Expiry Interval, or 0 for none. */
  expiresAt: number;
  /** Its key in the store, once a persistent session stored it. */
  seq?: number;
}

export interface SubscriptionOptions {
  qos: QoS;
  nl: boolean;
  rap: boolean;
  rh: 0 | 1 | 2;
  subId: number;
  /** Shared subscription group, or null. */
  group: string | null;
}

export interface WillMessage {
  /** The will as a PUBLISH packet, encoded at CONNECT for the session's protocol level. */
  bytes: Uint8Array;
  version: 3 | 4 | 5;
  /** Seconds to wait after the connection ends (MQTT 5 Will Delay Interval). */
  delay: number;
}

export class Session {
  // The Map and Set below are made when first used: an empty one costs about 150 bytes, and a
  // fleet's many idle sessions would pay that for nothing.
  private subs: Map<string, { filter: string; options: SubscriptionOptions }> | undefined;
  private qos2: Set<number> | undefined;
  readonly outbound: Outbound<StoredMessage>;
  /** The connection attached to this session, if any (its gateway connection id). */
  conn = -1;
  /** Seconds the session outlives its connection (0: ends with it; 0xFFFFFFFF: never). */
  expiryInterval = 0;
  will: WillMessage | null = null;
  /** Bumped at every attach/detach, so deferred work (will delay, expiry) can tell it is stale. */
  epoch = 0;
  /** The store holds this session (it is persistent, and durability is not "memory"). */
  persisted = false;
  /** The next message's key in the store. */
  nextSeq = 1;
  /** Protocol level of the last connection. */
  version: 3 | 4 | 5 = 4;

  constructor(
    readonly clientId: string,
    /** The handle of this session's entries in the shard's subscription index. */
    readonly handle: number,
    window: number,
    maxQueued: number,
  ) {
    this.outbound = new Outbound<StoredMessage>(window, maxQueued);
  }

  /** Subscriptions by their full filter (with any $share prefix), as the client sent it. */
  get subscriptions(): Map<string, { filter: string; options: SubscriptionOptions }> {
    return (this.subs ??= new Map());
  }

  get hasSubscriptions(): boolean {
    return (this.subs?.size ?? 0) > 0;
  }

  /** Inbound QoS 2 packet ids received and not yet released by PUBREL [MQTT-5.0 4.3.3-10]. */
  get inboundQos2(): Set<number> {
    return (this.qos2 ??= new Set());
  }

  get online(): boolean {
    return this.conn >= 0;
  }
}
