// The store interface: what a shard keeps on disk so that a persistent session survives a restart
// or a crash. Runs on shard threads; every shard opens the same store (one directory). Writes are
// fire-and-forget and applied in call order; `flushed()` is the group commit: it resolves once
// every write made before the call is durable, however many there were. Reads happen only at
// start-up (`load*`) and when a reconnecting session's stored messages are fetched.
//
// Keys are the client ID (sessions), (client ID, seq) (messages), (client ID, packet id)
// (inbound QoS 2) and the topic (retained). Sessions are found by client ID, not by shard, so a
// broker restarted with another --shards finds every session in the shard it now hashes to.
import type { SubscriptionOptions } from '../session/session.js';

/** What `durability` means for acknowledgements (see the README's configuration). */
export type Durability = 'flush' | 'interval' | 'memory';

export interface PersistedSubscription {
  /** The filter as the client sent it, with any $share/{group}/ prefix. */
  key: string;
  /** The filter without the prefix. */
  filter: string;
  options: SubscriptionOptions;
}

export interface PersistedWill {
  /** The will as a PUBLISH packet in `version`'s encoding. */
  bytes: Uint8Array;
  version: 3 | 4 | 5;
  /** Will Delay Interval, seconds. */
  delay: number;
}

export interface PersistedSession {
  clientId: string;
  /** Protocol level of the last connection (3, 4 or 5). */
  version: 3 | 4 | 5;
  /** Session Expiry Interval in seconds (0xFFFFFFFF: never). */
  expiryInterval: number;
  /** ms since the epoch when the last connection ended; 0 while connected. */
  disconnectedAt: number;
  subscriptions: PersistedSubscription[];
  /** The will still to be published (after its delay), if any. */
  will: PersistedWill | null;
}

/** Where an outbound message of a persistent session stands. */
export const MessageState = {
  QUEUED: 0,
  AWAIT_PUBACK: 1,
  AWAIT_PUBREC: 2,
  AWAIT_PUBCOMP: 3,
} as const;
export type MessageStateValue = (typeof MessageState)[keyof typeof MessageState];

export interface PersistedMessage {
  /** Per session, increasing: the order of delivery. */
  seq: number;
  state: MessageStateValue;
  /** The packet identifier once in flight; 0 while queued. */
  packetId: number;
  /** The PUBLISH as received (the publisher's encoding), re-encoded per subscriber when sent. */
  bytes: Uint8Array;
  version: 3 | 4 | 5;
  qos: 0 | 1 | 2;
  retain: boolean;
  subIds: number[];
  /** ms since the epoch (Message Expiry Interval), 0: never. */
  expiresAt: number;
}

export interface PersistedRetained {
  bytes: Uint8Array;
  version: 3 | 4 | 5;
  expiresAt: number;
}

export interface LoadedSession {
  session: PersistedSession;
  /** In seq order. */
  messages: PersistedMessage[];
  /** Packet identifiers of QoS 2 PUBLISHes received and not yet released (PUBREL). */
  inboundQos2: number[];
}

export interface SessionStore {
  /** Every stored session whose client ID `owns` accepts, with its messages and inbound QoS 2 ids. */
  loadSessions(owns: (clientId: string) => boolean): Iterable<LoadedSession>;
  /** Every stored retained message (the caller skips expired ones). */
  loadRetained(): Iterable<[topic: string, message: PersistedRetained]>;
  putSession(session: PersistedSession): void;
  /** Remove a session with its messages and inbound QoS 2 ids. */
  removeSession(clientId: string): void;
  /** Add or replace (same seq) a message of a session. */
  putMessage(clientId: string, message: PersistedMessage): void;
  removeMessage(clientId: string, seq: number): void;
  putInboundQos2(clientId: string, packetId: number): void;
  removeInboundQos2(clientId: string, packetId: number): void;
  /** Set (or, with null, clear) the retained message of a topic. */
  putRetained(topic: string, message: PersistedRetained | null): void;
  /**
   * Resolves when every write made before this call is durable on disk; rejects with a WeirError
   * (ERR_STORE, naming the path and the remedy) when a write failed.
   */
  flushed(): Promise<void>;
  /** Bytes the store's file occupies now (for the size limit and /metrics). */
  readonly sizeBytes: number;
  close(): Promise<void>;
}
