// The decoded record: one fixed-size struct in WASM memory that `decode` fills and `encode` reads.
// JS reads it by offset (src/protocol/record.ts mirrors every name below; a test compares the two
// through `recordOffset`). Strings and binaries are never copied: a span is the absolute address and
// length of the bytes inside the input, so the record is valid only while those bytes are.
//
// ╒═══════════════ Decoded record (little-endian; every cell is 32-bit unless noted) ══════════════╕
//  offset  0 │ TYPE          │ FLAGS         │ VERSION       │ TOTAL_LEN      │
//         16 │ REMAINING_LEN │ PACKET_ID     │ REASON_CODE   │ QOS            │
//         32 │ DUP           │ RETAIN        │ CONNECT_FLAGS │ KEEPALIVE      │
//         48 │ NEEDED        │ ERROR_INDEX   │ ERROR_DETAIL  │ WIRE_FLAGS     │
//         64 │ PROTOCOL_NAME  ptr,len        │ CLIENT_ID      ptr,len         │
//         80 │ WILL_TOPIC     ptr,len        │ WILL_PAYLOAD   ptr,len         │
//         96 │ USERNAME       ptr,len        │ PASSWORD       ptr,len         │
//        112 │ TOPIC          ptr,len        │ PAYLOAD        ptr,len         │
//        128 │ PROPS          ptr,len        │ WILL_PROPS     ptr,len         │
//        144 │ LIST           ptr,len        │ LIST_COUNT    │ SUBIDS_PTR     │
//        160 │ SUBIDS_COUNT  │ ACK_FLAGS     │ PROP_MASK (u64)                │
//        176 │ WILL_PROP_MASK (u64)          │ USER_PROP_CNT │ SUB_ID_COUNT   │
//        192 │ WILL_USER_CNT │ (pad)         │ PROP_SLOTS: 43 × 8 bytes …     │
//        200 ├─ PROP_SLOTS[id] at 200 + id*8: value (u32) or span (ptr,len) ──┤
//        544 ├─ WILL_PROP_SLOTS[id] at 544 + id*8 ────────────────────────────┤
//        888 │ ITEM_ID       │ ITEM_VALUE    │ ITEM_A ptr,len │ ITEM_B ptr,len│  (iterator cell)
//        912 ╘══ RECORD_SIZE ══════════════════════════════════════════════════╛
//
// Spans: PROTOCOL_NAME … PASSWORD, TOPIC and the string properties point at the characters (after
// the length prefix). PROPS / WILL_PROPS point at the property items (after the property length).
// LIST is the payload of SUBSCRIBE/UNSUBSCRIBE (the filters with their prefixes and options) or of
// SUBACK/UNSUBACK (one reason code per byte); LIST_COUNT is the number of entries.
//
// Property slots hold the first occurrence: integers in the low cell, strings and binaries as a
// span of their data; User Property (0x26) as a span of the whole key/value pair (prefixes
// included); Subscription Identifier (0x0B) as the value. PROP_MASK bit `id` says the property is
// present; USER_PROP_CNT / SUB_ID_COUNT count the repeatable ones. The iterators (`propNext`,
// `listNext`) walk repeated items and write each into the ITEM cell.
//
// Encoding reads the same cells, plus two rules: User Properties are copied, in order, from the
// 0x26 items found in the PROPS (WILL_PROPS) span, and Subscription Identifiers come from the u32
// array at SUBIDS_PTR (SUBIDS_COUNT entries). Presence of both still comes from PROP_MASK.
//
// WIRE_FLAGS (decode only): bit 0 = a reason code byte was on the wire, bit 1 = a property length.

