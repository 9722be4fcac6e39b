// MQTT 5 properties (§2.2.2): the table of identifiers (data type, packets that may carry each),
// the decoder that fills the record's slots and presence mask, and the iterator over items.
//
// A property block is decoded in one pass: every item is bounds-checked against the block's end
// (not the packet's), duplicates are caught by the presence mask, and the first occurrence of each
// identifier is kept in its slot. Repeated items (User Property, Subscription Identifier) are not
// copied anywhere: their count is recorded and JS walks the block again with `propNext`.
import {
  cur,
  lim,
  readBinary,
  readString,
  readU8,
  readU16,
  readU32,
  readVarint,
  setLimit,
  spanLen,
  spanPtr,
  hasWildcard,
  setCursor,
} from './cursor';
import {
  ITEM_A,
  ITEM_B,
  ITEM_ID,
  ITEM_VALUE,
  SLOT_SIZE,
  WILL_PROPS,
  WIRE_FLAGS,
  WIRE_PROPS,
  setSpan,
} from './record';
import { PacketType } from './reasons';
import { Err, fail, setErrorRecord } from './status';

export const enum PropType {
  None = 0,
  Byte = 1,
  U16 = 2,
  U32 = 3,
  Varint = 4,
  Utf8 = 5,
  Binary = 6,
  Pair = 7,
}

export const enum PropId {
  PayloadFormatIndicator = 0x01,
  MessageExpiryInterval = 0x02,
  ContentType = 0x03,
  ResponseTopic = 0x08,
  CorrelationData = 0x09,
  SubscriptionIdentifier = 0x0b,
  SessionExpiryInterval = 0x11,
  AssignedClientIdentifier = 0x12,
  ServerKeepAlive = 0x13,
  AuthenticationMethod = 0x15,
  AuthenticationData = 0x16,
  RequestProblemInformation = 0x17,
  WillDelayInterval = 0x18,
  RequestResponseInformation = 0x19,
  ResponseInformation = 0x1a,
  ServerReference = 0x1c,
  ReasonString = 0x1f,
  ReceiveMaximum = 0x21,
  TopicAliasMaximum = 0x22,
  TopicAlias = 0x23,
  MaximumQoS = 0x24,
  RetainAvailable = 0x25,
  UserProperty = 0x26,
  MaximumPacketSize = 0x27,
  WildcardSubscriptionAvailable = 0x28,
  SubscriptionIdentifierAvailable = 0x29,
  SharedSubscriptionAvailable = 0x2a,
}

/** Bit 0 of an allowed-packets mask stands for the will properties of CONNECT. */
export const WILL: u32 = 1;
const CONNECT: u32 = 1 << PacketType.Connect;
const CONNACK: u32 = 1 << PacketType.Connack;
const PUBLISH: u32 = 1 << PacketType.Publish;
const ACKS: u32 =
  (1 << PacketType.Puback) | (1 << PacketType.Pubrec) | (1 << PacketType.Pubrel) | (1 << PacketType.Pubcomp);
const SUBSCRIBE: u32 = 1 << PacketType.Subscribe;
const SUBACK: u32 = 1 << PacketType.Suback;
const UNSUBSCRIBE: u32 = 1 << PacketType.Unsubscribe;
const UNSUBACK: u32 = 1 << PacketType.Unsuback;
const DISCONNECT: u32 = 1 << PacketType.Disconnect;
const AUTH: u32 = 1 << PacketType.Auth;

