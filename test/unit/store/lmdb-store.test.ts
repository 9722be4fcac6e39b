import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { open as openLmdb } from 'lmdb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mountTmpfs, type Tmpfs } from '../../helpers/tmpfs.js';
import { WeirError } from '../../../src/errors.js';
import { storeError } from '../../../src/store/errors.js';
import { type LmdbStore, openLmdbStore, type LmdbStoreOptions } from '../../../src/store/lmdb-store.js';
import {
  type LoadedSession,
  MessageState,
  type PersistedMessage,
  type PersistedSession,
} from '../../../src/store/store.js';

let dirs: string[] = [];
let open: LmdbStore[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-lmdb-'));
  dirs.push(dir);
  return dir;
}

async function openStore(path: string, more: Partial<LmdbStoreOptions> = {}): Promise<LmdbStore> {
  const store = await openLmdbStore({
    path,
    maxBytes: 64 * 1024 * 1024,
    durability: 'flush',
    flushIntervalMs: 20,
    ...more,
  });
  open.push(store);
  return store;
}

async function reopen(store: LmdbStore, more: Partial<LmdbStoreOptions> = {}): Promise<LmdbStore> {
  await store.close();
  return openStore(store.path, more);
}

afterEach(async () => {
  for (const store of open) await store.close().catch(() => {});
  open = [];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function session(clientId: string, more: Partial<PersistedSession> = {}): PersistedSession {
  return {
    clientId,
    version: 5,
    expiryInterval: 0xffffffff,
    disconnectedAt: 0,
    subscriptions: [],
    will: null,
    ...more,
  };
}

function message(seq: number, more: Partial<PersistedMessage> = {}): PersistedMessage {
  return {
    seq,
    state: MessageState.QUEUED,
    packetId: 0,
    bytes: Uint8Array.of(0x30, seq & 0xff, 1, 2, 3),
    version: 5,
    qos: 1,
    retain: false,
    subIds: [],
    expiresAt: 0,
    ...more,
  };
}

/** Loads give Buffers (a Uint8Array): compare them as plain Uint8Arrays. */
function plain<T>(value: T): T {
  if (Buffer.isBuffer(value)) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value;
}

const all = () => true;
const byId = (loaded: LoadedSession[]) => new Map(loaded.map((l) => [l.session.clientId, l]));

describe('LmdbStore', () => {
  it('round-trips every record kind through a fresh open', async () => {
    let store = await openStore(tempDir());
    const full = session('full', {
      version: 4,
      expiryInterval: 300,
      disconnectedAt: 1_700_000_000_123,
      subscriptions: [
        {
          key: '$share/g/a/+',
          filter: 'a/+',
          options: { qos: 2, nl: true, rap: false, rh: 1, subId: 7, group: 'g' },
        },
        {
          key: 'b/#',
          filter: 'b/#',
          options: { qos: 0, nl: false, rap: true, rh: 2, subId: 0, group: null },
        },
      ],
      will: { bytes: Uint8Array.of(0x30, 0, 255, 128), version: 4, delay: 30 },
    });
    store.putSession(full);
    const m1 = message(1, {
      state: MessageState.AWAIT_PUBREC,
      packetId: 65535,
      bytes: new Uint8Array(1000).map((_, i) => i & 0xff),
      version: 3,
      qos: 2,
      retain: true,
      subIds: [1, 268435455],
      expiresAt: 1_800_000_000_000,
    });
    store.putMessage('full', m1);
    store.putMessage('full', message(2));
    store.putInboundQos2('full', 9);
    store.putInboundQos2('full', 3);
    store.putRetained('t/1', { bytes: Uint8Array.of(9, 8, 7), version: 5, expiresAt: 42 });
    await store.flushed();
    store = await reopen(store);

    const [loaded, ...rest] = plain(store.loadSessions(all));
    expect(rest).toEqual([]);
    expect(loaded!.session).toEqual(full);
    expect(loaded!.messages).toEqual([m1, message(2)]);
    expect(loaded!.inboundQos2).toEqual([3, 9]);
    const raw = store.loadSessions(all)[0]!;
    expect(raw.session.will!.bytes).toBeInstanceOf(Uint8Array);
    expect(raw.messages[0]!.bytes).toBeInstanceOf(Uint8Array);
    const retained = store.loadRetained();
    expect(plain(retained)).toEqual([['t/1', { bytes: Uint8Array.of(9, 8, 7), version: 5, expiresAt: 42 }]]);
    expect(retained[0]![1].bytes).toBeInstanceOf(Uint8Array);
  });

  it('replaces a message with the same seq and removes single messages and inbound ids', async () => {
    let store = await openStore(tempDir());
    store.putSession(session('c'));
    store.putMessage('c', message(1));
    store.putMessage('c', message(2));
    store.putMessage('c', message(1, { state: MessageState.AWAIT_PUBACK, packetId: 5 }));
    store.removeMessage('c', 2);
    store.putInboundQos2('c', 1);
    store.putInboundQos2('c', 2);
    store.removeInboundQos2('c', 1);
    await store.flushed();
    store = await reopen(store);
    const [loaded] = plain(store.loadSessions(all));
    expect(loaded!.messages).toEqual([message(1, { state: MessageState.AWAIT_PUBACK, packetId: 5 })]);
    expect(loaded!.inboundQos2).toEqual([2]);
  });

  it('removeSession removes that session, its messages and inbound ids, and nothing else', async () => {
    let store = await openStore(tempDir());
    // Neighbours in key order: a prefix, an extension and a successor of the removed ID.
    for (const id of ['a', 'ab', 'a\u0001', 'b']) {
      store.putSession(session(id));
      for (let seq = 0; seq < 3; seq++) store.putMessage(id, message(seq));
      store.putInboundQos2(id, 1);
    }
    await store.flushed();
    store.putMessage('a', message(3)); // in the same batch as the removal: removed too
    store.removeSession('a');
    store.putMessage('a', message(4)); // after the removal, in call order: kept
    await store.flushed();
    store = await reopen(store);
    const loaded = byId(store.loadSessions(all));
    expect([...loaded.keys()].sort()).toEqual(['a\u0001', 'ab', 'b']);
    for (const l of loaded.values()) {
      expect(l.messages.map((m) => m.seq)).toEqual([0, 1, 2]);
      expect(l.inboundQos2).toEqual([1]);
    }
    // The message put after the removal has no session: a new session 'a' finds only it.
    store.putSession(session('a'));
    await store.flushed();
    expect(
      byId(store.loadSessions((id) => id === 'a'))
        .get('a')!
        .messages.map((m) => m.seq),
    ).toEqual([4]);
  });

  it('loads messages in seq order whatever the order of the puts', async () => {
    let store = await openStore(tempDir());
    store.putSession(session('s'));
    const seqs = [5, 1, 300, 10, 2, 1e12, 0, 70000];
    for (const seq of seqs) store.putMessage('s', message(seq));
    await store.flushed();
    store = await reopen(store);
    const [loaded] = store.loadSessions(all);
    expect(loaded!.messages.map((m) => m.seq)).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('loads only the sessions that owns() accepts, each with its own messages', async () => {
    const store = await openStore(tempDir());
    for (let i = 0; i < 20; i++) {
      store.putSession(session(`client-${i}`));
      store.putMessage(`client-${i}`, message(i));
      store.putInboundQos2(`client-${i}`, i + 1);
    }
    store.putMessage('orphan', message(1)); // a message without a session is not loaded
    await store.flushed();
    const asked: string[] = [];
    const even = store.loadSessions((id) => {
      asked.push(id);
      return Number(id.split('-')[1]) % 2 === 0;
    });
    expect(asked.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `client-${i}`).sort());
    expect(even.map((l) => l.session.clientId).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `client-${i * 2}`).sort(),
    );
    for (const l of even) {
      const n = Number(l.session.clientId.split('-')[1]);
      expect(l.messages.map((m) => m.seq)).toEqual([n]);
      expect(l.inboundQos2).toEqual([n + 1]);
    }
    expect(store.loadSessions(() => false)).toEqual([]);
  });

  it('stores client IDs and topics of any length and content under safe keys', async () => {
    let store = await openStore(tempDir());
    const long = 'x'.repeat(5000);
    const longWide = '\u{1F600}'.repeat(1500); // 6000 UTF-8 bytes in 3000 UTF-16 units
    const ids = [long, longWide, '', '\u0001', '\u0001#abc', 'é'.repeat(500), 'y'.repeat(1000)];
    for (const [i, id] of ids.entries()) {
      store.putSession(session(id, { expiryInterval: i }));
      store.putMessage(id, message(2));
      store.putMessage(id, message(1));
      store.putInboundQos2(id, i + 1);
      store.putRetained(`${id}/t`, { bytes: Uint8Array.of(i), version: 5, expiresAt: 0 });
    }
    const longTopic = 'a/'.repeat(2500);
    store.putRetained(longTopic, { bytes: Uint8Array.of(1), version: 4, expiresAt: 0 });
    await store.flushed();
    store = await reopen(store);
    const loaded = byId(store.loadSessions(all));
    expect(loaded.size).toBe(ids.length);
    for (const [i, id] of ids.entries()) {
      const l = loaded.get(id)!;
      expect(l.session.expiryInterval).toBe(i);
      expect(l.messages.map((m) => m.seq)).toEqual([1, 2]);
      expect(l.inboundQos2).toEqual([i + 1]);
    }
    const retained = new Map(store.loadRetained());
    expect(retained.size).toBe(ids.length + 1);
    expect(retained.get(longTopic)!.version).toBe(4);
    for (const [i, id] of ids.entries()) expect([...retained.get(`${id}/t`)!.bytes]).toEqual([i]);

    store.removeSession(long);
    store.putRetained(longTopic, null);
    await store.flushed();
    store = await reopen(store);
    expect(byId(store.loadSessions(all)).has(long)).toBe(false);
    expect(store.loadSessions(all)).toHaveLength(ids.length - 1);
    expect(new Map(store.loadRetained()).has(longTopic)).toBe(false);
  });

  it('sets, replaces and clears retained messages', async () => {
    let store = await openStore(tempDir());
    store.putRetained('a', { bytes: Uint8Array.of(1), version: 5, expiresAt: 0 });
    store.putRetained('b', { bytes: Uint8Array.of(2), version: 5, expiresAt: 0 });
    store.putRetained('a', { bytes: Uint8Array.of(3), version: 3, expiresAt: 7 });
    store.putRetained('b', null);
    store.putRetained('never-set', null);
    await store.flushed();
    store = await reopen(store);
    expect(plain(store.loadRetained())).toEqual([
      ['a', { bytes: Uint8Array.of(3), version: 3, expiresAt: 7 }],
    ]);
  });

  it.each(['flush', 'interval'] as const)(
    'with durability %s, flushed() resolves and a fresh open sees the writes',
    async (durability) => {
      const dir = tempDir();
      const store = await openStore(dir, { durability, flushIntervalMs: 10 });
      await store.flushed(); // nothing written yet
      for (let i = 0; i < 100; i++) {
        store.putSession(session(`c${i}`));
        store.putMessage(`c${i}`, message(i));
      }
      await store.flushed();
      await store.flushed();
      await store.close();
      const fresh = await openStore(dir, { durability });
      const loaded = fresh.loadSessions(all);
      expect(loaded).toHaveLength(100);
      expect(loaded.every((l) => l.messages.length === 1)).toBe(true);
    },
  );

  it('with durability interval, holds writes until the interval ends (or close)', async () => {
    const dir = tempDir();
    const store = await openStore(dir, { durability: 'interval', flushIntervalMs: 600_000 });
    const reader = await openStore(dir);
    const original = session('held', { subscriptions: [] });
    store.putSession(original);
    original.subscriptions.push({
      key: 'x',
      filter: 'x',
      options: { qos: 0, nl: false, rap: false, rh: 0, subId: 0, group: null },
    }); // the store took a snapshot at the call
    expect(reader.loadSessions(all)).toEqual([]);
    await store.close();
    const [loaded] = reader.loadSessions(all);
    expect(loaded!.session).toEqual(session('held'));
  });

  it('reports its size in bytes, which grows with the data', async () => {
    let store = await openStore(tempDir());
    const empty = store.sizeBytes;
    expect(empty).toBeGreaterThan(0);
    store.putSession(session('big'));
    for (let seq = 0; seq < 2000; seq++)
      store.putMessage('big', message(seq, { bytes: new Uint8Array(500) }));
    await store.flushed();
    store = await reopen(store);
    expect(store.sizeBytes).toBeGreaterThan(empty + 1_000_000);
    expect(store.fileBytes).toBeGreaterThanOrEqual(store.sizeBytes);
    store.removeSession('big');
    await store.flushed();
    store = await reopen(store);
    expect(store.sizeBytes).toBeLessThan(empty + 100_000); // freed pages are not counted
  });

  it('takes writes from several threads at once', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const go = new SharedArrayBuffer(4);
    const fixture = new URL('../../fixtures/lmdb-writer.mjs', import.meta.url);
    const sessions = 50;
    const messages = 20;
    const workers = ['w1', 'w2'].map(
      (prefix) =>
        new Worker(fixture, {
          workerData: { path: dir, maxBytes: 64 * 1024 * 1024, prefix, sessions, messages, go },
        }),
    );
    const done = workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
          w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
        }),
    );
    await new Promise((r) => setTimeout(r, 100)); // let the workers open the store and wait on `go`
    Atomics.store(new Int32Array(go), 0, 1);
    Atomics.notify(new Int32Array(go), 0);
    for (let s = 0; s < sessions; s++) {
      store.putSession(session(`main-${s}`));
      for (let seq = 0; seq < messages; seq++) store.putMessage(`main-${s}`, message(seq));
      await new Promise((r) => setImmediate(r));
    }
    await store.flushed();
    await Promise.all(done);

    const loaded = byId(store.loadSessions(all));
    expect(loaded.size).toBe(3 * sessions);
    for (const prefix of ['main', 'w1', 'w2']) {
      for (let s = 0; s < sessions; s++) {
        const l = loaded.get(`${prefix}-${s}`)!;
        expect(l.messages.map((m) => m.seq)).toEqual(Array.from({ length: messages }, (_, i) => i));
        if (prefix === 'main') continue;
        const { bytes, ...rest } = l.messages[3]!;
        expect([...bytes]).toEqual([s & 0xff, 3]);
        expect(rest).toEqual({ ...message(3), bytes: undefined });
      }
    }
  });
});

