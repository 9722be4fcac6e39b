// Single-producer single-consumer ring of variable-length records in shared memory (layout and
// diagram in ./layout.ts). One thread holds the RingProducer, another the RingConsumer.
//
// Batching is the point: the producer publishes HEAD once per batch (flush) and the consumer
// publishes TAIL once per batch (release). Each side keeps a cached copy of the other's counter
// and reloads it only when the cache says "empty" or "full", so the common case touches no
// shared cache line but its own.
//
// Wake-ups: a side that is about to wait sets its flag, then re-checks the counter, then waits on
// the counter's value. The other side stores its counter, then reads the flag, and notifies only
// if it is set. With sequentially consistent Atomics one of the two always sees the other, so no
// wake-up is lost, and notify (about 3.4 µs for the caller) is paid only when someone sleeps.
// Only the sleeper clears its own flag: if the waker cleared it, a second sleep between the
// store and the clear would be missed (seen in a spike: 3 stalls in 15 runs).
import { ringBell } from './doorbell.js';
import {
  RECORD_HEADER,
  RECORD_LENGTH,
  RECORD_TAG,
  RECORD_VOID,
  RECORD_WRAP,
  RING_CONSUMER_SLEEPING,
  RING_DATA,
  RING_HEAD,
  RING_MAX_CAPACITY,
  RING_MIN_CAPACITY,
  RING_PRODUCER_WAITING,
  RING_TAIL,
  recordSpace,
} from './layout.js';

/**
 * Where a ring lives: shared memory, the byte offset of its header, the size of DATA, and
 * optionally the byte offset of a doorbell (see ./doorbell.ts) in the same buffer. A consumer that
 * drains several rings sleeps on one doorbell instead of on each ring's HEAD; the producers of
 * those rings then ring the bell instead of notifying on HEAD.
 */
export interface RingRef {
  buffer: SharedArrayBuffer;
  base: number;
  capacity: number;
  bell?: number;
}

/**
 * Zero a ring's header. Done once by whoever reserves the region, before either end is built.
 * `start` sets both counters (tests use it to cross the 2^32 wrap of the free-running counters).
 */
export function initRing(ring: RingRef, start = 0): void {
  checkRef(ring);
  const i32 = new Int32Array(ring.buffer, ring.base, RING_DATA / 4);
  i32.fill(0);
  Atomics.store(i32, RING_HEAD / 4, start | 0);
  Atomics.store(i32, RING_TAIL / 4, start | 0);
}