/** Data type (low byte) and allowed packets (<< 8) of a property identifier (Table 2-4). */
export function propertyInfo(id: i32): u32 {
  switch (id) {
    case PropId.PayloadFormatIndicator:
      return PropType.Byte | ((PUBLISH | WILL) << 8);
    case PropId.MessageExpiryInterval:
      return PropType.U32 | ((PUBLISH | WILL) << 8);
    case PropId.ContentType:
    case PropId.ResponseTopic:
      return PropType.Utf8 | ((PUBLISH | WILL) << 8);
    case PropId.CorrelationData:
      return PropType.Binary | ((PUBLISH | WILL) << 8);
    case PropId.SubscriptionIdentifier:
      return PropType.Varint | ((PUBLISH | SUBSCRIBE) << 8);
    case PropId.SessionExpiryInterval:
      return PropType.U32 | ((CONNECT | CONNACK | DISCONNECT) << 8);
    case PropId.AssignedClientIdentifier:
    case PropId.ResponseInformation:
      return PropType.Utf8 | (CONNACK << 8);
    case PropId.ServerKeepAlive:
      return PropType.U16 | (CONNACK << 8);
    case PropId.AuthenticationMethod:
      return PropType.Utf8 | ((CONNECT | CONNACK | AUTH) << 8);
    case PropId.AuthenticationData:
      return PropType.Binary | ((CONNECT | CONNACK | AUTH) << 8);
    case PropId.RequestProblemInformation:
    case PropId.RequestResponseInformation:
      return PropType.Byte | (CONNECT << 8);
    case PropId.WillDelayInterval:
      return PropType.U32 | (WILL << 8);
    case PropId.ServerReference:
      return PropType.Utf8 | ((CONNACK | DISCONNECT) << 8);
    case PropId.ReasonString:
      return PropType.Utf8 | ((CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH) << 8);
    case PropId.ReceiveMaximum:
    case PropId.TopicAliasMaximum:
      return PropType.U16 | ((CONNECT | CONNACK) << 8);
    case PropId.TopicAlias:
      return PropType.U16 | (PUBLISH << 8);
    case PropId.MaximumQoS:
    case PropId.RetainAvailable:
    case PropId.WildcardSubscriptionAvailable:
    case PropId.SubscriptionIdentifierAvailable:
    case PropId.SharedSubscriptionAvailable:
      return PropType.Byte | (CONNACK << 8);
    case PropId.UserProperty:
      return (
        PropType.Pair |
        ((CONNECT | CONNACK | PUBLISH | WILL | ACKS | SUBSCRIBE | SUBACK | UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH) <<
          8)
      );
    case PropId.MaximumPacketSize:
      return PropType.U32 | ((CONNECT | CONNACK) << 8);
    default:
      return 0;
  }
}

/**
 * Range rules on single values; false records a protocol error. Each is a "It is a Protocol Error
 * to …" sentence of MQTT 5.0 §3.
 */
export function valueOk(id: i32, v: i64): bool {
  switch (id) {
    // [MQTT-5.0 3.3.2.3.2] [MQTT-5.0 3.1.2.11.7] [MQTT-5.0 3.1.2.11.6] [MQTT-5.0 3.2.2.3.4]
    // [MQTT-5.0 3.2.2.3.5] [MQTT-5.0 3.2.2.3.11-13]: 0 or 1 only.
    case PropId.PayloadFormatIndicator:
    case PropId.RequestProblemInformation:
    case PropId.RequestResponseInformation:
    case PropId.MaximumQoS:
    case PropId.RetainAvailable:
    case PropId.WildcardSubscriptionAvailable:
    case PropId.SubscriptionIdentifierAvailable:
    case PropId.SharedSubscriptionAvailable:
      return v <= 1;
    // [MQTT-5.0 3.1.2.11.3] Receive Maximum 0, [MQTT-5.0 3.1.2.11.4] Maximum Packet Size 0,
    // [MQTT-5.0 3.3.2-8] Topic Alias 0, [MQTT-5.0 3.8.2.1.2] Subscription Identifier 0.
    case PropId.ReceiveMaximum:
    case PropId.MaximumPacketSize:
    case PropId.TopicAlias:
    case PropId.SubscriptionIdentifier:
      return v != 0;
    default:
      return true;
  }
}

// Where the block being decoded keeps its results (record offsets), set by decodeProperties.
let slotsAt: usize = 0;
let maskAt: usize = 0;

/** Read one value of `type`; integers go to propValue, spans to spanPtr/spanLen (and pairB*). */
let propValue: i64 = 0;
let pairAPtr: usize = 0;
let pairALen: u32 = 0;
let pairStart: usize = 0;
function readValue(type: u32): bool {
  switch (type) {
    case PropType.Byte: {
      const v = readU8();
      propValue = v;
      return v >= 0;
    }
    case PropType.U16: {
      const v = readU16();
      propValue = v;
      return v >= 0;
    }
    case PropType.U32: {
      const v = readU32();
      propValue = v;
      return v >= 0;
    }
    case PropType.Varint: {
      const v = readVarint();
      propValue = v;
      return v >= 0;
    }
    case PropType.Utf8:
      return readString();
    case PropType.Binary:
      return readBinary();
    case PropType.Pair: {
      // [MQTT-5.0 1.5.7] a UTF-8 String Pair: both halves are UTF-8 strings.
      pairStart = cur;
      if (!readString()) return false;
      pairAPtr = spanPtr;
      pairALen = spanLen;
      return readString();
    }
  }
  return false;
}

/**
 * Decode a property block at the cursor (Property Length, then items) into the record cells at
 * `slots`/`mask`/`userCount`/`subIdCount`, its span into `spanOff`. `packetBit` is the allowed-mask
 * bit of the packet (WILL for will properties); `multiSubId` lets Subscription Identifier repeat
 * (a server-to-client PUBLISH [MQTT-5.0 3.3.4-3]).
 */
