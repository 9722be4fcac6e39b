// Direct writes: a shard writes a small batch of packets to plain-TCP sockets itself, instead of
// waking the main thread to write them.
//
// Why: at low rates both Weir threads sleep between messages, so a message used to cross four
// thread wake-ups (client → main thread → shard → main thread → client) where a one-thread broker
// crosses two, and on these VMs a wake-up of a sleeping thread is the dearest thing on the path
// (bench/README.md, "Latency at low rates"). Writing from the shard drops the third: the answer
// goes from the shard to the client's socket. The CONNACK of a new connection goes the same way.
//
// When: at the end of a batch, before it is published, and only if
//   - the gateway holds none of this shard's records (the ring's consumer has caught up: all it
//     was given is written or queued), so nothing older for any connection is still on its way;
//   - the batch is small (MAX_RECORDS, MAX_BYTES): a busy shard's large batches go to the main
//     thread as before, which writes them while the shard works on the next (one write(2) per
//     connection per batch there, against one per record here);
//   - the connection's write slot is open (src/ring/write-slots.ts: plain TCP on TCP handles, and
//     the gateway has no bytes of its own queued there).
// A record written whole is taken back from the ring; one written in part is trimmed to the rest,
// which the gateway writes (and queues, and watches for writability, as it does for everything);
// after such a record, every later record of that connection in the batch stays in the ring, so
// a connection's bytes leave in the order they were produced whichever thread writes them.
import { writeSync } from 'node:fs';
import { RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { RingProducer, type RingRef } from '../ring/spsc-ring.js';
import { tokenFd, type WriteSlots } from '../ring/write-slots.js';

/** The largest batch a shard writes itself, in records and in ring bytes. */
const MAX_RECORDS = 32;
const MAX_BYTES = 64 * 1024;

/** The outbound ring of a shard whose gateway lends it write slots. */
export class DirectOutbound extends RingProducer {
  /** Bytes this shard wrote to sockets itself, and the write(2) calls it took. */
  bytes = 0;
  writes = 0;
  /** Connections with a record left in the ring during this settle: their later records stay too. */
  private readonly kept: number[] = [];

  constructor(
    ring: RingRef,
    private readonly slots: WriteSlots,
  ) {
    super(ring);
  }

  override flush(): void {
    const records = this.unpublishedRecords;
    if (records > 0 && records <= MAX_RECORDS && this.unpublishedBytes <= MAX_BYTES && this.caughtUp) {
      this.settle(this.writeRecord);
      this.kept.length = 0;
    }
    super.flush();
  }

  /** RingProducer.settle's callback: how many of the record's bytes went to the socket (-1: none tried). */
  private readonly writeRecord = (tag: number, offset: number, length: number): number => {
    const conn = tagConnection(tag);
    if (tagKind(tag) !== RecordKind.DATA || this.kept.includes(conn)) return this.keep(conn, -1);
    const token = this.slots.take(conn);
    if (token === 0) return this.keep(conn, -1);
    let written = 0;
    try {
      written = writeSync(tokenFd(token), this.u8, offset, length);
    } catch {
      // EAGAIN (the socket's buffer is full), or the connection broke: the gateway's write gets
      // the same answer and deals with it (queues and waits, or closes).
    } finally {
      this.slots.give(conn, token);
    }
    this.writes++;
    this.bytes += written;
    return written < length ? this.keep(conn, written) : written;
  };

  /** The record (or its rest) stays in the ring, and so do the connection's later ones. */
  private keep(conn: number, written: number): number {
    this.kept.push(conn);
    return written;
  }
}

/** Bytes a shard's outbound ring wrote to sockets itself (0 for a plain ring). */
export function directBytes(out: RingProducer): number {
  return out instanceof DirectOutbound ? out.bytes : 0;
}
