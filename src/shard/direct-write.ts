// Direct writes: a shard writes a small batch of packets to plain-TCP sockets itself, instead of
// waking the main thread to write them.
//
// Why: at low rates both Weir threads sleep between messages, so a message used to cross four
// thread wake-ups (client → main thread → shard → main thread → client) where a one-thread broker
// crosses two, and on these VMs a wake-up of a sleeping thread is the dearest thing on the path
// (bench/README.md, "Latency at low rates"). Writing from the shard drops the third: the answer
// goes from the shard to the client's socket. The CONNACK of a new connection goes the same way.
//
// When: at the end of a batch, before it is published, if
//   - the batch is small (MAX_RECORDS, MAX_BYTES): a busy shard's large batches go to the main
//     thread as before, which writes them while the shard works on the next (one write(2) per
//     connection per batch there, against one per record here);
//   - nothing older for that connection is still with the gateway: the gateway has released the
//     last large batch this shard gave it, and every record of the connection left in the ring
//     by an earlier small one (a connection's bytes must leave in the order they were produced);
//   - the connection's write slot is open (src/ring/write-slots.ts: plain TCP on TCP handles, and
//     the gateway has no bytes of its own queued there).
// A record written whole is taken back from the ring; one written in part is trimmed to the rest,
// which the gateway writes (and queues, and watches for writability, as it does for everything);
// after a record left in the ring, every later record of that connection stays there too.
import { writeSync } from 'node:fs';
import { RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { RingProducer, type RingRef } from '../ring/spsc-ring.js';
import { tokenFd, type WriteSlots } from '../ring/write-slots.js';

/** The largest batch a shard writes itself, in records and in ring bytes. */
const MAX_RECORDS = 32;
const MAX_BYTES = 64 * 1024;

/** The outbound ring of a shard whose gateway lends it write slots. */
export class DirectOutbound extends RingProducer {
  /** Bytes this shard wrote to sockets itself. */
  bytes = 0;
  /** The end of the last batch handed to the gateway whole: no direct write until it is released. */
  private bulkEnd: number;
  /** Connections with records left in the ring by a settled batch, and where the last one ends. */
  private readonly inRing = new Map<number, number>();

  constructor(
    ring: RingRef,
    private readonly slots: WriteSlots,
  ) {
    super(ring);
    this.bulkEnd = this.committedEnd;
  }

  override flush(): void {
    const records = this.unpublishedRecords;
    if (records > 0) {
      if (records <= MAX_RECORDS && this.unpublishedBytes <= MAX_BYTES && this.released(this.bulkEnd)) {
        // Everything published is released: no entry can matter any more (and the map stays small).
        if (this.caughtUp) this.inRing.clear();
        this.settle(this.writeRecord);
      } else this.bulkEnd = this.committedEnd;
    }
    super.flush();
  }

  /** RingProducer.settle's callback: how many of the record's bytes went to the socket (-1: none tried). */
  private readonly writeRecord = (tag: number, offset: number, length: number, end: number): number => {
    const conn = tagConnection(tag);
    if (tagKind(tag) !== RecordKind.DATA || this.waiting(conn)) return this.keep(conn, end, -1);
    const token = this.slots.take(conn);
    if (token === 0) return this.keep(conn, end, -1);
    let written = 0;
    try {
      written = writeSync(tokenFd(token), this.u8, offset, length);
    } catch {
      // EAGAIN (the socket's buffer is full), or the connection broke: the gateway's write gets
      // the same answer and deals with it (queues and waits, or closes).
    } finally {
      this.slots.give(conn, token);
    }
    this.bytes += written;
    return written < length ? this.keep(conn, end, written) : written;
  };

  /** The connection has a record in the ring the gateway has not released yet. */
  private waiting(conn: number): boolean {
    const end = this.inRing.get(conn);
    if (end === undefined) return false;
    if (!this.released(end)) return true;
    this.inRing.delete(conn);
    return false;
  }

  /** The record (or its rest) stays in the ring, and so do the connection's later ones. */
  private keep(conn: number, end: number, written: number): number {
    this.inRing.set(conn, end);
    return written;
  }
}

/** Bytes a shard's outbound ring wrote to sockets itself (0 for a plain ring). */
export function directBytes(out: RingProducer): number {
  return out instanceof DirectOutbound ? out.bytes : 0;
}