export function decodeProperties(
  rec: usize,
  spanOff: u32,
  slots: u32,
  mask: u32,
  userCount: u32,
  subIdCount: u32,
  packetBit: u32,
  multiSubId: bool,
): bool {
  const len = readVarint();
  if (len < 0) return false;
  // [MQTT-5.0 2.2.2.1] the Property Length counts the bytes of the properties that follow.
  if (<u32>(lim - cur) < <u32>len) return fail(Err.PropertyLength, len);
  const outer = lim;
  const end = cur + len;
  setSpan(rec, spanOff, cur, len);
  if (spanOff != WILL_PROPS) store<u32>(rec + WIRE_FLAGS, load<u32>(rec + WIRE_FLAGS) | WIRE_PROPS);
  slotsAt = rec + slots;
  maskAt = rec + mask;
  setLimit(end);
  let seen: u64 = 0;
  let users: u32 = 0;
  let subIds: u32 = 0;
  while (cur < end) {
    const id = <i32>load<u8>(cur++);
    const info = propertyInfo(id);
    // [MQTT-5.0 2.2.2.2] an identifier outside Table 2-4 (all are one byte long in 5.0).
    if (info == 0) return fail(Err.PropertyUnknown, id);
    if (((info >> 8) & packetBit) == 0) return fail(Err.PropertyNotAllowed, id);
    const bit: u64 = (<u64>1) << id;
    const repeatable = id == PropId.UserProperty || (id == PropId.SubscriptionIdentifier && multiSubId);
    // [MQTT-5.0 2.2.2.2] "It is a Protocol Error to include the same property more than once",
    // except User Property [MQTT-5.0 3.1.2.11.8] and server-to-client Subscription Identifiers.
    if ((seen & bit) != 0 && !repeatable) return fail(Err.PropertyDuplicate, id);
    if (!readValue(info & 0xff)) {
      setLimit(outer);
      return false;
    }
    if (!valueOk(id, propValue)) return fail(id == PropId.TopicAlias ? Err.TopicAliasZero : Err.PropertyValue, id);
    if (id == PropId.UserProperty) users++;
    if (id == PropId.SubscriptionIdentifier) subIds++;
    if ((seen & bit) == 0) storeSlot(id, info & 0xff);
    seen |= bit;
  }
  setLimit(outer);
  store<u64>(maskAt, seen);
  store<u32>(rec + userCount, users);
  if (subIdCount != 0) store<u32>(rec + subIdCount, subIds);
  return true;
}

function storeSlot(id: i32, type: u32): void {
  const slot = slotsAt + <usize>id * SLOT_SIZE;
  if (type == PropType.Utf8 || type == PropType.Binary) {
    store<u32>(slot, <u32>spanPtr);
    store<u32>(slot + 4, spanLen);
  } else if (type == PropType.Pair) {
    store<u32>(slot, <u32>pairStart);
    store<u32>(slot + 4, <u32>(cur - pairStart));
  } else {
    store<u32>(slot, <u32>propValue);
    store<u32>(slot + 4, 0);
  }
}

/** Is a Response Topic (slot at `slot`) free of wildcards [MQTT-5.0 3.3.2-14]? */
export function responseTopicOk(slot: usize): bool {
  return !hasWildcard(<usize>load<u32>(slot), load<u32>(slot + 4));
}

/**
 * Iterate a (validated) property block: decode the item at `p` into the record's ITEM cell and
 * return the address of the next one; 0 at `end` or if the item does not fit (never reads past
 * `end`). ITEM_ID = identifier; ITEM_VALUE = integer; ITEM_A = string/binary or pair key; ITEM_B =
 * pair value.
 */
export function propNext(rec: usize, p: usize, end: usize): usize {
  if (p >= end) return 0;
  const savedCur = cur;
  const savedLim = lim;
  setErrorRecord(rec);
  setCursor(p, end);
  const id = <i32>load<u8>(cur++);
  const info = propertyInfo(id);
  let next: usize = 0;
  if (info != 0 && readValue(info & 0xff)) {
    store<u32>(rec + ITEM_ID, id);
    store<u32>(rec + ITEM_VALUE, <u32>propValue);
    const type = info & 0xff;
    if (type == PropType.Pair) {
      setSpan(rec, ITEM_A, pairAPtr, pairALen);
      setSpan(rec, ITEM_B, spanPtr, spanLen);
    } else if (type == PropType.Utf8 || type == PropType.Binary) {
      setSpan(rec, ITEM_A, spanPtr, spanLen);
    }
    next = cur;
  }
  setCursor(savedCur, savedLim);
  return next;
}
