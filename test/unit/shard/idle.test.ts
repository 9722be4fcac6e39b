// A shard between batches (src/shard/idle.ts): it blocks its thread only while nothing it waits
// for comes through its event loop, and however steadily records come, its loop still turns.
import { describe, expect, it, vi } from 'vitest';
import { BELL_BYTES, Doorbell } from '../../../src/ring/doorbell.js';
import { ringBytes } from '../../../src/ring/layout.js';
import { initRing, RingConsumer, RingProducer } from '../../../src/ring/spsc-ring.js';
import { Idle } from '../../../src/shard/idle.js';

function setup(logic: { busy?: () => boolean; awaitsLoop?: () => boolean } = {}) {
  const capacity = 1024;
  const buffer = new SharedArrayBuffer(BELL_BYTES + ringBytes(capacity));
  const ref = { buffer, base: BELL_BYTES, capacity, bell: 0 };
  initRing(ref);
  const bell = new Doorbell(buffer, 0);
  const consumer = new RingConsumer(ref);
  const producer = new RingProducer(ref);
  const publish = (): void => {
    producer.write(1, Uint8Array.of(1));
    producer.flush();
  };
  return { bell, consumer, publish, idle: new Idle(bell, logic, 1) };
}

describe('a shard between batches', () => {
  it('lets its event loop turn while records never stop coming', async () => {
    const { bell, consumer, publish, idle } = setup();
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    let turns = 0;
    const end = Date.now() + 2000;
    // Every look finds a record: the shard never needs to sleep, yet the timer must run.
    while (!timerRan && Date.now() < end) {
      publish();
      while (consumer.next() >= 0);
      consumer.release();
      publish();
      const sleep = idle.sleep([consumer]);
      if (sleep) {
        turns++;
        await sleep;
      }
    }
    expect(timerRan).toBe(true);
    expect(turns).toBeGreaterThan(0);
    bell.close();
  });

  it('blocks its thread only when nothing it waits for comes through the loop', async () => {
    for (const [logic, blocks] of [
      [{}, true],
      [{ awaitsLoop: () => true }, false],
      [{ busy: () => true }, false],
    ] as const) {
      const { bell, publish, consumer, idle } = setup(logic);
      const waitSync = vi.spyOn(bell, 'waitSync');
      const sleep = idle.sleep([consumer]);
      expect(waitSync).toHaveBeenCalledTimes(blocks ? 1 : 0);
      // Either way it then sleeps on the loop, and a record wakes it.
      expect(sleep).toBeInstanceOf(Promise);
      publish();
      await sleep;
      expect(consumer.next()).toBe(1);
      bell.close();
    }
  });
});