export const TYPE: u32 = 0;
export const FLAGS: u32 = 4;
export const VERSION: u32 = 8;
export const TOTAL_LEN: u32 = 12;
export const REMAINING_LEN: u32 = 16;
export const PACKET_ID: u32 = 20;
export const REASON_CODE: u32 = 24;
export const QOS: u32 = 28;
export const DUP: u32 = 32;
export const RETAIN: u32 = 36;
export const CONNECT_FLAGS: u32 = 40;
export const KEEPALIVE: u32 = 44;
export const NEEDED: u32 = 48;
export const ERROR_INDEX: u32 = 52;
export const ERROR_DETAIL: u32 = 56;
export const WIRE_FLAGS: u32 = 60;
export const PROTOCOL_NAME: u32 = 64;
export const CLIENT_ID: u32 = 72;
export const WILL_TOPIC: u32 = 80;
export const WILL_PAYLOAD: u32 = 88;
export const USERNAME: u32 = 96;
export const PASSWORD: u32 = 104;
export const TOPIC: u32 = 112;
export const PAYLOAD: u32 = 120;
export const PROPS: u32 = 128;
export const WILL_PROPS: u32 = 136;
export const LIST: u32 = 144;
export const LIST_COUNT: u32 = 152;
export const SUBIDS_PTR: u32 = 156;
export const SUBIDS_COUNT: u32 = 160;
export const ACK_FLAGS: u32 = 164;
export const PROP_MASK: u32 = 168;
export const WILL_PROP_MASK: u32 = 176;
export const USER_PROP_COUNT: u32 = 184;
export const SUB_ID_COUNT: u32 = 188;
export const WILL_USER_PROP_COUNT: u32 = 192;
export const PROP_SLOTS: u32 = 200;
export const WILL_PROP_SLOTS: u32 = 544;
export const ITEM_ID: u32 = 888;
export const ITEM_VALUE: u32 = 892;
export const ITEM_A: u32 = 896;
export const ITEM_B: u32 = 904;
export const RECORD_SIZE: u32 = 912;

/** Bytes per property slot; slots are indexed by identifier 0x00..0x2A. */
export const SLOT_SIZE: u32 = 8;
export const SLOT_COUNT: u32 = 43;

/** WIRE_FLAGS bits. */
export const WIRE_REASON: u32 = 1;
export const WIRE_PROPS: u32 = 2;

// The order in which `recordOffset` reports the cells; src/protocol/record.ts lists the same names
// in the same order, so a mismatch names the first cell that moved.
const LAYOUT: StaticArray<u32> = [
  TYPE, FLAGS, VERSION, TOTAL_LEN, REMAINING_LEN, PACKET_ID, REASON_CODE, QOS, DUP, RETAIN,
  CONNECT_FLAGS, KEEPALIVE, NEEDED, ERROR_INDEX, ERROR_DETAIL, WIRE_FLAGS, PROTOCOL_NAME, CLIENT_ID,
  WILL_TOPIC, WILL_PAYLOAD, USERNAME, PASSWORD, TOPIC, PAYLOAD, PROPS, WILL_PROPS, LIST, LIST_COUNT,
  SUBIDS_PTR, SUBIDS_COUNT, ACK_FLAGS, PROP_MASK, WILL_PROP_MASK, USER_PROP_COUNT, SUB_ID_COUNT,
  WILL_USER_PROP_COUNT, PROP_SLOTS, WILL_PROP_SLOTS, ITEM_ID, ITEM_VALUE, ITEM_A, ITEM_B, RECORD_SIZE,
];

/** Offset of the i-th cell of the layout list, or -1 past its end (for the JS mirror test). */
export function layoutOffset(i: i32): i32 {
  if (i < 0 || i >= LAYOUT.length) return -1;
  return <i32>unchecked(LAYOUT[i]);
}

@inline export function setU32(rec: usize, off: u32, v: u32): void {
  store<u32>(rec + off, v);
}
@inline export function getU32(rec: usize, off: u32): u32 {
  return load<u32>(rec + off);
}
@inline export function setSpan(rec: usize, off: u32, ptr: usize, len: u32): void {
  store<u32>(rec + off, <u32>ptr);
  store<u32>(rec + off + 4, len);
}

/**
 * Zero the cells before the property slots: enough for a decode, since a slot is meaningful only
 * while its PROP_MASK bit is set. Keeps the per-packet cost at 200 bytes instead of 912.
 */
export function clearRecord(rec: usize): void {
  memory.fill(rec, 0, PROP_SLOTS);
}
