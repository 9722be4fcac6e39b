import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { RECORD_HEADER, RING_DATA, recordSpace, ringBytes } from '../../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer, type RingRef } from '../../../src/ring/spsc-ring.js';
import { distModule } from '../../helpers/dist.js';

function makeRing(capacity: number, start = 0, base = 64): RingRef {
  const ring = { buffer: new SharedArrayBuffer(base + ringBytes(capacity)), base, capacity };
  initRing(ring, start);
  return ring;
}

function readAll(c: RingConsumer): Array<[number, number[]]> {
  const out: Array<[number, number[]]> = [];
  for (let len = c.next(); len >= 0; len = c.next())
    out.push([c.tag, [...c.u8.subarray(c.offset, c.offset + len)]]);
  return out;
}

describe('SPSC ring, one thread', () => {
  it('delivers records in order with their tags, only after flush', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    expect(p.write(7, Uint8Array.of(1, 2, 3))).toBe(true);
    expect(p.write(8, new Uint8Array(0))).toBe(true);
    expect(c.next()).toBe(-1);
    p.flush();
    expect(readAll(c)).toEqual([
      [7, [1, 2, 3]],
      [8, []],
    ]);
  });

  it('publishes at once only to a consumer that said it sleeps (the gateway wakes a sleeping shard on the first read)', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    p.write(7, Uint8Array.of(1));
    expect(p.flushIfConsumerSleeps()).toBe(false);
    expect(c.next()).toBe(-1);
    c.markSleeping();
    expect(p.flushIfConsumerSleeps()).toBe(true);
    expect(readAll(c)).toEqual([[7, [1]]]);
  });

  it('reports a full ring, and has room again only after release', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const record = new Uint8Array(100);
    let written = 0;
    while (p.write(written, record)) written++;
    expect(written).toBe(Math.floor(1024 / recordSpace(100)));
    p.flush();
    expect(readAll(c)).toHaveLength(written);
    expect(p.write(99, record)).toBe(false);
    c.release();
    expect(p.write(99, record)).toBe(true);
  });

  it('wakes every caller of waitForSpace on a full ring, not only the first', async () => {
    // The gateway has one such caller per connection held back by a full ring; a caller left
    // asleep is a connection whose reads stay paused for good.
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const record = new Uint8Array(100);
    while (p.write(1, record));
    p.flush();
    let woken = 0;
    const waits = [p.waitForSpace(), p.waitForSpace(), p.waitForSpace()];
    for (const w of waits) void w.then(() => woken++);
    readAll(c);
    c.release();
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 1000))]);
    expect(woken).toBe(3);
    expect(p.write(2, record)).toBe(true);
  });

  it('never splits a record across the end of DATA (wrap marker)', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      const len = (i * 37) % 300;
      const bytes = new Uint8Array(len).map((_, j) => (i + j) & 0xff);
      expect(p.write(i, bytes)).toBe(true);
      p.flush();
      const got = c.next();
      expect(got).toBe(len);
      const start = c.offset - ring.base - RING_DATA;
      expect(start - RECORD_HEADER + recordSpace(len)).toBeLessThanOrEqual(1024);
      expect([...c.u8.subarray(c.offset, c.offset + len)]).toEqual([...bytes]);
      seen.push(c.tag);
      c.release();
    }
    expect(seen).toEqual([...Array(200).keys()]);
  });

  it('keeps working when the free-running counters cross 2^32', () => {
    const ring = makeRing(1024, 0xffffff00 | 0);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    for (let i = 0; i < 100; i++) {
      expect(p.write(i, Uint8Array.of(i))).toBe(true);
      p.flush();
      expect(readAll(c)).toEqual([[i, [i]]]);
      c.release();
    }
  });

  it('rejects a record larger than half the ring: the caller must split it', () => {
    const p = new RingProducer(makeRing(1024));
    expect(() => p.reserve(600)).toThrow(/exceeds the ring's maximum of 504/);
  });

  it('rejects a misaligned base or a capacity that is not a power of two', () => {
    const buffer = new SharedArrayBuffer(8192);
    expect(() => initRing({ buffer, base: 8, capacity: 1024 })).toThrow(/64-byte aligned/);
    expect(() => initRing({ buffer, base: 0, capacity: 1000 })).toThrow(/power of two/);
    expect(() => initRing({ buffer, base: 0, capacity: 8192 })).toThrow(/overruns/);
  });
});

