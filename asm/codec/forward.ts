// The broker's forwarding path: re-encode a decoded PUBLISH for one subscriber, inside WASM. The
// per-subscriber fields (QoS, Packet Identifier, DUP, RETAIN, Topic Alias, Message Expiry,
// Subscription Identifiers) are overridden; the topic, payload, User Properties and the other
// properties keep the bytes of the input. The source record is not modified (one decoded PUBLISH
// is forwarded to many subscribers): the fields are staged in a private record.
import { encodeRecord, setTrustedTopic } from './encode';
import { PropId } from './properties';
import {
  DUP,
  PACKET_ID,
  PAYLOAD,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  QOS,
  RECORD_SIZE,
  RETAIN,
  SLOT_SIZE,
  SUBIDS_COUNT,
  SUBIDS_PTR,
  TOPIC,
  TYPE,
  setSpan,
} from './record';
import { PacketType } from './reasons';
import { reserve } from '../memory';

/** encodePublishFrom flags. */
export const FWD_DUP: i32 = 1;
export const FWD_RETAIN: i32 = 2;
/** Send an empty Topic Name (the subscriber already knows the Topic Alias). */
export const FWD_OMIT_TOPIC: i32 = 4;
/** Set Message Expiry Interval to `messageExpiry` (the remaining lifetime). */
export const FWD_SET_EXPIRY: i32 = 8;

let scratch: usize = 0;

const KEPT: StaticArray<i32> = [
  PropId.PayloadFormatIndicator,
  PropId.MessageExpiryInterval,
  PropId.ContentType,
  PropId.ResponseTopic,
  PropId.CorrelationData,
];

function bit(id: i32): u64 {
  return (<u64>1) << id;
}

/**
 * Encode the PUBLISH decoded in `src` for a subscriber. `topicAlias` 0 = none (aliases are per
 * connection, so the publisher's is never forwarded); `subIds` points at `subIdCount` u32 values.
 * Returns like encodeRecord: length, -1 invalid, -(length) when `cap` is too small; 0 if the
 * scratch record cannot be reserved.
 */
export function encodePublishFrom(
  src: usize,
  version: i32,
  out: usize,
  cap: i32,
  qos: i32,
  packetId: i32,
  flags: i32,
  topicAlias: i32,
  messageExpiry: u32,
  subIds: usize,
  subIdCount: i32,
): i32 {
  if (scratch == 0) {
    scratch = reserve(RECORD_SIZE);
    if (scratch == 0) return 0;
  }
  const r = scratch;
  store<u32>(r + TYPE, PacketType.Publish);
  store<u32>(r + QOS, qos);
  store<u32>(r + PACKET_ID, packetId);
  store<u32>(r + DUP, (flags & FWD_DUP) != 0 ? 1 : 0);
  store<u32>(r + RETAIN, (flags & FWD_RETAIN) != 0 ? 1 : 0);
  if ((flags & FWD_OMIT_TOPIC) != 0) setSpan(r, TOPIC, 0, 0);
  else store<u64>(r + TOPIC, load<u64>(src + TOPIC));
  store<u64>(r + PAYLOAD, load<u64>(src + PAYLOAD));
  store<u64>(r + PROPS, load<u64>(src + PROPS));
  // Keep the source's single-valued properties, then apply the overrides.
  let mask = load<u64>(src + PROP_MASK) & (bit(0x01) | bit(0x02) | bit(0x03) | bit(0x08) | bit(0x09) | bit(0x26));
  for (let i = 0; i < KEPT.length; i++) {
    const off = PROP_SLOTS + <u32>unchecked(KEPT[i]) * SLOT_SIZE;
    store<u64>(r + off, load<u64>(src + off));
  }
  if ((flags & FWD_SET_EXPIRY) != 0) {
    mask |= bit(PropId.MessageExpiryInterval);
    store<u32>(r + PROP_SLOTS + PropId.MessageExpiryInterval * SLOT_SIZE, messageExpiry);
  }
  if (topicAlias > 0) {
    mask |= bit(PropId.TopicAlias);
    store<u32>(r + PROP_SLOTS + PropId.TopicAlias * SLOT_SIZE, topicAlias);
  }
  if (subIdCount > 0) mask |= bit(PropId.SubscriptionIdentifier);
  store<u32>(r + SUBIDS_PTR, <u32>subIds);
  store<u32>(r + SUBIDS_COUNT, subIdCount > 0 ? subIdCount : 0);
  store<u64>(r + PROP_MASK, mask);
  setTrustedTopic(true);
  const n = encodeRecord(r, version, out, cap);
  setTrustedTopic(false);
  return n;
}

/** The private record encodePublishFrom stages into (its ERROR_INDEX says why -1 was returned). */
export function forwardRecord(): usize {
  if (scratch == 0) scratch = reserve(RECORD_SIZE);
  return scratch;
}
