// The payloads of the records shards send each other (kinds FORWARD and ROUTE in
// src/ring/records.ts). Both ends run on shard threads; a record is written straight into the
// consumer's ring (in the consumer's memory) and read there in place.
//
// FORWARD: a PUBLISH for the consumer's sessions and/or its replica of a retained message.
//
//   +0  ┌──────────┬──────────┬────────────┬───────────────┐
//       │ FLAGS u8 │ VERSION  │ GROUPS u16 │ PUBLISH_AT u32│   FLAGS: 1 DELIVER, 2 RETAIN, 4 ANSWER
//   +8  ├──────────┴──────────┴────────────┴───────────────┤
//       │ EXPIRES_AT f64: ms since the epoch, 0 = never     │
//  +16  ├───────────────────────────────────────────────────┤
//       │ GROUPS × (LEN u16, UTF-8 name): the shared groups │   the publisher's shard picked this
//       │ whose member this shard picks for the message     │   shard for these groups
//       ├───────────────────────────────────────────────────┤
//       │ PUBLISH packet (VERSION's encoding, real topic)   │   at PUBLISH_AT
//       └───────────────────────────────────────────────────┘
//   ANSWER: the publisher's shard waits (durability "flush") for an ACK record carrying the token
//   of this record's tag once what the message wrote to the consumer's store is durable.
//
// ROUTE: the producer's local subscriptions to one (filter, group) changed.
//
//   +0  ┌────────────┬───────────────┬────────────────┬──────────────┬───────────────┐
//       │ COUNT u32  │ GROUP_LEN u16 │ FILTER_LEN u16 │ group UTF-8  │ filter UTF-8  │
//       └────────────┴───────────────┴────────────────┴──────────────┴───────────────┘
//   COUNT: how many of its sessions subscribe (the weight of a shared group); 0 = none any more.
//   GROUP_LEN 0xFFFF: not a shared subscription.

import { emptyArray } from '../protocol/empty.js';

export const FORWARD_DELIVER = 1;
export const FORWARD_RETAIN = 2;
export const FORWARD_ANSWER = 4;
export const FORWARD_HEADER = 16;
export const ROUTE_HEADER = 8;
export const NOT_SHARED = 0xffff;

const utf8 = new TextEncoder();

/** Bytes the group list of a FORWARD takes. */
export function groupListBytes(groups: readonly string[]): number {
  let n = 0;
  for (const g of groups) n += 2 + Buffer.byteLength(g);
  return n;
}

/** Write a FORWARD header and group list at `at`; returns the offset of the PUBLISH bytes. */
export function writeForwardHeader(
  dv: DataView,
  u8: Uint8Array,
  at: number,
  flags: number,
  version: number,
  expiresAt: number,
  groups: readonly string[],
): number {
  dv.setUint8(at, flags);
  dv.setUint8(at + 1, version);
  dv.setUint16(at + 2, groups.length, true);
  dv.setFloat64(at + 8, expiresAt, true);
  let p = at + FORWARD_HEADER;
  for (const g of groups) {
    const { written } = utf8.encodeInto(g, u8.subarray(p + 2, p + 2 + 3 * g.length));
    dv.setUint16(p, written, true);
    p += 2 + written;
  }
  dv.setUint32(at + 4, p - at, true);
  return p;
}

export interface ForwardHeader {
  flags: number;
  version: 3 | 4 | 5;
  expiresAt: number;
  /** Absolute offset and length of the PUBLISH packet. */
  publishPtr: number;
  publishLen: number;
}

/** Read a FORWARD at `ptr` (payload `len` bytes); the group names go into `groups` (cleared first). */
export function readForward(
  dv: DataView,
  buf: Buffer,
  ptr: number,
  len: number,
  groups: string[],
  out: ForwardHeader,
): void {
  emptyArray(groups);
  out.flags = dv.getUint8(ptr);
  out.version = dv.getUint8(ptr + 1) as 3 | 4 | 5;
  const count = dv.getUint16(ptr + 2, true);
  const publishAt = dv.getUint32(ptr + 4, true);
  out.expiresAt = dv.getFloat64(ptr + 8, true);
  let p = ptr + FORWARD_HEADER;
  for (let i = 0; i < count; i++) {
    const n = dv.getUint16(p, true);
    groups.push(buf.toString('utf8', p + 2, p + 2 + n));
    p += 2 + n;
  }
  out.publishPtr = ptr + publishAt;
  out.publishLen = len - publishAt;
}

export function encodeRoute(filter: string, group: string | null, count: number): Uint8Array {
  const f = utf8.encode(filter);
  const g = group === null ? null : utf8.encode(group);
  const out = new Uint8Array(ROUTE_HEADER + (g?.length ?? 0) + f.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, count, true);
  dv.setUint16(4, g === null ? NOT_SHARED : g.length, true);
  dv.setUint16(6, f.length, true);
  if (g) out.set(g, ROUTE_HEADER);
  out.set(f, ROUTE_HEADER + (g?.length ?? 0));
  return out;
}

export function readRoute(
  dv: DataView,
  buf: Buffer,
  ptr: number,
): { filter: string; group: string | null; count: number } {
  const count = dv.getUint32(ptr, true);
  const groupLen = dv.getUint16(ptr + 4, true);
  const filterLen = dv.getUint16(ptr + 6, true);
  const g = groupLen === NOT_SHARED ? 0 : groupLen;
  const group =
    groupLen === NOT_SHARED ? null : buf.toString('utf8', ptr + ROUTE_HEADER, ptr + ROUTE_HEADER + g);
  const filter = buf.toString('utf8', ptr + ROUTE_HEADER + g, ptr + ROUTE_HEADER + g + filterLen);
  return { filter, group, count };
}
