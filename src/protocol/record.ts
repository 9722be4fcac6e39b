// The decoded record's layout, mirrored from asm/codec/record.ts (see the box diagram there).
// `RecordLayout` lists the cells in the same order as the module's `layoutOffset(i)`, so the
// test in test/codec/record.test.ts names the first cell that moved if the two ever disagree.

export const Rec = {
  TYPE: 0,
  FLAGS: 4,
  VERSION: 8,
  TOTAL_LEN: 12,
  REMAINING_LEN: 16,
  PACKET_ID: 20,
  REASON_CODE: 24,
  QOS: 28,
  DUP: 32,
  RETAIN: 36,
  CONNECT_FLAGS: 40,
  KEEPALIVE: 44,
  NEEDED: 48,
  ERROR_INDEX: 52,
  ERROR_DETAIL: 56,
  WIRE_FLAGS: 60,
  PROTOCOL_NAME: 64,
  CLIENT_ID: 72,
  WILL_TOPIC: 80,
  WILL_PAYLOAD: 88,
  USERNAME: 96,
  PASSWORD: 104,
  TOPIC: 112,
  PAYLOAD: 120,
  PROPS: 128,
  WILL_PROPS: 136,
  LIST: 144,
  LIST_COUNT: 152,
  SUBIDS_PTR: 156,
  SUBIDS_COUNT: 160,
  ACK_FLAGS: 164,
  PROP_MASK: 168,
  WILL_PROP_MASK: 176,
  USER_PROP_COUNT: 184,
  SUB_ID_COUNT: 188,
  WILL_USER_PROP_COUNT: 192,
  PROP_SLOTS: 200,
  WILL_PROP_SLOTS: 544,
  ITEM_ID: 888,
  ITEM_VALUE: 892,
  ITEM_A: 896,
  ITEM_B: 904,
  RECORD_SIZE: 912,
} as const;

export type RecordCell = keyof typeof Rec;

/** The cells in the order of asm/codec/record.ts's LAYOUT list. */
export const RecordLayout: readonly RecordCell[] = Object.keys(Rec) as RecordCell[];

/** Bytes per property slot; the slot of identifier `id` is at PROP_SLOTS + id * SLOT_SIZE. */
export const SLOT_SIZE = 8;

/** WIRE_FLAGS bits (decode only). */
export const WireFlag = { REASON: 1, PROPS: 2 } as const;

/** decode flags. */
export const DecodeFlag = { FROM_CLIENT: 1, VALIDATE_PAYLOAD_UTF8: 2 } as const;

/** encodePublishFrom flags. */
export const ForwardFlag = { DUP: 1, RETAIN: 2, OMIT_TOPIC: 4, SET_EXPIRY: 8 } as const;

/** CONNECT flag bits (MQTT 3.1.1 §3.1.2.3, 5.0 §3.1.2.3). */
export const ConnectFlag = {
  RESERVED: 0x01,
  CLEAN: 0x02,
  WILL: 0x04,
  WILL_QOS: 0x18,
  WILL_RETAIN: 0x20,
  PASSWORD: 0x40,
  USERNAME: 0x80,
} as const;
