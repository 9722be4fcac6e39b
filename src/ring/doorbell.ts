// A doorbell: one i32 in shared memory that a consumer of several rings sleeps on. A shard drains
// its gateway ring and one ring from every other shard; Atomics.waitAsync waits on one address, so
// the rings' producers ring the consumer's bell (add 1, notify) instead of notifying on their
// ring's HEAD.
//
//  bell ─►┌──────────────────────────────────────────────────────────────┐
//         │ RINGS  i32  bumped by a producer that found the consumer     │ +0
//         │             asleep; the consumer waits on its value          │
//         ├──────────────────────────────────────────────────────────────┤
//         │ (padding: the bell alone on its 64-byte cache line)          │ +4 … +63
//         └──────────────────────────────────────────────────────────────┘
//
// Why no wake-up is lost: the consumer marks every ring asleep, reads the bell, then looks at
// every ring's HEAD; a producer stores HEAD, then reads the ring's sleep flag, and rings only if
// it is set. With sequentially consistent Atomics, either the consumer sees the new HEAD, or the
// producer sees the flag and bumps the bell after the consumer read it, so the consumer's wait on
// the old value returns at once or is notified.
import type { RingConsumer } from './spsc-ring.js';

/** Bytes a doorbell occupies (a cache line of its own). */
export const BELL_BYTES = 64;

export function ringBell(i32: Int32Array, index: number): void {
  Atomics.add(i32, index, 1);
  Atomics.notify(i32, index, 1);
}

const KEEP_ALIVE_MS = 2 ** 31 - 1;
function noop(): void {}

/** Doorbell.arm's answer when a ring has records: not a value an i32 bell can hold. */
const READY = 2 ** 32;

function awake(rings: readonly (RingConsumer | undefined)[]): void {
  for (const r of rings) r?.markAwake();
}

export class Doorbell {
  private readonly i32: Int32Array;
  private readonly index: number;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(buffer: SharedArrayBuffer, offset: number) {
    if (offset % 4 !== 0) throw new RangeError(`doorbell offset ${offset} must be 4-byte aligned`);
    this.i32 = new Int32Array(buffer);
    this.index = offset >> 2;
  }

  /** Wake this bell's own sleeper from the same thread (a control message needs the loop). */
  ring(): void {
    ringBell(this.i32, this.index);
  }

  /**
   * Resolves when one of `rings` may have records (or after `timeoutMs`, when given). Returns
   * undefined when one has records already, so the busy case costs no promise. Like
   * RingConsumer.wait, it keeps the thread's event loop alive while it sleeps.
   */
  wait(rings: readonly (RingConsumer | undefined)[], timeoutMs?: number): Promise<void> | undefined {
    const seen = this.arm(rings);
    if (seen === READY) return undefined;
    const result = Atomics.waitAsync(this.i32, this.index, seen, timeoutMs);
    if (!result.async) {
      awake(rings);
      return undefined;
    }
    this.keepAlive ??= setInterval(noop, KEEP_ALIVE_MS);
    this.keepAlive.ref();
    return result.value.then(() => {
      this.keepAlive?.unref();
      awake(rings);
    });
  }

  /**
   * Like `wait`, but blocks the thread in `Atomics.wait` for up to `ms`: a producer's
   * `Atomics.notify` then wakes it with a futex wake alone, where a `waitAsync` sleeper is woken
   * by a task posted to its event loop (an eventfd write and read, a promise, a microtask turn).
   * Returns true when a ring may have records, false when `ms` passed without any. Nothing else
   * on the thread runs meanwhile (timers, ports, I/O callbacks), so `ms` must stay short.
   */
  waitSync(rings: readonly (RingConsumer | undefined)[], ms: number): boolean {
    const seen = this.arm(rings);
    if (seen === READY) return true;
    const woken = Atomics.wait(this.i32, this.index, seen, ms) !== 'timed-out';
    awake(rings);
    return woken;
  }

  /**
   * The first half of either wait (see "Why no wake-up is lost" above): mark every ring asleep,
   * read the bell, then look at the rings. Returns the bell's value to wait on, or READY (every
   * ring awake again) when one has records already.
   */
  private arm(rings: readonly (RingConsumer | undefined)[]): number {
    for (const r of rings) r?.markSleeping();
    const seen = Atomics.load(this.i32, this.index);
    for (const r of rings) {
      if (r?.hasPending) {
        awake(rings);
        return READY;
      }
    }
    return seen;
  }

  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
