// Direct writes: a shard writes its batches of packets to plain-TCP sockets itself, instead of
// waking the main thread to write them.
//
// Why: at low rates both Weir threads sleep between messages, so a message used to cross four
// thread wake-ups (client → main thread → shard → main thread → client) where a one-thread broker
// crosses two, and on these VMs a wake-up of a sleeping thread is the dearest thing on the path
// (bench/HISTORY.md, "Latency at low rates"). Writing from the shard drops the third: the answer
// goes from the shard to the client's socket. The CONNACK of a new connection goes the same way.
//
// When: at the end of a batch, before it is published, if
//   - the batch is not a saturated shard's (MAX_RECORDS, MAX_BYTES): those go to the main
//     thread as before, which writes them while the shard works on the next;
//   - nothing older for that connection is still with the gateway: the gateway has released the
//     last large batch this shard gave it, and every record of the connection left in the ring
//     by an earlier small one (a connection's bytes must leave in the order they were produced);
//   - the connection's write slot is open (src/ring/write-slots.ts: plain TCP on TCP handles, and
//     the gateway has no bytes of its own queued there).
// Like the gateway, it writes each connection once per batch: that connection's records, in
// order, in one gathered write(2)/writev(2).
// A record written whole is taken back from the ring; one written in part is trimmed to the rest,
// which the gateway writes (and queues, and watches for writability, as it does for everything);
// after a record left in the ring, every later record of that connection stays there too.
import { writeSync, writevSync } from 'node:fs';
import { RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { RingProducer, type RingRef } from '../ring/spsc-ring.js';
import { tokenFd, type WriteSlots } from '../ring/write-slots.js';
import { emptyCollection } from '../protocol/empty.js';
import { BatchIndex } from './batch-index.js';

/**
 * The largest batch a shard writes itself, in records and in ring bytes. Large enough for the
 * burst that a late wake-up gathers at low rates: a batch past it takes one more thread hand-off,
 * and at 32 records (until 2026-12-03) that was 21–71 % of lat-10k's messages, the late ones
 * (bench/HISTORY.md, "every lat-10k message leaves by the shard's own write"). A saturated shard's batches are
 * past MAX_BYTES, and the gateway is never caught up then anyway. MAX_RECORDS is IOV_MAX.
 */
const MAX_RECORDS = 1024;
const MAX_BYTES = 64 * 1024;

/** Writes the records' bytes to `fd` in one call; returns how many went (throws on EAGAIN, a reset). */
export type GatherWrite = (fd: number, u8: Uint8Array, offsets: number[], lengths: number[]) => number;

const gatherWrite: GatherWrite = (fd, u8, offsets, lengths) => {
  if (offsets.length === 1) return writeSync(fd, u8, offsets[0]!, lengths[0]!);
  return writevSync(
    fd,
    offsets.map((o, i) => u8.subarray(o, o + lengths[i]!)),
  );
};

/** The outbound ring of a shard whose gateway lends it write slots. */
export class DirectOutbound extends RingProducer {
  /** Bytes this shard wrote to sockets itself. */
  bytes = 0;
  /** The end of the last batch handed to the gateway whole: no direct write until it is released. */
  private bulkEnd: number;
  /** Connections with records left in the ring by a settled batch, and where the last one ends. */
  private readonly inRing = new Map<number, number>();
  /**
   * The batch being written, one entry per record: entries 0 … count − 1 are this batch's. The
   * arrays keep their size from batch to batch; none is truncated, since setting a length (even
   * to what it is) is a call into V8's runtime, and to 0 it drops the backing store, which the
   * next batch then allocates again.
   */
  private readonly batch = {
    count: 0,
    tags: [] as number[],
    offsets: [] as number[],
    lengths: [] as number[],
    ends: [] as number[],
    /** The index of the connection's next record in the batch (-1: none). */
    next: [] as number[],
    /** Bytes that went to the socket (-1: none tried, -2: not looked at yet). */
    done: [] as number[],
  };
  /** While linking the batch: each connection's latest record. */
  private readonly lastOfConn = new BatchIndex(MAX_RECORDS);
  /** A connection's one record, the usual case, without new arrays for the gathered write. */
  private readonly oneOffset = [0];
  private readonly oneLength = [0];
  /** RingProducer.settle's callback: it visits the batch's records in the order `collect` did. */
  private settledAt = 0;
  private readonly settled = (): number => this.batch.done[this.settledAt++]!;

  constructor(
    ring: RingRef,
    private readonly slots: WriteSlots,
    private readonly gather: GatherWrite = gatherWrite,
  ) {
    super(ring);
    this.bulkEnd = this.committedEnd;
  }

  override flush(): void {
    const records = this.unpublishedRecords;
    if (records > 0) {
      if (records <= MAX_RECORDS && this.unpublishedBytes <= MAX_BYTES && this.released(this.bulkEnd)) {
        // Everything published is released: no entry can matter any more (and the map stays small).
        if (this.caughtUp) emptyCollection(this.inRing);
        this.writeBatch();
      } else this.bulkEnd = this.committedEnd;
    }
    super.flush();
  }

  /**
   * One write per connection, as the gateway does: a connection's records in this batch go out
   * in one gathered call (a fan-in's whole batch is one connection's), then the ring keeps what
   * did not go.
   */
  private writeBatch(): void {
    const b = this.batch;
    b.count = 0;
    this.visitUnpublished(this.collect);
    const { count, tags, next, done } = b;
    const last = this.lastOfConn;
    last.reset();
    for (let i = 0; i < count; i++) {
      next[i] = -1;
      done[i] = -2;
      const before = last.swap(tagConnection(tags[i]!), i);
      if (before >= 0) next[before] = i;
    }
    for (let i = 0; i < count; i++) if (done[i] === -2) this.writeConnection(i);
    this.settledAt = 0;
    this.settle(this.settled);
  }

  private readonly collect = (tag: number, offset: number, length: number, end: number): void => {
    const b = this.batch;
    const i = b.count++;
    b.tags[i] = tag;
    b.offsets[i] = offset;
    b.lengths[i] = length;
    b.ends[i] = end;
  };

  /**
   * Writes the connection whose first record in the batch is `first`: its DATA records up to the
   * first other kind, if nothing of it waits with the gateway and its slot is open. Whatever does
   * not go whole stays in the ring (trimmed to its rest), and so does everything after it.
   */
  private writeConnection(first: number): void {
    const { tags, lengths, ends, next, done } = this.batch;
    const conn = tagConnection(tags[first]!);
    let stop = first;
    let records = 0;
    if (!this.waiting(conn))
      for (; stop >= 0 && tagKind(tags[stop]!) === RecordKind.DATA; stop = next[stop]!) records++;
    let written = 0;
    const token = records > 0 ? this.slots.take(conn) : 0;
    if (token !== 0) {
      try {
        written = this.gatherFrom(tokenFd(token), first, records);
      } catch {
        // EAGAIN (the socket's buffer is full), or the connection broke: the gateway's write gets
        // the same answer and deals with it (queues and waits, or closes).
      } finally {
        this.slots.give(conn, token);
      }
      this.bytes += written;
    }
    // Records wholly written are taken back; the first one written in part keeps its rest, and
    // it, everything after it and whatever was never tried (from `stop` on) stay for the gateway.
    let end = -1;
    let kept = token === 0;
    for (let j = first; j >= 0; j = next[j]!) {
      if (j === stop) kept = true;
      const length = lengths[j]!;
      if (!kept && written >= length) {
        done[j] = length;
        written -= length;
        continue;
      }
      done[j] = !kept && written > 0 ? written : -1;
      kept = true;
      end = ends[j]!;
    }
    if (end >= 0) this.inRing.set(conn, end);
  }

  /** The gathered write of `records` records of a connection, from `first` along its chain. */
  private gatherFrom(fd: number, first: number, records: number): number {
    const { offsets, lengths, next } = this.batch;
    if (records === 1) {
      this.oneOffset[0] = offsets[first]!;
      this.oneLength[0] = lengths[first]!;
      return this.gather(fd, this.u8, this.oneOffset, this.oneLength);
    }
    // Several records for one socket (a fan-in): writev needs a view of each anyway.
    const gOffsets = new Array<number>(records);
    const gLengths = new Array<number>(records);
    for (let k = 0, j = first; k < records; k++, j = next[j]!) {
      gOffsets[k] = offsets[j]!;
      gLengths[k] = lengths[j]!;
    }
    return this.gather(fd, this.u8, gOffsets, gLengths);
  }

  /** The connection has a record in the ring the gateway has not released yet. */
  private waiting(conn: number): boolean {
    const end = this.inRing.get(conn);
    if (end === undefined) return false;
    if (!this.released(end)) return true;
    this.inRing.delete(conn);
    return false;
  }
}

/** Bytes a shard's outbound ring wrote to sockets itself (0 for a plain ring). */
export function directBytes(out: RingProducer): number {
  return out instanceof DirectOutbound ? out.bytes : 0;
}
