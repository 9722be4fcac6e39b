// What a shard's loop does when its rings are empty: block its thread briefly, or sleep on its
// event loop (worker thread).
import type { Doorbell } from '../ring/doorbell.js';
import type { RingConsumer } from '../ring/spsc-ring.js';
import type { ShardLogic } from './logic.js';

/** The longest a shard blocks its thread waiting for records (see Idle). */
const BLOCK_MS = 1;
/** The longest a shard goes without a turn of its event loop while records keep coming. */
const LOOP_TURN_MS = 2;

/**
 * What a shard does when its rings are empty. While records keep coming (at 10k messages a
 * second, one every 100 µs), it blocks the thread in `Atomics.wait` for up to BLOCK_MS: the
 * producer's notify then wakes it with a futex wake, where a thread sleeping in
 * `Atomics.waitAsync` is woken by a task posted to its event loop, which on these VMs roughly
 * doubled the hand-off's tail (bench/README.md, "Waking a shard"). A blocked thread runs nothing
 * else, so it blocks only when nothing it waits for comes through its event loop (a store flush,
 * a retry timer, a backlog towards another shard), never for longer than BLOCK_MS at a time, and
 * it lets the loop turn at least every LOOP_TURN_MS (timers, control messages). When BLOCK_MS
 * passes without a record it sleeps in `waitAsync`, which costs nothing while idle.
 */
export class Idle {
  private lastTurn = performance.now();

  constructor(
    private readonly doorbell: Doorbell,
    private readonly logic: Pick<ShardLogic, 'busy' | 'awaitsLoop'>,
    /** How soon a busy shard (a backlog towards another shard) looks again. */
    private readonly pollMs: number,
  ) {}

  /** Undefined when a ring may have records now; else resolves when one may. */
  sleep(rings: readonly (RingConsumer | undefined)[]): Promise<void> | undefined {
    const busy = this.logic.busy?.() === true;
    const due = performance.now() - this.lastTurn >= LOOP_TURN_MS;
    if (!busy && !due && !this.logic.awaitsLoop?.() && this.doorbell.waitSync(rings, BLOCK_MS))
      return undefined;
    const sleep = this.doorbell.wait(rings, busy ? this.pollMs : undefined);
    if (sleep) return sleep.then(this.turned);
    // Records are waiting, but the loop is due a turn.
    return due ? new Promise<void>((resolve) => setImmediate(resolve)).then(this.turned) : undefined;
  }

  private readonly turned = (): void => {
    this.lastTurn = performance.now();
  };
}