describe('LmdbStore errors', () => {
  it('cannot open under a regular file: ERR_STORE naming the path and the remedy', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const path = join(file, 'store');
    const error = await openStore(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('ERR_STORE');
    expect((error as WeirError).message).toContain(path);
    expect((error as WeirError).message).toMatch(/not a directory.*choose another --data-dir/);
  });

  it('refuses a data file that is not LMDB: ERR_STORE, move the directory aside', async () => {
    for (const garbage of [Buffer.alloc(65536, 0x5a), Buffer.from('not a store'), Buffer.alloc(8192)]) {
      const dir = tempDir();
      writeFileSync(join(dir, 'data.mdb'), garbage);
      const error = await openStore(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeirError);
      expect((error as WeirError).code).toBe('ERR_STORE');
      expect((error as WeirError).message).toContain(join(dir, 'data.mdb'));
      expect((error as WeirError).message).toContain('move the directory aside');
    }
  });

  it('refuses a store whose meta pages were overwritten', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    for (let i = 0; i < 100; i++) store.putSession(session(`c${i}`));
    await store.close();
    for (const page of [0, 1]) {
      // A copy of the good store, with one meta page trashed.
      const copy = tempDir();
      copyFileSync(join(dir, 'data.mdb'), join(copy, 'data.mdb'));
      const fd = openSync(join(copy, 'data.mdb'), 'r+');
      writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, page * 4096);
      closeSync(fd);
      const error = await openStore(copy).catch((e: unknown) => e);
      expect((error as WeirError).code).toBe('ERR_STORE');
      expect((error as WeirError).message).toContain(`page ${page}`);
    }
    const again = await openStore(dir); // the original still opens
    expect(again.loadSessions(all)).toHaveLength(100);
  });

  it('reports a stored message it cannot decode as a corrupt store', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    store.putSession(session('c'));
    store.putMessage('c', message(1));
    await store.close();
    const raw = openLmdb({ path: dir, maxDbs: 8 });
    await raw.openDB('messages', { encoding: 'binary' }).put(['c', 2], Buffer.from('garbage'));
    await raw.close();
    const again = await openStore(dir);
    expect(() => again.loadSessions(all)).toThrow(
      /cannot read the store at .*corrupt.*move the directory aside/,
    );
  });

  it('maps each failure cause to its remedy', () => {
    const cases: Array<[unknown, RegExp]> = [
      [Object.assign(new Error('No space left on device'), { code: 28 }), /disk is full.*free space/],
      [Object.assign(new Error('Input/output error'), { code: 5 }), /I\/O error.*free space/],
      [
        Object.assign(new Error('MDB_MAP_FULL: Environment mapsize limit reached'), { code: -30792 }),
        /raise --store-max-mb/,
      ],
      [
        Object.assign(new Error('EACCES: permission denied, mkdir'), { code: 'EACCES' }),
        /permission denied.*permissions/,
      ],
      [
        Object.assign(new Error('MDB_CORRUPTED: Located page was wrong type'), { code: -30796 }),
        /corrupt.*move the directory aside/,
      ],
      [new Error('something else'), /something else$/],
    ];
    for (const [cause, remedy] of cases) {
      const error = storeError('/var/lib/weir', 'write to', cause);
      expect(error.code).toBe('ERR_STORE');
      expect(error.message).toMatch(/^cannot write to the store at \/var\/lib\/weir: /);
      expect(error.message).toMatch(remedy);
    }
  });
});

