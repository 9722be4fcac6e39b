import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BELL_BYTES, Doorbell } from '../../../src/ring/doorbell.js';
import { ringBytes } from '../../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer, type RingRef } from '../../../src/ring/spsc-ring.js';

// Two rings in one buffer, both ringing the bell at offset 0 (as a shard's gateway ring and its
// ring from another shard do).
function setup(): { bell: Doorbell; buffer: SharedArrayBuffer; refs: RingRef[] } {
  const capacity = 1024;
  const buffer = new SharedArrayBuffer(BELL_BYTES + 2 * ringBytes(capacity));
  const refs = [0, 1].map((i) => ({ buffer, base: BELL_BYTES + i * ringBytes(capacity), capacity, bell: 0 }));
  for (const r of refs) initRing(r);
  return { bell: new Doorbell(buffer, 0), buffer, refs };
}

const settle = (p: Promise<void>) =>
  Promise.race([p.then(() => 'woken'), new Promise((r) => setTimeout(() => r('asleep'), 200))]);

describe('doorbell over several rings', () => {
  it('does not sleep while any ring has records', () => {
    const { bell, refs } = setup();
    const consumers = refs.map((r) => new RingConsumer(r));
    const p = new RingProducer(refs[1]!);
    p.write(1, Uint8Array.of(1));
    p.flush();
    expect(bell.wait(consumers)).toBeUndefined();
    bell.close();
  });

  it('wakes the sleeper when either ring is flushed, and only then', async () => {
    const { bell, buffer, refs } = setup();
    const consumers = refs.map((r) => new RingConsumer(r));
    for (const which of [0, 1]) {
      const sleep = bell.wait(consumers)!;
      expect(sleep).toBeInstanceOf(Promise);
      expect(await settle(sleep)).toBe('asleep');
      const p = new RingProducer(refs[which]!);
      p.write(which, Uint8Array.of(9));
      p.flush(); // the consumer said it sleeps: the producer rings the bell
      expect(await settle(sleep)).toBe('woken');
      expect(new Int32Array(buffer, 0, 1)[0]).toBe(which + 1);
      expect(consumers[which]!.next()).toBe(1);
      consumers[which]!.release();
    }
    bell.close();
  });

  it('does not ring for a consumer that is awake (no notify per batch while busy)', () => {
    const { buffer, refs } = setup();
    const p = new RingProducer(refs[0]!);
    p.write(1, Uint8Array.of(1));
    p.flush();
    expect(new Int32Array(buffer, 0, 1)[0]).toBe(0);
  });

  it('times out when asked to look again soon', async () => {
    const { bell, refs } = setup();
    const sleep = bell.wait(
      refs.map((r) => new RingConsumer(r)),
      10,
    )!;
    expect(await settle(sleep)).toBe('woken');
    bell.close();
  });

  it('blocks the thread until a producer on another thread publishes (waitSync)', async () => {
    const { bell, buffer, refs } = setup();
    const consumers = refs.map((r) => new RingConsumer(r));
    // A producer's flush, reduced to what wakes the consumer: HEAD moves, then the bell rings
    // because the consumer said it sleeps. Done by another thread while this one is blocked.
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const i32 = new Int32Array(workerData.buffer);
       setTimeout(() => { Atomics.add(i32, 0, 1); Atomics.notify(i32, 0, 1); }, 50);`,
      { eval: true, workerData: { buffer } },
    );
    await new Promise((resolve) => worker.once('online', resolve));
    expect(bell.waitSync(consumers, 5000)).toBe(true);
    expect(new Int32Array(buffer, 0, 1)[0]).toBe(1);
    await worker.terminate();
    bell.close();
  });

  it('waitSync returns at once while a ring has records, and false when the time passes', () => {
    const { bell, refs } = setup();
    const consumers = refs.map((r) => new RingConsumer(r));
    expect(bell.waitSync(consumers, 20)).toBe(false);
    const p = new RingProducer(refs[0]!);
    p.write(1, Uint8Array.of(1));
    p.flush();
    expect(bell.waitSync(consumers, 60_000)).toBe(true);
    // Awake again: a producer's next flush does not ring.
    p.write(1, Uint8Array.of(2));
    p.flush();
    expect(new Int32Array(refs[0]!.buffer, 0, 1)[0]).toBe(0);
  });
});
