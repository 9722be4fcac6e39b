// What the records on the gateway ↔ shard rings mean. A record's TAG packs a kind and a
// connection id; the payload depends on the kind. Transport only: nothing here knows MQTT.
//
//   TAG  31        24 23                                   0
//       ┌───────────┬───────────────────────────────────────┐
//       │   KIND    │        CONNECTION ID (24 bits)        │
//       └───────────┴───────────────────────────────────────┘

export const RecordKind = {
  /** Bytes read from (inbound) or to be written to (outbound) a connection. */
  DATA: 1,
  /** Inbound: a connection was assigned to this shard; payload = the bytes read so far. */
  OPEN: 2,
  /** Inbound: the socket closed; outbound: close the socket after writing what precedes. */
  CLOSE: 3,
  /** Inbound: the shard must finish its batch and return (the pool is closing). */
  STOP: 4,
  /**
   * Outbound: the shard has forgotten the connection (its answer to an inbound CLOSE). Only now
   * may the gateway reuse the id: a CLOSE from the shard could cross the gateway's own CLOSE, so
   * an acknowledgement of its own kind is what makes reuse safe.
   */
  CLOSED: 5,
  /**
   * Inbound: a PUBLISH (MQTT 5 encoding) from the broker itself (the library's publish, $SYS),
   * routed as if a client without a session had sent it. The connection id is unused.
   */
  INJECT: 6,
  /**
   * Inbound: the connection's socket has more unsent bytes than its budget (a slow reader): the
   * shard stops writing to it and queues or drops by QoS, until DRAINED.
   */
  CONGESTED: 7,
  /** Inbound: the socket has written what it held; the shard may write to it again. */
  DRAINED: 8,
  /**
   * Shard → shard: a PUBLISH routed to the consumer's sessions and/or kept as its replica of a
   * retained message (payload layout in src/shard/peer-records.ts).
   */
  FORWARD: 9,
  /** Shard → shard: the producer's subscriptions to one filter changed (src/shard/peer-records.ts). */
  ROUTE: 10,
  /**
   * Shard → shard: what a FORWARD that asked for an answer (its tag's id field, the token) wrote
   * to the store is durable. Payload: empty, or one byte 1 when the store was full and the
   * copies were refused.
   */
  ACK: 11,
} as const;
export type RecordKindNumber = (typeof RecordKind)[keyof typeof RecordKind];

export const MAX_CONNECTION_ID = 0xffffff;

export function makeTag(kind: RecordKindNumber, conn: number): number {
  return ((kind << 24) | (conn & MAX_CONNECTION_ID)) >>> 0;
}

export function tagKind(tag: number): number {
  return tag >>> 24;
}

export function tagConnection(tag: number): number {
  return tag & MAX_CONNECTION_ID;
}

// OPEN payload: what the gateway learnt at CONNECT, then the CONNECT packet itself.
//
//   ┌───────┬──────────┬──────────────┬───────────┬─────────────┬────────────────────────┐
//   │ FLAGS │ ID_LEN   │ CLIENT ID    │ ADDR_LEN  │ REMOTE ADDR │ CONNECT packet bytes   │
//   │ u8    │ u16 (LE) │ UTF-8        │ u16 (LE)  │ UTF-8       │ (the rest)             │
//   └───────┴──────────┴──────────────┴───────────┴─────────────┴────────────────────────┘
//   FLAGS bit 0: the client id was assigned by the broker (MQTT 5: send Assigned Client Identifier).

export const OPEN_ASSIGNED_ID = 1;

export interface OpenInfo {
  flags: number;
  clientId: string;
  remoteAddress: string;
  /** Offset and length of the CONNECT packet within the buffer given to decodeOpen. */
  connectOffset: number;
  connectLength: number;
}

export function encodeOpen(
  flags: number,
  clientId: string,
  remoteAddress: string,
  connect: Uint8Array,
): Uint8Array {
  // Buffer's own UTF-8 writer, sized first: a TextEncoder would allocate an array per string
  // (this runs on the main thread once per connection, where conn-10k is CPU-bound).
  const idLength = Buffer.byteLength(clientId);
  const addrLength = Buffer.byteLength(remoteAddress);
  const out = Buffer.allocUnsafe(5 + idLength + addrLength + connect.length);
  out[0] = flags;
  out.writeUInt16LE(idLength, 1);
  out.write(clientId, 3, idLength, 'utf8');
  const addrAt = 3 + idLength;
  out.writeUInt16LE(addrLength, addrAt);
  out.write(remoteAddress, addrAt + 2, addrLength, 'utf8');
  out.set(connect, addrAt + 2 + addrLength);
  return out;
}

export function decodeOpen(bytes: Uint8Array, offset: number, length: number): OpenInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idLength = dv.getUint16(offset + 1, true);
  const addrAt = offset + 3 + idLength;
  const addrLength = dv.getUint16(addrAt, true);
  const connectOffset = addrAt + 2 + addrLength;
  return {
    flags: bytes[offset]!,
    clientId: buf.toString('utf8', offset + 3, offset + 3 + idLength),
    remoteAddress: buf.toString('utf8', addrAt + 2, addrAt + 2 + addrLength),
    connectOffset,
    connectLength: offset + length - connectOffset,
  };
}
