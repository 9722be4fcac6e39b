// The SessionStore on LMDB (lmdb-js). Every shard thread opens the same directory; lmdb-js shares
// one native environment between the threads of a process and LMDB serialises their write
// transactions, so each shard writes its own sessions without coordinating with the others.
//
// Layout: one environment, four sub-databases, keys in lmdb-js's ordered-binary encoding:
// sessions (client ID → PersistedSession, msgpack), messages ([client ID, seq] → a fixed binary
// layout), inbound ([client ID, packet id] → null) and retained (topic → msgpack tuple). Messages
// are the bulk (a million at start-up): decoding their layout by hand and copying the PUBLISH into
// a pooled Buffer loads them in less than half the time msgpack takes (measured: 0.9 s against
// 2.1 s for 1M), and the encoding done at the call is the snapshot 'interval' needs.
// Array keys sort by client ID, then numerically, so a session's messages come out in seq order.
//
// Keys: LMDB keys are at most 1978 bytes and MQTT strings up to 65535, and ordered-binary cannot
// hold an empty string or U+0000. A client ID or topic over 1000 UTF-8 bytes becomes "\u0001#" and
// its SHA-256; one that is empty or starts with U+0001 gets a second "\u0001" in front; every other
// one is its own key. No real ID can become a digest key, since its second character would be '#'.
// The session and the retained tuple keep the real string, so loads return it.
//
// Loading: one ordered pass over each sub-database, joined on the key in a Map, instead of a range
// query per session (100k seeks). Grouping by key and never comparing keys in JS matters:
// ordered-binary sorts by UTF-8 bytes, which JS string comparison does not (astral characters).
//
// Durability: 'flush' uses lmdb-js's batching (one transaction per event turn, synced after commit
// with overlappingSync). 'interval' keeps the writes in a queue (values copied at the call) and
// replays it every flushIntervalMs in one turn, so one synced transaction per interval: commitDelay
// works only with eventTurnBatching off, with which lmdb-js 3.5.6 on Node 20 let a process exit
// while it still awaited a timer (seen in a spike), and noSync risks a corrupt file on a power
// cut, not just the writes of the last interval. removeSession runs as a transaction callback (strictAsyncOrder keeps it in call order)
// so that it also sees messages put in the same, not yet committed, batch.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { asBinary, type Database, open, type RootDatabase } from 'lmdb';
import { WeirError } from '../errors.js';
import { checkDataFile, storeError } from './errors.js';
import type {
  LoadedSession,
  MessageStateValue,
  PersistedMessage,
  PersistedRetained,
  PersistedSession,
  SessionStore,
} from './store.js';

export interface LmdbStoreOptions {
  /** The store's directory (created if missing). */
  path: string;
  /** --store-max-mb in bytes: the initial map size (the caller enforces the limit with sizeBytes). */
  maxBytes: number;
  durability: 'flush' | 'interval';
  /** With 'interval': the longest time a write waits to be committed and synced. */
  flushIntervalMs: number;
  /** Told when writes start failing (the error says why and what to do) and when one commits again (null). */
  onHealth?(error: WeirError | null): void;
}

type RetainedTuple = [bytes: Uint8Array, version: 3 | 4 | 5, expiresAt: number, topic?: string];
type IdKey = [key: string, n: number];
interface TreeStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  lastPageNumber: number;
  root: TreeStats;
  free: TreeStats;
}

// A stored message: state u8, version u8, qos u8, retain u8, packetId u16, layout version u16,
// expiresAt f64, n u32, n subscription ids u32, then the PUBLISH. Little-endian. The seq is the key.
const MESSAGE_HEAD = 20;
const MESSAGE_LAYOUT = 1;

export function encodeMessage(m: PersistedMessage): Buffer {
  const n = m.subIds.length;
  const out = Buffer.allocUnsafe(MESSAGE_HEAD + 4 * n + m.bytes.length);
  out[0] = m.state;
  out[1] = m.version;
  out[2] = m.qos;
  out[3] = m.retain ? 1 : 0;
  out.writeUInt16LE(m.packetId, 4);
  out.writeUInt16LE(MESSAGE_LAYOUT, 6);
  out.writeDoubleLE(m.expiresAt, 8);
  out.writeUInt32LE(n, 16);
  for (let i = 0; i < n; i++) out.writeUInt32LE(m.subIds[i]!, MESSAGE_HEAD + 4 * i);
  out.set(m.bytes, MESSAGE_HEAD + 4 * n);
  return out;
}

