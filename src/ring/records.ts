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
