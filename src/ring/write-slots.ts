// Write slots: the plain-TCP sockets a shard may write to itself, and a lock around each write.
// Used on both threads: the gateway opens and closes slots, a shard holds one for one write(2).
//
// Why a shard writes at all: at low rates every packet a shard sends costs a wake-up of the
// sleeping main thread (an eventfd write and an inter-processor interrupt on these VMs) before
// the main thread's own write; a shard that writes the socket itself saves that hop
// (src/shard/direct-write.ts says when it does, bench/HISTORY.md what it measured).
//
// One i32 per connection id, in a SharedArrayBuffer the gateway creates and every shard maps:
//
//  slots ─►┌──────────┬──────────┬──────────┬─────┬──────────────────┐
//          │ conn 0   │ conn 1   │ conn 2   │ ... │ conn SLOTS − 1   │   i32 each
//          └──────────┴──────────┴──────────┴─────┴──────────────────┘
//
//  value      0        closed: the shard hands its bytes to the gateway (the outbound ring)
//           TOKEN > 0  open: the shard may write to the socket's file descriptor
//          −TOKEN      held: a shard is in write(2) on it right now
//
//  TOKEN  31  30           20 19                    0
//        ┌───┬───────────────┬──────────────────────┐
//        │ 0 │ GEN (11 bits) │ fd + 1 (20 bits)     │
//        └───┴───────────────┴──────────────────────┘
//
// Owners: the gateway (main thread) opens a slot when a plain-TCP connection is routed, closes it
// while it writes to the socket itself or has bytes queued there (reopening it once they are
// out), and closes it for good before the socket is closed. A shard only ever turns TOKEN into
// −TOKEN and back, around one write. Closing waits out a held slot, so a file descriptor is never
// closed, and its number never reused for another connection, under a shard's write. GEN counts
// openings (all slots share the counter), so a shard that read a TOKEN, was descheduled, and only
// then compares it cannot take a later connection's slot that has the same id and fd.

/** Connection ids with a slot; a connection with a larger id is always written by the gateway. */
export const SLOTS = 1 << 20;
const FD_BITS = 20;
const FD_MASK = (1 << FD_BITS) - 1;
const GEN_MASK = 0x7ff;

/** How long the gateway waits for a held slot before it decides the holder died (see close). */
const HOLD_LIMIT_MS = 1000;
const POLL_MS = 0.1;

/** The file descriptor a TOKEN stands for. */
export function tokenFd(token: number): number {
  return (token & FD_MASK) - 1;
}

export class WriteSlots {
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private gen = 0;

  /** A new table (gateway), or a view of the gateway's (shard). Pages are committed as ids are used. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SLOTS * 4);
    this.i32 = new Int32Array(this.buffer);
  }

  // ── gateway ──────────────────────────────────────────────────────────────────────────────

  /** Let shards write to `fd` for connection `id`; returns the TOKEN, or 0 when it cannot. */
  open(id: number, fd: number): number {
    if (id >= SLOTS || fd < 0 || fd + 1 > FD_MASK) return 0;
    this.gen = (this.gen + 1) & GEN_MASK;
    const token = (this.gen << FD_BITS) | (fd + 1);
    Atomics.store(this.i32, id, token);
    return token;
  }

  /** Reopen a slot closed by `close` (the gateway's own bytes are out). */
  reopen(id: number, token: number): void {
    if (token > 0) Atomics.compareExchange(this.i32, id, 0, token);
  }

  /**
   * No shard writes to connection `id` once this returns: a held slot is waited out (one
   * write(2), microseconds). Only a thread killed in the middle of a write holds one for long,
   * and a killed thread makes no more system calls: after HOLD_LIMIT_MS the slot is taken.
   */
  close(id: number): void {
    if (id >= SLOTS) return;
    let deadline = 0;
    for (;;) {
      const v = Atomics.load(this.i32, id);
      if (v === 0) return;
      if (v > 0) {
        if (Atomics.compareExchange(this.i32, id, v, 0) === v) return;
        continue;
      }
      const now = performance.now();
      if (deadline === 0) deadline = now + HOLD_LIMIT_MS;
      else if (now >= deadline) {
        Atomics.store(this.i32, id, 0);
        return;
      }
      Atomics.wait(this.i32, id, v, POLL_MS);
    }
  }

  // ── shard ────────────────────────────────────────────────────────────────────────────────

  /** Hold connection `id`'s slot for one write: its TOKEN, or 0 when the shard must not write. */
  take(id: number): number {
    if (id >= SLOTS) return 0;
    const v = Atomics.load(this.i32, id);
    if (v <= 0) return 0;
    return Atomics.compareExchange(this.i32, id, v, -v) === v ? v : 0;
  }

  /** The write is done. */
  give(id: number, token: number): void {
    Atomics.store(this.i32, id, token);
  }
}