/** `src` is lmdb-js's read buffer, valid until the next read: the PUBLISH is copied out. */
export function decodeMessage(src: Uint8Array, size = src.length): PersistedMessage {
  const dv = new DataView(src.buffer, src.byteOffset, size);
  if (size < MESSAGE_HEAD || dv.getUint16(6, true) !== MESSAGE_LAYOUT) {
    throw new Error(`a stored message of ${size} bytes is corrupt (unknown layout)`);
  }
  const n = dv.getUint32(16, true);
  const subIds = new Array<number>(n);
  for (let i = 0; i < n; i++) subIds[i] = dv.getUint32(MESSAGE_HEAD + 4 * i, true);
  const start = MESSAGE_HEAD + 4 * n;
  const bytes = Buffer.allocUnsafe(size - start);
  bytes.set(src.subarray(start, size));
  return {
    seq: 0,
    state: src[0] as MessageStateValue,
    packetId: dv.getUint16(4, true),
    bytes,
    version: src[1] as 3 | 4 | 5,
    qos: src[2] as 0 | 1 | 2,
    retain: src[3] === 1,
    subIds,
    expiresAt: dv.getFloat64(8, true),
  };
}

const KEY_LIMIT = 1000;

/** The LMDB key of a client ID or topic (see the header). */
export function storeKey(id: string): string {
  if (id.length > 0 && id.length <= KEY_LIMIT / 3 && id.charCodeAt(0) !== 1) return id;
  if (Buffer.byteLength(id) > KEY_LIMIT) {
    return '\u0001#' + createHash('sha256').update(id).digest('base64');
  }
  return id.length === 0 || id.charCodeAt(0) === 1 ? '\u0001\u0001' + id : id;
}

/**
 * Open (creating if missing) the store at `options.path`. Async because the directory and the data
 * file are checked first; lmdb-js's own open is synchronous. Throws WeirError ERR_STORE.
 */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<LmdbStore> {
  const { path } = options;
  guardOrphanCommits();
  await mkdir(path, { recursive: true }).catch((e: unknown) => {
    throw storeError(path, 'create the directory of', e);
  });
  await checkDataFile(path);
  try {
    return new LmdbStore(options);
  } catch (e) {
    throw e instanceof WeirError ? e : storeError(path, 'open', e);
  }
}

/** A failed lmdb-js commit, as it rejects every write of the batch (see LmdbStore.run). */
function isCommitFailure(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && 'commitError' in reason;
}

let guarded = false;

/**
 * lmdb-js opens each event turn's batch with a commit promise of its own, which it hands to
 * nobody when the batch holds only conditional writes (a remove, a transaction). When that commit
 * fails (a full disk), the promise's rejection has no handler and would end the thread, although
 * every write of the batch was rejected too and the store has dealt with it (`fail`). So on a
 * thread with a store, such rejections are dropped; any other unhandled rejection is thrown as
 * before.
 */
function guardOrphanCommits(): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    if (!isCommitFailure(reason)) throw reason;
  });
}

export class LmdbStore implements SessionStore {
  readonly path: string;
  private readonly root: RootDatabase;
  private readonly sessions: Database<PersistedSession, string>;
  private readonly messages: Database<PersistedMessage, IdKey>;
  private readonly inbound: Database<null, IdKey>;
  private readonly retained: Database<RetainedTuple, string>;
  private readonly deferred: boolean;
  private readonly intervalMs: number;
  /** 'interval': writes waiting for the next replay. */
  private queue: Array<() => Promise<unknown>> = [];
  private timer: NodeJS.Timeout | undefined;
  private replayed: { promise: Promise<void>; resolve: () => void } | undefined;
  /** The promise of the last write handed to lmdb-js; writes of one batch share one. */
  private last: Promise<unknown> | undefined;
  private batches = 0;
  /** Set when a batch failed, cleared when a later one commits. */
  private failing: { since: number; error: WeirError } | null = null;
  private readonly waiters = new Set<{ upTo: number; reject: (e: WeirError) => void }>();
  private size = 0;
  private sizeAt = -Infinity;
  private closed = false;
  private readonly onHealth: LmdbStoreOptions['onHealth'];