function checkRef({ buffer, base, capacity }: RingRef): void {
  if (base % 64 !== 0) throw new RangeError(`ring base ${base} must be 64-byte aligned`);
  if (capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity ${capacity} must be a power of two from 1 KiB to 1 GiB`);
  }
  if (base + RING_DATA + capacity > buffer.byteLength) {
    throw new RangeError(
      `ring at ${base} with capacity ${capacity} overruns a ${buffer.byteLength}-byte buffer`,
    );
  }
}

// Atomics.waitAsync does not keep a thread's event loop alive: a side that sleeps on an otherwise
// idle thread would let the thread exit. Each end holds one timer handle, ref'd only while it
// sleeps (toggling ref is cheap; creating a timer per sleep is not).
const KEEP_ALIVE_MS = 2 ** 31 - 1;
function noop(): void {}

abstract class RingEnd {
  private keepAlive: NodeJS.Timeout | undefined;

  protected readonly i32: Int32Array;
  protected readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  /** Absolute byte offset of DATA in the buffer. */
  protected readonly data: number;
  protected readonly capacity: number;
  protected readonly mask: number;
  protected readonly headIndex: number;
  protected readonly tailIndex: number;
  protected readonly sleepingIndex: number;
  protected readonly waitingIndex: number;
  /** i32 index of the consumer's doorbell, or -1: wake-ups go to HEAD. */
  protected readonly bellIndex: number;

  constructor(ring: RingRef) {
    checkRef(ring);
    this.i32 = new Int32Array(ring.buffer);
    this.u32 = new Uint32Array(ring.buffer);
    this.u8 = new Uint8Array(ring.buffer);
    this.data = ring.base + RING_DATA;
    this.capacity = ring.capacity;
    this.mask = ring.capacity - 1;
    this.headIndex = (ring.base + RING_HEAD) >> 2;
    this.tailIndex = (ring.base + RING_TAIL) >> 2;
    this.sleepingIndex = (ring.base + RING_CONSUMER_SLEEPING) >> 2;
    this.waitingIndex = (ring.base + RING_PRODUCER_WAITING) >> 2;
    this.bellIndex = ring.bell === undefined ? -1 : ring.bell >> 2;
  }

  protected sleepBegins(): void {
    this.keepAlive ??= setInterval(noop, KEEP_ALIVE_MS);
    this.keepAlive.ref();
  }

  protected sleepEnds(): void {
    this.keepAlive?.unref();
  }

  /**
   * Wake this end's own pending wait (from the same thread). Used when the other end is gone
   * (its thread died), so that a waiter can notice and stop instead of sleeping forever.
   */
  interrupt(): void {
    Atomics.notify(this.i32, this.headIndex);
    Atomics.notify(this.i32, this.tailIndex);
  }

  /** Release the keep-alive handle (the end is no longer used). */
  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  /** The largest payload one record can carry: half of DATA, so a record always fits after a wrap. */
  get maxPayload(): number {
    return (this.capacity >> 1) - RECORD_HEADER;
  }
}

/** `RingProducer.settle`'s callback: payload bytes of the record delivered some other way, or -1. */
export type SettleTake = (tag: number, offset: number, length: number, end: number) => number;

export class RingProducer extends RingEnd {
  private head: number;
  private published: number;
  private cachedTail: number;
  private pending = -1;
  /** Records committed since the last flush. */
  private unpublished = 0;
  private spaceWait: Promise<void> | undefined;
  /** `settle`'s caller's callback and whether a record stayed, for the visitor made once below. */
  private settleTake: SettleTake | undefined;
  private settleKept = false;

  constructor(ring: RingRef) {
    super(ring);
    this.head = Atomics.load(this.i32, this.headIndex) >>> 0;
    this.published = this.head;
    this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
  }

  /**
   * Reserve a record for `length` payload bytes. Returns the absolute offset at which to write
   * the payload, or -1 when the ring has no room (the consumer is behind: apply backpressure and
   * `waitForSpace()`). Every successful reserve must be followed by `commit` before the next.
   */
  reserve(length: number): number {
    if (length > this.maxPayload) {
      throw new RangeError(
        `record of ${length} bytes exceeds the ring's maximum of ${this.maxPayload}; split it`,
      );
    }
    const space = recordSpace(length);
    let pos = this.head & this.mask;
    const contiguous = this.capacity - pos;
    const need = space <= contiguous ? space : contiguous + space;
    if (this.capacity - ((this.head - this.cachedTail) >>> 0) < need) {
      this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
      if (this.capacity - ((this.head - this.cachedTail) >>> 0) < need) return -1;
    }
    if (space > contiguous) {
      // Records are never split, so the consumer can hand one to the decoder as a single span.
      this.u32[(this.data + pos + RECORD_LENGTH) >> 2] = RECORD_WRAP;
      this.head = (this.head + contiguous) >>> 0;
      pos = 0;
    }
    this.pending = pos;
    return this.data + pos + RECORD_HEADER;
  }

  /** Seal the reserved record. It becomes visible to the consumer at the next `flush`. */
  commit(tag: number, length: number): void {
    const at = this.data + this.pending;
    this.u32[(at + RECORD_LENGTH) >> 2] = length;
    this.u32[(at + RECORD_TAG) >> 2] = tag;
    this.head = (this.head + recordSpace(length)) >>> 0;
    this.pending = -1;
    this.unpublished++;
  }

  /** Reserve, copy and commit in one call. False when the ring has no room. */
  write(tag: number, bytes: Uint8Array): boolean {
    const at = this.reserve(bytes.length);
    if (at < 0) return false;
    this.u8.set(bytes, at);
    this.commit(tag, bytes.length);
    return true;
  }

  /** Records committed since the last flush. */
  get unpublishedRecords(): number {
    return this.unpublished;
  }

  /** Bytes of DATA committed since the last flush (records, their headers and padding). */
  get unpublishedBytes(): number {
    return (this.head - this.published) >>> 0;
  }

  /** True when the consumer has released every record published so far (it holds none of ours). */
  get caughtUp(): boolean {
    return this.released(this.published);
  }

  /** Where the next record will start (a free-running counter, as `settle` reports record ends). */
  get committedEnd(): number {
    return this.head;
  }

  /**
   * True when the consumer has released everything up to `end` (a counter from `committedEnd`
   * or `settle`, at most 2^31 bytes old: older ones read as not released, the safe answer).
   */
  released(end: number): boolean {
    this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
    return ((this.cachedTail - end) | 0) >= 0;
  }

  /**
   * Calls `visit` for each record committed since the last flush, oldest first, skipping records
   * already taken back; `end` is the counter just past the record (for `released`).
   */
  visitUnpublished(visit: (tag: number, offset: number, length: number, end: number) => void): void {
    for (let pos = this.published; pos !== this.head;) {
      const at = pos & this.mask;
      const length = this.u32[(this.data + at + RECORD_LENGTH) >> 2]!;
      if (length === RECORD_WRAP) {
        pos = (pos + this.capacity - at) >>> 0;
        continue;
      }
      const tag = this.u32[(this.data + at + RECORD_TAG) >> 2]!;
      const end = (pos + recordSpace(length)) >>> 0;
      if (tag !== RECORD_VOID) visit(tag, this.data + at + RECORD_HEADER, length, end);
      pos = end;
    }
  }

  /**
   * Before a flush: offer each record committed since the last one, oldest first, to `take`,
   * which returns how many of its leading payload bytes the caller delivered some other way, or
   * -1 for none at all: its whole length takes the record back (the consumer never sees it), a
   * part trims it to the rest (layout.ts has the picture), -1 leaves it as it is. When every
   * record is taken back there is nothing to publish, and the space is reused at once.
   */
  settle(take: SettleTake): void {
    // The visitor is a field, not a closure per call: a shard below saturation settles a batch
    // per message.
    this.settleTake = take;
    this.settleKept = false;
    this.visitUnpublished(this.settleOne);
    this.settleTake = undefined;
    if (this.settleKept) return;
    this.head = this.published;
    this.unpublished = 0;
  }

  private readonly settleOne = (tag: number, offset: number, length: number, end: number): void => {
    const done = this.settleTake!(tag, offset, length, end);
    const record = offset - RECORD_HEADER;
    if (done === length) this.u32[(record + RECORD_TAG) >> 2] = RECORD_VOID;
    else {
      if (done > 0) this.trim(record, length, done);
      this.settleKept = true;
    }
  };

  /** Drop the first `done` payload bytes of the unpublished record at `at`; a VOID record fills the gap. */
  private trim(at: number, length: number, done: number): void {
    const payload = at + RECORD_HEADER;
    const rest = length - done;
    this.u8.copyWithin(payload, payload + done, payload + length);
    this.u32[(at + RECORD_LENGTH) >> 2] = rest;
    const gap = recordSpace(length) - recordSpace(rest);
    if (gap === 0) return;
    this.u32[(at + recordSpace(rest) + RECORD_LENGTH) >> 2] = gap - RECORD_HEADER;
    this.u32[(at + recordSpace(rest) + RECORD_TAG) >> 2] = RECORD_VOID;
  }

  /**
   * Publish (and wake the consumer) only if the consumer said it sleeps; else leave the records
   * for a later flush. True when it published.
   */
  flushIfConsumerSleeps(): boolean {
    if (Atomics.load(this.i32, this.sleepingIndex) !== 1) return false;
    this.flush();
    return true;
  }

  /** Publish every committed record; wake the consumer only if it said it sleeps. Once per batch. */
  flush(): void {
    if (this.head === this.published) return;
    Atomics.store(this.i32, this.headIndex, this.head | 0);
    this.published = this.head;
    this.unpublished = 0;
    if (Atomics.load(this.i32, this.sleepingIndex) !== 1) return;
    if (this.bellIndex < 0) Atomics.notify(this.i32, this.headIndex, 1);
    else ringBell(this.i32, this.bellIndex);
  }

  /**
   * True when a record of `length` payload bytes would fit even after a wrap, looking at the
   * cached TAIL first so that the common case touches no shared line.
   */
  hasRoom(length: number): boolean {
    const need = 2 * recordSpace(length);
    if (this.capacity - this.used >= need) return true;
    this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
    return this.capacity - this.used >= need;
  }

  /** Bytes of DATA not yet consumed, from this side's (possibly stale) view. */
  get used(): number {
    return (this.head - this.cachedTail) >>> 0;
  }

  /** Bytes of DATA free, refreshing the view of the consumer's progress. */
  get free(): number {
    this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
    return this.capacity - this.used;
  }

  /**
   * Resolves when the consumer has released space since the last failed reserve. Never blocks
   * the thread (the main thread must keep serving other sockets). Callers that wait at the same
   * time share one wait: the consumer wakes one waiter on TAIL and then clears the flag, so a
   * second `Atomics.waitAsync` of its own would sleep through every later release (on the
   * gateway, every connection held back by a full ring waits here at once).
   */
  waitForSpace(): Promise<void> {
    this.spaceWait ??= this.waitForRelease().finally(() => {
      this.spaceWait = undefined;
    });
    return this.spaceWait;
  }

  private async waitForRelease(): Promise<void> {
    Atomics.store(this.i32, this.waitingIndex, 1);
    const tail = Atomics.load(this.i32, this.tailIndex);
    if (tail >>> 0 !== this.cachedTail) {
      Atomics.store(this.i32, this.waitingIndex, 0);
      this.cachedTail = tail >>> 0;
      return;
    }
    const result = Atomics.waitAsync(this.i32, this.tailIndex, tail);
    if (result.async) {
      this.sleepBegins();
      await result.value;
      this.sleepEnds();
    }
    Atomics.store(this.i32, this.waitingIndex, 0);
    this.cachedTail = Atomics.load(this.i32, this.tailIndex) >>> 0;
  }
}

