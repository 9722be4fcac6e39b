// For one batch at a time: the last record seen of each connection, so that a batch's records can
// be chained per connection. A Map would do it, but it must be emptied for every batch, and
// emptying a long-lived Map (or Set) makes V8 allocate its new table in the old generation, where
// it stays until a full collection: about 100 B a batch, which at lat-10k (a batch per message)
// grew a shard's old space by 1 MB a second and brought a 3–8 ms mark-compact every ten seconds
// (bench/HISTORY.md, "A Map emptied for every batch"). Here the table is allocated once, and a
// new batch only moves a stamp.

/** Maps an int key to the last record index set for it during the current batch. */
export class BatchIndex {
  private readonly keys: Int32Array;
  private readonly records: Int32Array;
  /** The batch an entry belongs to: an entry of an older stamp is a free slot. */
  private readonly stamps: Uint32Array;
  private readonly shift: number;
  private readonly mask: number;
  private stamp = 1;
  private used = 0;

  /** Room for `capacity` distinct keys a batch (the table is kept at most half full). */
  constructor(readonly capacity: number) {
    let bits = 1;
    while (1 << bits < capacity * 2) bits++;
    this.keys = new Int32Array(1 << bits);
    this.records = new Int32Array(1 << bits);
    this.stamps = new Uint32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  /** Start a batch: every key is forgotten. */
  reset(): void {
    this.used = 0;
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      // After 2^32 batches: stamp 0 must again mean "never set".
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** The record last set for `key` in this batch (-1: none); `record` takes its place. */
  swap(key: number, record: number): number {
    const { keys, records, stamps, mask, stamp } = this;
    for (let at = Math.imul(key, 0x9e3779b1) >>> this.shift; ; at = (at + 1) & mask) {
      if (stamps[at] !== stamp) {
        if (this.used === this.capacity)
          throw new RangeError(`BatchIndex: more than ${this.capacity} keys in a batch`);
        this.used++;
        stamps[at] = stamp;
        keys[at] = key;
        records[at] = record;
        return -1;
      }
      if (keys[at] === key) {
        const before = records[at]!;
        records[at] = record;
        return before;
      }
    }
  }
}