  /** Use openLmdbStore, which checks the directory and the data file first. */
  constructor(options: LmdbStoreOptions) {
    this.path = options.path;
    this.onHealth = options.onHealth;
    this.deferred = options.durability === 'interval';
    this.intervalMs = Math.max(1, options.flushIntervalMs);
    this.root = open({ path: options.path, maxDbs: 8, mapSize: options.maxBytes });
    try {
      const db = { encoding: 'msgpack', strictAsyncOrder: true } as const;
      this.sessions = this.root.openDB<PersistedSession, string>('sessions', db);
      // lmdb-js takes an encoder here too (not in its types); it then hands decode its read buffer.
      const encoder = { encode: encodeMessage, decode: decodeMessage };
      const messages = { strictAsyncOrder: true, encoder } as { strictAsyncOrder: true };
      this.messages = this.root.openDB<PersistedMessage, IdKey>('messages', messages);
      this.inbound = this.root.openDB<null, IdKey>('inbound-qos2', db);
      this.retained = this.root.openDB<RetainedTuple, string>('retained', db);
    } catch (e) {
      void this.root.close();
      throw e;
    }
  }

  loadSessions(owns: (clientId: string) => boolean): LoadedSession[] {
    return this.read(() => this.joinSessions(owns));
  }

  loadRetained(): Array<[topic: string, message: PersistedRetained]> {
    return this.read(() =>
      Array.from(this.retained.getRange({}), ({ key, value: r }): [string, PersistedRetained] => [
        r[3] ?? key,
        { bytes: r[0], version: r[1], expiresAt: r[2] },
      ]),
    );
  }

  private read<T>(load: () => T): T {
    try {
      this.root.resetReadTxn(); // see what other threads committed this turn, too
      return load();
    } catch (e) {
      throw storeError(this.path, 'read', e);
    }
  }

  private joinSessions(owns: (clientId: string) => boolean): LoadedSession[] {
    const found = new Map<string, LoadedSession>();
    for (const { key, value } of this.sessions.getRange({})) {
      if (owns(value.clientId)) found.set(key, { session: value, messages: [], inboundQos2: [] });
    }
    if (found.size === 0) return [];
    let group: string | undefined;
    let into: LoadedSession | undefined;
    for (const { key, value } of this.messages.getRange({})) {
      if (key[0] !== group) into = found.get((group = key[0]));
      if (!into) continue;
      value.seq = key[1];
      into.messages.push(value);
    }
    group = undefined;
    for (const key of this.inbound.getKeys({})) {
      if (key[0] !== group) into = found.get((group = key[0]));
      into?.inboundQos2.push(key[1]);
    }
    return [...found.values()];
  }

  putSession(session: PersistedSession): void {
    const value = this.deferred ? structuredClone(session) : session;
    const key = storeKey(session.clientId);
    this.write(() => this.sessions.put(key, value));
  }

  removeSession(clientId: string): void {
    const key = storeKey(clientId);
    const range = { start: [key], end: [key, Infinity] };
    this.write(() =>
      this.sessions.transaction(() => {
        void this.sessions.remove(key);
        for (const db of [this.messages, this.inbound]) {
          for (const k of Array.from(db.getKeys(range))) void db.remove(k);
        }
      }),
    );
  }

  putMessage(clientId: string, m: PersistedMessage): void {
    const value = asBinary(encodeMessage(m));
    const key: IdKey = [storeKey(clientId), m.seq];
    this.write(() => this.messages.put(key, value as PersistedMessage));
  }

  removeMessage(clientId: string, seq: number): void {
    const key: IdKey = [storeKey(clientId), seq];
    this.write(() => this.messages.remove(key));
  }

  putInboundQos2(clientId: string, packetId: number): void {
    const key: IdKey = [storeKey(clientId), packetId];
    this.write(() => this.inbound.put(key, null));
  }

  removeInboundQos2(clientId: string, packetId: number): void {
    const key: IdKey = [storeKey(clientId), packetId];
    this.write(() => this.inbound.remove(key));
  }

  putRetained(topic: string, message: PersistedRetained | null): void {
    const key = storeKey(topic);
    if (message === null) {
      this.write(() => this.retained.remove(key));
      return;
    }
    const bytes = this.deferred ? message.bytes.slice() : message.bytes;
    const value: RetainedTuple = [bytes, message.version, message.expiresAt];
    if (key !== topic) value.push(topic);
    this.write(() => this.retained.put(key, value));
  }