export class RingConsumer extends RingEnd {
  private tail: number;
  private released: number;
  private cachedHead: number;
  /** The last record returned by `next`: its tag and the absolute offset of its payload. */
  tag = 0;
  offset = 0;

  constructor(ring: RingRef) {
    super(ring);
    this.tail = Atomics.load(this.i32, this.tailIndex) >>> 0;
    this.released = this.tail;
    this.cachedHead = Atomics.load(this.i32, this.headIndex) >>> 0;
  }

  /**
   * Step to the next record: returns its payload length (its bytes at `offset`, valid until
   * `release`), or -1 when the ring is empty.
   */
  next(): number {
    for (;;) {
      if (this.tail === this.cachedHead) {
        this.cachedHead = Atomics.load(this.i32, this.headIndex) >>> 0;
        if (this.tail === this.cachedHead) return -1;
      }
      let pos = this.tail & this.mask;
      let length = this.u32[(this.data + pos + RECORD_LENGTH) >> 2]!;
      if (length === RECORD_WRAP) {
        // A wrap marker is only ever written together with the record that follows it.
        this.tail = (this.tail + this.capacity - pos) >>> 0;
        pos = 0;
        length = this.u32[(this.data + RECORD_LENGTH) >> 2]!;
      }
      const tag = this.u32[(this.data + pos + RECORD_TAG) >> 2]!;
      this.tail = (this.tail + recordSpace(length)) >>> 0;
      if (tag === RECORD_VOID) continue; // taken back by the producer
      this.tag = tag;
      this.offset = this.data + pos + RECORD_HEADER;
      return length;
    }
  }