describe('SPSC ring: records settled before they are published', () => {
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i) & 0xff);

  it('publishes nothing when every record is taken back, and reuses their space', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    const first = p.reserve(10);
    p.commit(1, 10);
    p.write(2, bytes(30, 0));
    expect(p.unpublishedRecords).toBe(2);
    p.settle((_tag, _offset, length) => length);
    p.flush();
    expect(c.next()).toBe(-1);
    expect(p.unpublishedRecords).toBe(0);
    expect(p.reserve(10)).toBe(first);
  });

  it('delivers the records left, in order, and skips those taken back', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    for (let tag = 1; tag <= 5; tag++) p.write(tag, bytes(tag * 3, tag));
    p.write(6, new Uint8Array(0));
    p.settle((tag, _offset, length) => (tag % 2 === 0 ? length : -1));
    p.flush();
    expect(readAll(c).map(([tag]) => tag)).toEqual([1, 3, 5]);
  });

  it('trims a record to the bytes not yet delivered, whatever the padding, and keeps the records after it', () => {
    // Lengths and cuts chosen so that the trimmed record leaves no gap (20 → 17: both 32 bytes
    // of ring) and a gap that a VOID record fills (40 → 3: 48 bytes become 16 + a 32-byte VOID).
    for (const [length, done] of [
      [20, 3],
      [40, 37],
      [40, 1],
      [9, 8],
    ] as const) {
      const ring = makeRing(1024);
      const p = new RingProducer(ring);
      const c = new RingConsumer(ring);
      p.write(1, bytes(length, 7));
      p.write(2, bytes(5, 100));
      p.settle((tag) => (tag === 1 ? done : -1));
      p.flush();
      expect(readAll(c)).toEqual([
        [1, [...bytes(length, 7).subarray(done)]],
        [2, [...bytes(5, 100)]],
      ]);
      c.release();
      // The ring goes on from the same place: nothing was lost or overlapped.
      p.write(3, bytes(12, 50));
      p.flush();
      expect(readAll(c)).toEqual([[3, [...bytes(12, 50)]]]);
    }
  });

  it('settles records on both sides of a wrap marker', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    p.write(9, bytes(450, 0));
    p.write(9, bytes(450, 0));
    p.flush();
    readAll(c);
    c.release();
    // Starts near the end of DATA: the second record wraps to the front.
    p.write(1, bytes(60, 1));
    p.write(2, bytes(200, 2));
    p.write(3, bytes(30, 3));
    const seen: number[] = [];
    p.settle((tag, _offset, length) => {
      seen.push(tag);
      return tag === 2 ? 150 : tag === 1 ? length : -1;
    });
    p.flush();
    expect(seen).toEqual([1, 2, 3]);
    expect(readAll(c)).toEqual([
      [2, [...bytes(200, 2).subarray(150)]],
      [3, [...bytes(30, 3)]],
    ]);
  });

  it('knows whether its consumer has released everything published', () => {
    const ring = makeRing(1024);
    const p = new RingProducer(ring);
    const c = new RingConsumer(ring);
    expect(p.caughtUp).toBe(true);
    p.write(1, bytes(4, 0));
    expect(p.caughtUp).toBe(true); // committed, not published: the consumer holds none of it
    p.flush();
    expect(p.caughtUp).toBe(false);
    c.next();
    expect(p.caughtUp).toBe(false);
    c.release();
    expect(p.caughtUp).toBe(true);
  });
});

// The consumer runs in a worker, sleeps whenever the ring is empty, and checks every byte.
const consumerSource = `
import { workerData, parentPort } from 'node:worker_threads';
const { RingConsumer } = await import(workerData.module);
const c = new RingConsumer(workerData.ring);
let count = 0, errors = 0, sleeps = 0;
while (count < workerData.total) {
  for (let len = c.next(); len >= 0; len = c.next()) {
    const seq = c.u8[c.offset] | (c.u8[c.offset + 1] << 8) | (c.u8[c.offset + 2] << 16);
    if (seq !== count || c.tag !== (count ^ 0x5a5a) || len !== 3 + (count % 301)) errors++;
    for (let i = 3; i < len; i++) if (c.u8[c.offset + i] !== ((count + i) & 0xff)) { errors++; break; }
    count++;
  }
  c.release();
  if (count >= workerData.total) break;
  const p = c.wait();
  if (p) { sleeps++; await p; }
}
c.close();
parentPort.postMessage({ count, errors, sleeps });
`;

describe('SPSC ring across threads', () => {
  it('moves 100,000 records intact and in order through a small ring, with backpressure and sleeps', async () => {
    const total = 100_000;
    const ring = makeRing(4096, 0xfffff000 | 0);
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(consumerSource)}`), {
      workerData: { ring, total, module: distModule('src/ring/spsc-ring.ts') },
    });
    const done = new Promise<{ count: number; errors: number; sleeps: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`consumer worker exited early with code ${code}`)));
    });
    const p = new RingProducer(ring);
    let fullWaits = 0;
    for (let seq = 0; seq < total; seq++) {
      const len = 3 + (seq % 301);
      let at = p.reserve(len);
      while (at < 0) {
        p.flush();
        fullWaits++;
        await p.waitForSpace();
        at = p.reserve(len);
      }
      p.u8[at] = seq & 0xff;
      p.u8[at + 1] = (seq >> 8) & 0xff;
      p.u8[at + 2] = seq >> 16;
      for (let i = 3; i < len; i++) p.u8[at + i] = (seq + i) & 0xff;
      p.commit(seq ^ 0x5a5a, len);
      // Irregular batches, with pauses that let the consumer fall asleep.
      if (seq % 97 === 0) {
        p.flush();
        if (seq % 9 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    }
    p.flush();
    p.close();
    const result = await done;
    await worker.terminate();
    expect(result).toMatchObject({ count: total, errors: 0 });
    // Both wait paths were exercised, so the test covers the wake-up protocol, not only the data.
    expect(fullWaits).toBeGreaterThan(0);
    expect(result.sleeps).toBeGreaterThan(0);
  });
});
