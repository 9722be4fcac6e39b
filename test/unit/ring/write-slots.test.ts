import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SLOTS, tokenFd, WriteSlots } from '../../../src/ring/write-slots.js';
import { distModule } from '../../helpers/dist.js';

describe('write slots', () => {
  it('lends a socket to one writer at a time, until the gateway closes the slot', () => {
    const gateway = new WriteSlots();
    const shard = new WriteSlots(gateway.buffer);
    expect(shard.take(7)).toBe(0); // never opened
    const token = gateway.open(7, 42);
    expect(tokenFd(token)).toBe(42);
    expect(shard.take(7)).toBe(token);
    expect(shard.take(7)).toBe(0); // held
    shard.give(7, token);
    expect(shard.take(7)).toBe(token);
    shard.give(7, token);
    gateway.close(7);
    expect(shard.take(7)).toBe(0);
    gateway.reopen(7, token);
    expect(shard.take(7)).toBe(token);
    shard.give(7, token);
  });

  it('gives each opening its own token, so a stale one matches nothing', () => {
    const slots = new WriteSlots();
    const first = slots.open(3, 10);
    slots.close(3);
    const second = slots.open(3, 10);
    expect(second).not.toBe(first);
    expect(tokenFd(second)).toBe(10);
    // A reopen with the token of an earlier opening must not bring it back over a closed slot
    // that was since opened again, nor over a closed one that was not.
    slots.close(3);
    slots.reopen(3, second);
    expect(slots.take(3)).toBe(second);
  });

  it('has no slot for an id or a descriptor it cannot encode', () => {
    const slots = new WriteSlots();
    expect(slots.open(SLOTS, 5)).toBe(0);
    expect(slots.take(SLOTS)).toBe(0);
    expect(slots.open(1, -1)).toBe(0);
    expect(slots.open(1, 1 << 20)).toBe(0);
    expect(slots.take(1)).toBe(0);
  });

  it('makes close wait until a writer on another thread has given the slot back', async () => {
    const gateway = new WriteSlots();
    const token = gateway.open(5, 9);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const source = `
      import { workerData } from 'node:worker_threads';
      const { WriteSlots } = await import(workerData.module);
      const slots = new WriteSlots(workerData.buffer);
      const flags = new Int32Array(workerData.flags);
      const token = slots.take(5);
      Atomics.store(flags, 0, 1);                         // holding
      Atomics.wait(flags, 1, 0, 150);                     // "in write(2)" for 150 ms
      Atomics.store(flags, 0, 2);                         // done, about to give back
      slots.give(5, token);
    `;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
      workerData: {
        module: distModule('src/ring/write-slots.ts'),
        buffer: gateway.buffer,
        flags: flags.buffer,
      },
    });
    while (Atomics.load(flags, 0) !== 1) await new Promise((r) => setTimeout(r, 1));
    gateway.close(5);
    // close returned: the writer had finished, and the slot is shut for it from now on.
    expect(Atomics.load(flags, 0)).toBe(2);
    expect(new WriteSlots(gateway.buffer).take(5)).toBe(0);
    await new Promise((r) => worker.once('exit', r));
    expect(token).toBeGreaterThan(0);
  });

  it('takes back a slot whose holder never returns it (a thread killed in its write) after a bound', () => {
    const gateway = new WriteSlots();
    const shard = new WriteSlots(gateway.buffer);
    gateway.open(6, 11);
    expect(shard.take(6)).toBeGreaterThan(0); // and never given back
    const started = performance.now();
    gateway.close(6);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(shard.take(6)).toBe(0);
  });
});