  /** Give the space of every record returned so far back to the producer. Once per batch. */
  release(): void {
    if (this.tail === this.released) return;
    Atomics.store(this.i32, this.tailIndex, this.tail | 0);
    this.released = this.tail;
    if (Atomics.load(this.i32, this.waitingIndex) === 1) Atomics.notify(this.i32, this.tailIndex, 1);
  }

  /** Say this end is about to sleep (on a doorbell); see Doorbell.wait. */
  markSleeping(): void {
    Atomics.store(this.i32, this.sleepingIndex, 1);
  }

  /** This end is awake again. */
  markAwake(): void {
    Atomics.store(this.i32, this.sleepingIndex, 0);
  }

  /** True when the producer has published records this end has not stepped to yet. */
  get hasPending(): boolean {
    return Atomics.load(this.i32, this.headIndex) >>> 0 !== this.tail;
  }

  /**
   * Resolves when a record may be available. Uses Atomics.waitAsync so that the thread's event
   * loop (timers, ports) keeps running while it sleeps. Returns undefined when data is already
   * there, so the common case costs no promise.
   */
  wait(): Promise<void> | undefined {
    Atomics.store(this.i32, this.sleepingIndex, 1);
    const head = Atomics.load(this.i32, this.headIndex);
    if (head >>> 0 !== this.tail) {
      Atomics.store(this.i32, this.sleepingIndex, 0);
      return undefined;
    }
    const result = Atomics.waitAsync(this.i32, this.headIndex, head);
    if (!result.async) {
      Atomics.store(this.i32, this.sleepingIndex, 0);
      return undefined;
    }
    this.sleepBegins();
    return result.value.then(() => {
      this.sleepEnds();
      Atomics.store(this.i32, this.sleepingIndex, 0);
    });
  }
}
