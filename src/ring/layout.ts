// The layout of a single-producer single-consumer ring in shared memory. Used on both threads: the
// main thread and a shard each hold one end. The ring may sit anywhere in a SharedArrayBuffer (in
// the broker: inside a shard's shared WebAssembly.Memory, so the WASM decoder reads records where
// the main thread wrote them, with no second copy).
//
//  base ─►┌──────────────────────────────────────────────────────────────┐
//         │ HEAD        u32  bytes ever written (producer stores)        │ +0
//         ├──────────────────────────────────────────────────────────────┤
//         │ (padding: HEAD alone on its 64-byte cache line)              │
//         ├──────────────────────────────────────────────────────────────┤
//         │ TAIL        u32  bytes ever consumed (consumer stores)       │ +64
//         ├──────────────────────────────────────────────────────────────┤
//         │ CONSUMER_SLEEPING  i32  1 while the consumer waits on HEAD   │ +128
//         ├──────────────────────────────────────────────────────────────┤
//         │ PRODUCER_WAITING   i32  1 while the producer waits on TAIL   │ +192
//         ├──────────────────────────────────────────────────────────────┤
//         │ DATA  capacity bytes (a power of two), records back to back  │ +256
//         └──────────────────────────────────────────────────────────────┘
//
// A record, 8-byte aligned, never split across the end of DATA (so a consumer can hand a record's
// bytes to the decoder as one span):
//
//         ┌──────────────┬──────────────┬───────────────────────┬─────────┐
//         │ LENGTH u32   │ TAG u32      │ payload (LENGTH bytes)│ pad → 8 │
//         └──────────────┴──────────────┴───────────────────────┴─────────┘
//
// LENGTH == WRAP means "the rest of DATA is unused; continue at DATA + 0". TAG is the caller's
// (in the broker: a connection id and a record kind), except TAG == VOID: a record its producer
// took back before publishing it (RingProducer.settle), which consumers step over. HEAD and TAIL
// are free-running u32 counters: used = (HEAD − TAIL) mod 2^32, so capacity is at most 2^30.
//
// Taking records back happens only between commit and flush, where the consumer cannot look:
//
//   a record whose first K payload bytes the producer delivered some other way (trimmed)
//         ┌────────┬─────┬──────────────────────────┬───────────────┐
//  before │ LENGTH │ TAG │ K bytes gone │ the rest  │ pad           │
//         └────────┴─────┴──────────────────────────┴───────────────┘
//         ┌────────┬─────┬───────────┬─────────┬────────┬──────┬────┐
//  after  │ rest   │ TAG │ the rest  │ pad → 8 │ LENGTH │ VOID │ …  │  a VOID record fills the
//         └────────┴─────┴───────────┴─────────┴────────┴──────┴────┘  gap to the old end, if any
//
// Both records are 8-byte multiples, so the gap is 0 or at least a record header: the records
// after it stay where they were.
//
// Why each counter and flag has a cache line of its own: the two threads write different fields
// all the time; sharing a line makes every store invalidate the other core's copy (measured here:
// about 2× throughput from the separation, see ../shared/STACK.md).

export const RING_HEAD = 0;
export const RING_TAIL = 64;
export const RING_CONSUMER_SLEEPING = 128;
export const RING_PRODUCER_WAITING = 192;
export const RING_DATA = 256;

export const RECORD_LENGTH = 0;
export const RECORD_TAG = 4;
export const RECORD_HEADER = 8;
export const RECORD_ALIGN = 8;
/** LENGTH value of the marker that skips the unused end of DATA. */
export const RECORD_WRAP = 0xffffffff;
/** TAG of a record taken back before it was published: consumers never return it. */
export const RECORD_VOID = 0xffffffff;

export const RING_MIN_CAPACITY = 1024;
export const RING_MAX_CAPACITY = 1 << 30;

/** Bytes a ring of `capacity` occupies, header included. */
export function ringBytes(capacity: number): number {
  return RING_DATA + capacity;
}

/** Space one record with `payloadLength` bytes takes in DATA. */
export function recordSpace(payloadLength: number): number {
  return (RECORD_HEADER + payloadLength + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1);
}
