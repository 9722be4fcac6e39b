// Deadlines of a shard's sessions (keep-alive, will delay, session expiry), in one hashed wheel of
// one-second slots driven by a single interval timer, instead of one Node timer per connection.
//
// Why lazy: keep-alive deadlines move on every packet. Rather than moving the entry each time
// (a heap's decrease-key, a timer's refresh), the owner only records when it last heard from the
// client; when the entry fires, the owner's callback compares and, if the deadline moved, simply
// schedules itself again. A packet therefore costs one field store.
//
//   slots (power of two, one second each)
//   ┌────┬────┬────┬────┬─────┬────┐
//   │ 0  │ 1  │ 2  │ …  │     │ N-1│   slot = deadline mod N; an entry due beyond one turn stays
//   └─┬──┴────┴────┴────┴─────┴────┘   in its slot until the turn it is due (rounds counted by
//     └─► [entry, entry, …]            comparing its absolute deadline with now)

export interface WheelEntry {
  /** Absolute deadline in whole seconds (the wheel's clock). */
  deadline: number;
}

export class TimerWheel<E extends WheelEntry> {
  private readonly slots: E[][];
  private readonly mask: number;
  /** The last second processed. */
  private now: number;
  private count = 0;

  constructor(nowSeconds: number, slotsLog2 = 12) {
    this.slots = Array.from({ length: 1 << slotsLog2 }, () => []);
    this.mask = (1 << slotsLog2) - 1;
    this.now = nowSeconds;
  }

  get size(): number {
    return this.count;
  }

  /** Add an entry; a deadline in the past fires at the next advance. */
  schedule(entry: E): void {
    const at = Math.max(entry.deadline, this.now + 1);
    this.slots[at & this.mask]!.push(entry);
    this.count++;
  }

  /**
   * Move the clock to `nowSeconds`, handing every entry now due to `fire` (which may schedule it
   * again). Entries are not removed otherwise: owners ignore a firing they no longer want.
   */
  advance(nowSeconds: number, fire: (entry: E) => void): void {
    // After a long stall (a suspended process) visit each slot at most once.
    const end = Math.min(nowSeconds, this.now + this.slots.length);
    while (this.now < end) {
      this.now++;
      this.fireSlot(this.now & this.mask, nowSeconds, fire);
    }
    this.now = Math.max(this.now, nowSeconds);
  }

  private fireSlot(index: number, nowSeconds: number, fire: (entry: E) => void): void {
    const slot = this.slots[index]!;
    if (slot.length === 0) return;
    const keep: E[] = [];
    const due: E[] = [];
    for (const e of slot) (e.deadline <= nowSeconds ? due : keep).push(e);
    this.slots[index] = keep;
    this.count -= due.length;
    for (const e of due) fire(e);
  }
}
