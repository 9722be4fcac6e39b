// A shard between batches (src/shard/idle.ts): it blocks its thread only while nothing it waits
// for comes through its event loop, however steadily records come its loop still turns, and once
// they stop it sleeps on its loop.
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
  // A clock that moves a quarter of a millisecond at every reading: what the shard decides then
  // depends on how often it looked, not on how fast this host ran the test.
  let t = 0;
  const clock = (): number => (t += 0.25);
  return { bell, consumer, publish, idle: new Idle(bell, logic, 1, clock) };
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
      expect(waitSync.mock.calls.length > 0).toBe(blocks);
      // Either way it gives its loop a turn (or sleeps on it), and a record is then seen.
      expect(sleep).toBeInstanceOf(Promise);
      publish();
      await sleep;
      expect(consumer.next()).toBe(1);
      bell.close();
    }
  });

  it('takes a due loop turn with setImmediate and blocks again after it, while records came lately', async () => {
    const { bell, consumer, idle } = setup();
    const waitSync = vi.spyOn(bell, 'waitSync');
    const waitAsync = vi.spyOn(bell, 'wait');
    // No record yet, but the shard has just started: it blocks until its loop is due a turn.
    const turn = idle.sleep([consumer]);
    expect(turn).toBeInstanceOf(Promise);
    expect(waitSync).toHaveBeenCalled();
    // A turn taken by sleeping on the loop would have let the next record wake it the slow way.
    expect(waitAsync).not.toHaveBeenCalled();
    await turn;
    waitSync.mockClear();
    const next = idle.sleep([consumer]);
    expect(waitSync).toHaveBeenCalled();
    await next;
    bell.close();
  });

  it('sleeps on its event loop once records have stopped coming, and a record wakes it there', async () => {
    const { bell, consumer, publish, idle } = setup();
    const waitAsync = vi.spyOn(bell, 'wait');
    const end = Date.now() + 2000;
    let sleep = idle.sleep([consumer]);
    while (waitAsync.mock.calls.length === 0 && Date.now() < end) {
      await sleep;
      sleep = idle.sleep([consumer]);
    }
    expect(waitAsync).toHaveBeenCalledTimes(1);
    publish();
    await sleep;
    expect(consumer.next()).toBe(1);
    bell.close();
  });
});
