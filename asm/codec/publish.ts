// PUBLISH (3.1.1 §3.3, 5.0 §3.3): the hot path. The topic and payload are spans into the input;
// nothing is copied. Validation that needs a pass over the payload (UTF-8 when the Payload Format
// Indicator is 1) runs only when the caller asks for it.
import { F, R, V, VALIDATE_PAYLOAD_UTF8, fromClient } from './context';
import { cur, hasWildcard, lim, readString, readU16, spanLen, spanPtr, validUtf8Data } from './cursor';
import { decodeProperties, PropId, responseTopicOk } from './properties';
import {
  DUP,
  FLAGS,
  PACKET_ID,
  PAYLOAD,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  QOS,
  RETAIN,
  SLOT_SIZE,
  SUB_ID_COUNT,
  TOPIC,
  USER_PROP_COUNT,
  setSpan,
} from './record';
import { PacketType } from './reasons';
import { Err, fail } from './status';

@inline function has(mask: u64, id: i32): bool {
  return (mask & ((<u64>1) << id)) != 0;
}

export function decodePublish(): bool {
  const flags = load<u32>(R + FLAGS);
  const qos = (flags >> 1) & 3;
  const dup = (flags >> 3) & 1;
  // [MQTT-3.1.1 3.3.1-4] [MQTT-5.0 3.3.1-4] both QoS bits set is malformed.
  if (qos == 3) return fail(Err.QosInvalid, 3);
  // [MQTT-3.1.1 3.3.1-2] [MQTT-5.0 3.3.1-2] DUP must be 0 for QoS 0.
  if (qos == 0 && dup != 0) return fail(Err.DupWithQos0, 0);
  store<u32>(R + QOS, qos);
  store<u32>(R + DUP, dup);
  store<u32>(R + RETAIN, flags & 1);
  // [MQTT-3.1.1 3.3.2-1] [MQTT-5.0 3.3.2-1] the Topic Name is a UTF-8 string.
  if (!readString()) return false;
  const topicP = spanPtr;
  const topicN = spanLen;
  setSpan(R, TOPIC, topicP, topicN);
  // [MQTT-3.1.1 3.3.2-2] [MQTT-5.0 3.3.2-2] no wildcard characters in a Topic Name.
  if (hasWildcard(topicP, topicN)) return fail(Err.TopicWildcard, 0);
  if (qos > 0) {
    const id = readU16();
    if (id < 0) return false;
    // [MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] a non-zero Packet Identifier.
    if (id == 0) return fail(Err.PacketIdZero, 0);
    store<u32>(R + PACKET_ID, id);
  }
  let mask: u64 = 0;
  if (V == 5) {
    const client = fromClient();
    if (
      !decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, SUB_ID_COUNT, 1 << PacketType.Publish, !client)
    ) {
      return false;
    }
    mask = load<u64>(R + PROP_MASK);
    // [MQTT-5.0 3.3.4-6] a PUBLISH from a Client must not carry a Subscription Identifier.
    if (client && has(mask, PropId.SubscriptionIdentifier)) return fail(Err.SubscriptionIdFromClient, 0x0b);
    // [MQTT-5.0 3.3.2-14] the Response Topic is a Topic Name: no wildcards.
    if (has(mask, PropId.ResponseTopic) && !responseTopicOk(R + PROP_SLOTS + PropId.ResponseTopic * SLOT_SIZE)) {
      return fail(Err.ResponseTopicWildcard, 0x08);
    }
  }
  // [MQTT-3.1.1 4.7.3-1] a Topic Name is at least one character; [MQTT-5.0 3.3.2.3.4] in 5.0 a
  // zero-length Topic Name is allowed only together with a Topic Alias.
  if (topicN == 0 && !has(mask, PropId.TopicAlias)) return fail(Err.TopicEmpty, 0);
  const n = <u32>(lim - cur);
  setSpan(R, PAYLOAD, cur, n);
  // [MQTT-5.0 3.3.2.3.2] a receiver MAY check that a payload said to be UTF-8 is (0x99).
  if ((F & VALIDATE_PAYLOAD_UTF8) != 0 && has(mask, PropId.PayloadFormatIndicator)) {
    if (load<u32>(R + PROP_SLOTS + PropId.PayloadFormatIndicator * SLOT_SIZE) == 1 && !validUtf8Data(cur, n)) {
      return fail(Err.PayloadUtf8, 0);
    }
  }
  return true;
}