  flushed(): Promise<void> {
    if (this.queue.length > 0) {
      if (!this.replayed) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.replayed = { promise, resolve };
      }
      return this.replayed.promise.then(() => this.flushed());
    }
    // Failing and nothing written since: reject now. Else wait: a write that succeeds clears it.
    if (this.failing && this.batches <= this.failing.since) return Promise.reject(this.failing.error);
    const last = this.last;
    if (!last) return Promise.resolve();
    const upTo = this.batches;
    return new Promise<void>((resolve, reject) => {
      const waiter = { upTo, reject };
      this.waiters.add(waiter);
      // Taken now: lmdb-js's `flushed` is the flush of the batch open at the time of the call.
      const flush = new Promise<void>((done) => void this.root.flushed.then(() => done(), done));
      last.then(
        () =>
          flush.then(() => {
            if (!this.waiters.delete(waiter)) return;
            const failing = this.failing;
            if (failing && failing.since <= upTo) reject(failing.error);
            else resolve();
          }),
        () => {}, // fail() rejects the waiters of a failed batch
      );
    });
  }

  /**
   * Bytes in use: the pages of every B-tree (sessions, messages, inbound, retained, the main and the
   * free-list DB) and the two meta pages. LMDB never shrinks its file but reuses freed pages, so
   * this falls as sessions go, where the file size would not. Measured at most every 100 ms.
   */
  get sizeBytes(): number {
    const now = performance.now();
    if (now - this.sizeAt < 100) return this.size;
    const pages = (s: TreeStats) => s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    const stats = this.sessions.getStats() as TreeStats;
    let used = 2 + pages(stats) + pages(stats.root) + pages(stats.free);
    for (const db of [this.messages, this.inbound, this.retained]) used += pages(db.getStats() as TreeStats);
    this.size = used * stats.pageSize;
    this.sizeAt = now;
    return this.size;
  }

  /** Bytes of the data file up to its last page (never falls). */
  get fileBytes(): number {
    const stats = this.root.getStats() as TreeStats;
    return (stats.lastPageNumber + 1) * stats.pageSize;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) this.replay();
    this.closed = true;
    let failure: unknown;
    await this.flushed().catch((e: unknown) => (failure = e));
    await this.root.close();
    if (failure) throw failure;
  }

  private write(op: () => Promise<unknown>): void {
    if (this.closed) throw new WeirError('ERR_STORE', `the store at ${this.path} is closed`);
    if (!this.deferred) {
      this.run(op);
      return;
    }
    this.queue.push(op);
    this.timer ??= setTimeout(() => this.replay(), this.intervalMs);
  }

  /** 'interval': hand the queue to lmdb-js in one event turn, hence one transaction. */
  private replay(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ops = this.queue;
    this.queue = [];
    for (const op of ops) this.run(op);
    const replayed = this.replayed;
    this.replayed = undefined;
    replayed?.resolve();
  }

  private run(op: () => Promise<unknown>): void {
    let p: Promise<unknown>;
    try {
      p = op();
    } catch (e) {
      this.fail(++this.batches, e);
      return;
    }
    if (p === this.last) return;
    this.last = p;
    const batch = ++this.batches;
    p.then(
      () => {
        if (this.failing && batch > this.failing.since) {
          this.failing = null;
          this.onHealth?.(null);
        }
      },
      (e: unknown) => {
        // lmdb-js rejects every write of a failed batch with "Commit failed" and the cause in
        // `commitError`, a promise it rejects in the same callback (a second guard: 1 s).
        const details = (e as { commitError?: Promise<unknown> } | null)?.commitError;
        if (!details) return this.fail(batch, e);
        const fallback = new Promise((r) => setTimeout(r, 1000, e).unref());
        void Promise.race([
          details.then(
            () => e,
            (cause: unknown) => cause,
          ),
          fallback,
        ]).then((cause) => this.fail(batch, cause));
      },
    );
  }

  private fail(batch: number, cause: unknown): void {
    const error = storeError(this.path, 'write to', cause);
    if (!this.failing) {
      this.failing = { since: batch, error };
      this.onHealth?.(error);
    }
    for (const waiter of this.waiters) {
      if (waiter.upTo < batch) continue;
      this.waiters.delete(waiter);
      waiter.reject(error);
    }
  }
}
