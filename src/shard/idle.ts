// What a shard's loop does when its rings are empty: block its thread briefly, or sleep on its
// event loop (worker thread).
import type { Doorbell } from '../ring/doorbell.js';
import type { RingConsumer } from '../ring/spsc-ring.js';
import type { ShardLogic } from './logic.js';

/** The longest a shard goes without a turn of its event loop while records keep coming. */
const LOOP_TURN_MS = 2;
/** How long after its last record a shard still blocks its thread rather than sleep on its loop. */
const STEADY_MS = 20;

/**
 * What a shard does when its rings are empty. While records keep coming (at 10k messages a
 * second, one every 100 µs on average, in bursts a load generator's loop turn apart), it blocks
 * the thread in `Atomics.wait`: the producer's notify then wakes it with a futex wake, where a
 * thread sleeping in `Atomics.waitAsync` is woken by a task posted to its event loop, which on
 * these VMs roughly doubled the hand-off's tail (bench/HISTORY.md, "waking a shard").
 *
 * A blocked thread runs nothing else, so it blocks only when nothing it waits for comes through
 * its event loop (a store flush, a retry timer, a backlog towards another shard), and never past
 * the next turn its loop is due (every LOOP_TURN_MS: timers, control messages). That turn is a
 * `setImmediate`, after which it blocks again: a turn taken by sleeping in `waitAsync` would let
 * the next record wake it the slow way. Only after STEADY_MS without a record does it sleep in
 * `waitAsync`, which costs nothing while idle.
 */
export class Idle {
  private lastTurn: number;
  private lastRecord: number;

  constructor(
    private readonly doorbell: Doorbell,
    private readonly logic: Pick<ShardLogic, 'busy' | 'awaitsLoop'>,
    /** How soon a busy shard (a backlog towards another shard) looks again. */
    private readonly pollMs: number,
    /** Milliseconds, for the turn and steady-state deadlines (tests step it themselves). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastTurn = this.lastRecord = now();
  }

  /** Undefined when a ring may have records now; else resolves when one may. */
  sleep(rings: readonly (RingConsumer | undefined)[]): Promise<void> | undefined {
    const busy = this.logic.busy?.() === true;
    let now = this.now();
    if (!busy && !this.logic.awaitsLoop?.()) {
      while (now - this.lastRecord < STEADY_MS) {
        const untilTurn = this.lastTurn + LOOP_TURN_MS - now;
        if (untilTurn <= 0) return this.turn();
        const woken = this.doorbell.waitSync(rings, untilTurn);
        now = this.now();
        if (woken) {
          this.lastRecord = now;
          return undefined;
        }
      }
    }
    const sleep = this.doorbell.wait(rings, busy ? this.pollMs : undefined);
    if (sleep) return sleep.then(this.woke);
    this.lastRecord = now;
    // Records are waiting, but the loop may be due a turn.
    return now - this.lastTurn >= LOOP_TURN_MS ? this.turn() : undefined;
  }

  private turn(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(resolve)).then(this.turned);
  }

  private readonly turned = (): void => {
    this.lastTurn = this.now();
  };

  private readonly woke = (): void => {
    this.lastTurn = this.lastRecord = this.now();
  };
}
