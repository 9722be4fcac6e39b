// The seam between a shard's plumbing (worker.ts: WASM instance, rings, the loop) and what a
// shard does with the records it receives. The broker's MQTT logic implements it; tests plug in
// small fixtures to exercise the plumbing alone.
import type { MessagePort } from 'node:worker_threads';
import type { WasmInstance } from '../protocol/wasm.js';
import type { RingProducer } from '../ring/spsc-ring.js';

export interface ShardContext {
  /** This shard's index in the pool. */
  readonly index: number;
  /** How many shards the pool runs. */
  readonly shards: number;
  /** The shard's WASM instance; the inbound ring's records live in its memory. */
  readonly wasm: WasmInstance;
  /** Records for the gateway (bytes to write, connections to close). Flushed after each batch. */
  readonly out: RingProducer;
  /** Control messages to and from the gateway (not per packet). */
  readonly port: MessagePort;
  /** What the gateway passed for the logic (e.g. the MQTT limits); opaque to the plumbing. */
  readonly settings: unknown;
}

export interface ShardLogic {
  /**
   * One inbound record. `ptr`/`len` locate the payload in `wasm.u8`, valid until this returns.
   * Returns false when the outbound ring is full: the loop waits for space and calls again with
   * the same record.
   */
  record(kind: number, conn: number, ptr: number, len: number): boolean;
  /** Called when the shard stops (the pool closes); the shard returns once it resolves. */
  close?(): void | Promise<void>;
  /**
   * One record from shard `from`'s ring. Same contract as `record`: false when the outbound ring
   * is full (handling a record from a shard never needs room in another shard's ring).
   */
  peerRecord?(from: number, kind: number, conn: number, ptr: number, len: number): boolean;
  /** Shard `index` is running: `ring` writes into it. Sync what it must know (`syncRetained`: retained messages too). */
  peerUp?(index: number, ring: RingProducer, syncRetained: boolean): void;
  /** Shard `index` died: forget what it told us and stop writing to it. */
  peerDown?(index: number): void;
  /** After `record` returned false: true when what is full is a ring to another shard. */
  waitingForPeer?(): boolean;
  /** Publish what was written to other shards (before the gateway's ring is flushed). */
  flush?(): void;
  /** What start-up restored from the store, if the logic has one. */
  readonly startup?: StartupReport;
  /** Work is waiting that a look soon could finish (a backlog towards another shard). */
  busy?(): boolean;
  /** Something the logic waits for comes through the thread's event loop (a store flush, a timer). */
  awaitsLoop?(): boolean;
}

export interface StartupReport {
  /** Sessions restored from the store. */
  sessions: number;
  /** Milliseconds to open the store and restore them. */
  ms: number;
}

/** A shard-logic module's default export. */
export type ShardLogicFactory = (ctx: ShardContext) => ShardLogic | Promise<ShardLogic>;