// A real write failure needs a full disk: a small tmpfs, where mounting is allowed (root in CI).
let disk: Tmpfs | undefined;
describe('LmdbStore on a full disk', () => {
  beforeAll(() => {
    disk = mountTmpfs('weir-lmdb-tmpfs', '2m');
  });
  afterAll(() => disk?.unmount());

  it('rejects flushed() with ERR_STORE until a write succeeds again', async (ctx) => {
    if (!disk) return ctx.skip();
    const mountPoint = disk.path;
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {}); // lmdb-js logs the failure
    try {
      const path = join(mountPoint, 'store');
      const store = await openStore(path);
      writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(1024 * 1024));
      store.putSession(session('c'));
      for (let seq = 0; seq < 5000; seq++)
        store.putMessage('c', message(seq, { bytes: new Uint8Array(400) }));
      const error = await store.flushed().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeirError);
      expect((error as WeirError).code).toBe('ERR_STORE');
      expect((error as WeirError).message).toContain(`cannot write to the store at ${path}`);
      expect((error as WeirError).message).toMatch(/free space/);
      await expect(store.flushed()).rejects.toThrow(/free space/); // still failing: nothing succeeded since
      rmSync(join(mountPoint, 'filler'));
      store.putSession(session('after'));
      await expect(store.flushed()).resolves.toBeUndefined(); // a write succeeded: no longer failing
      await expect(store.flushed()).resolves.toBeUndefined();
      await store.close();
    } finally {
      quiet.mockRestore();
    }
  });
});
