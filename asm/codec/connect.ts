// CONNECT (MQTT 3.1 §3.1, 3.1.1 §3.1, 5.0 §3.1): the only packet that carries its own protocol
// level, so it sets the record's VERSION itself.
import { F, R, V, VALIDATE_PAYLOAD_UTF8, setVersion } from './context';
import {
  cur,
  hasWildcard,
  lim,
  readBinary,
  readString,
  readU8,
  readU16,
  spanLen,
  spanPtr,
  validUtf8Data,
} from './cursor';
import { decodeProperties, responseTopicOk, WILL } from './properties';
import {
  CLIENT_ID,
  CONNECT_FLAGS,
  KEEPALIVE,
  PASSWORD,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  PROTOCOL_NAME,
  SLOT_SIZE,
  USER_PROP_COUNT,
  USERNAME,
  VERSION,
  WILL_PAYLOAD,
  WILL_PROP_MASK,
  WILL_PROP_SLOTS,
  WILL_PROPS,
  WILL_TOPIC,
  WILL_USER_PROP_COUNT,
  setSpan,
} from './record';
import { PacketType } from './reasons';
import { Err, fail } from './status';

export const enum ConnectFlag {
  Reserved = 0x01,
  CleanStart = 0x02,
  Will = 0x04,
  WillQos = 0x18,
  WillRetain = 0x20,
  Password = 0x40,
  Username = 0x80,
}

/** 'MQTT' with level 4 or 5, 'MQIsdp' with level 3; anything else is unsupported. */
function protocolOk(p: usize, n: u32, level: i32): bool {
  if (n == 4 && load<u32>(p) == 0x5454514d) {
    // [MQTT-3.1.1 3.1.2-2] [MQTT-5.0 3.1.2-2] an unsupported level gets 0x01 / 0x84.
    if (level != 4 && level != 5) return fail(Err.ProtocolLevel, level);
    return true;
  }
  // MQTT 3.1: protocol name "MQIsdp", version 3.
  if (n == 6 && load<u32>(p) == 0x7349514d && load<u16>(p + 4) == 0x7064) {
    if (level != 3) return fail(Err.ProtocolLevel, level);
    return true;
  }
  // [MQTT-3.1.1 3.1.2-1] [MQTT-5.0 3.1.2-1] a wrong protocol name.
  return fail(Err.ProtocolName, <i32>n);
}

export function connectFlagsOk(f: i32, level: i32): bool {
  // [MQTT-3.1.1 3.1.2-3] [MQTT-5.0 3.1.2-3] the reserved flag must be 0.
  if ((f & ConnectFlag.Reserved) != 0) return fail(Err.ConnectReserved, f);
  const willQos = (f & ConnectFlag.WillQos) >> 3;
  if ((f & ConnectFlag.Will) == 0) {
    // [MQTT-3.1.1 3.1.2-11] [MQTT-3.1.1 3.1.2-13] [MQTT-3.1.1 3.1.2-15]
    // [MQTT-5.0 3.1.2-11] [MQTT-5.0 3.1.2-13] [MQTT-5.0 3.1.2-15]: no will, no will QoS/retain.
    if (willQos != 0 || (f & ConnectFlag.WillRetain) != 0) return fail(Err.WillFlags, f);
  } else if (willQos == 3) {
    // [MQTT-3.1.1 3.1.2-14] [MQTT-5.0 3.1.2-12] will QoS 3.
    return fail(Err.WillQos, f);
  }
  // [MQTT-3.1.1 3.1.2-22] (and 3.1): a password needs a user name; 5.0 allows it alone.
  if (level < 5 && (f & ConnectFlag.Password) != 0 && (f & ConnectFlag.Username) == 0) {
    return fail(Err.PasswordWithoutUsername, f);
  }
  return true;
}

export function decodeConnect(): bool {
  if (!readBinary()) return false;
  const nameP = spanPtr;
  const nameN = spanLen;
  setSpan(R, PROTOCOL_NAME, nameP, nameN);
  const level = readU8();
  if (level < 0) return false;
  if (!protocolOk(nameP, nameN, level)) return false;
  setVersion(level);
  store<u32>(R + VERSION, level);
  const f = readU8();
  if (f < 0) return false;
  store<u32>(R + CONNECT_FLAGS, f);
  if (!connectFlagsOk(f, level)) return false;
  const keepalive = readU16();
  if (keepalive < 0) return false;
  store<u32>(R + KEEPALIVE, keepalive);
  if (V == 5) {
    if (!decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, 0, 1 << PacketType.Connect, false)) {
      return false;
    }
    // [MQTT-5.0 3.1.2.11.10] Authentication Data without an Authentication Method.
    const mask = load<u64>(R + PROP_MASK);
    if ((mask & ((<u64>1) << 0x16)) != 0 && (mask & ((<u64>1) << 0x15)) == 0) {
      return fail(Err.AuthDataWithoutMethod, 0x16);
    }
  }
  return decodeConnectPayload(f, level);
}

function willPayloadMarkedUtf8(): bool {
  if ((load<u64>(R + WILL_PROP_MASK) & ((<u64>1) << 0x01)) == 0) return false;
  return load<u32>(R + WILL_PROP_SLOTS + 0x01 * SLOT_SIZE) == 1;
}

function decodeConnectPayload(f: i32, level: i32): bool {
  // [MQTT-3.1.1 3.1.3-4] [MQTT-5.0 3.1.3-4] the Client Identifier is a UTF-8 string.
  if (!readString()) return false;
  setSpan(R, CLIENT_ID, spanPtr, spanLen);
  // MQTT 3.1 §3.1: the Client Identifier is 1 to 23 characters.
  if (level == 3 && (spanLen == 0 || spanLen > 23)) return fail(Err.ClientIdInvalid, <i32>spanLen);
  // [MQTT-3.1.1 3.1.3-8] a zero-byte Client Identifier needs Clean Session 1 (else return code 2).
  if (level == 4 && spanLen == 0 && (f & ConnectFlag.CleanStart) == 0) return fail(Err.ClientIdInvalid, 0);
  if ((f & ConnectFlag.Will) != 0) {
    if (level == 5) {
      // [MQTT-5.0 3.1.3.2] the Will Properties.
      if (!decodeProperties(R, WILL_PROPS, WILL_PROP_SLOTS, WILL_PROP_MASK, WILL_USER_PROP_COUNT, 0, WILL, false)) {
        return false;
      }
      // [MQTT-5.0 3.3.2-14] the will becomes a PUBLISH whose Response Topic may not hold wildcards.
      const willMask = load<u64>(R + WILL_PROP_MASK);
      if ((willMask & ((<u64>1) << 0x08)) != 0 && !responseTopicOk(R + WILL_PROP_SLOTS + 0x08 * SLOT_SIZE)) {
        return fail(Err.ResponseTopicWildcard, 0x08);
      }
    }
    // [MQTT-3.1.1 3.1.3-10] [MQTT-5.0 3.1.3-11] the Will Topic is a UTF-8 string.
    if (!readString()) return false;
    setSpan(R, WILL_TOPIC, spanPtr, spanLen);
    // [MQTT-3.1.1 4.7.3-1] [MQTT-5.0 4.7.3-1] a topic name is at least one character long.
    if (spanLen == 0) return fail(Err.TopicEmpty, 0);
    // [MQTT-3.1.1 4.7.1-1] [MQTT-5.0 4.7.0-1] wildcards are not allowed in topic names.
    if (hasWildcard(spanPtr, spanLen)) return fail(Err.TopicWildcard, 0);
    if (!readBinary()) return false;
    setSpan(R, WILL_PAYLOAD, spanPtr, spanLen);
    // [MQTT-5.0 3.1.3.2.2] a Will Payload marked UTF-8 must be UTF-8 (0x99) when asked.
    if (level == 5 && (F & VALIDATE_PAYLOAD_UTF8) != 0 && willPayloadMarkedUtf8() && !validUtf8Data(spanPtr, spanLen)) {
      return fail(Err.PayloadUtf8, 0);
    }
  }
  if ((f & ConnectFlag.Username) != 0) {
    // [MQTT-3.1.1 3.1.3-11] [MQTT-5.0 3.1.3-12] the User Name is a UTF-8 string.
    if (!readString()) return false;
    setSpan(R, USERNAME, spanPtr, spanLen);
  }
  if ((f & ConnectFlag.Password) != 0) {
    if (!readBinary()) return false;
    setSpan(R, PASSWORD, spanPtr, spanLen);
  }
  // [MQTT-3.1.1 2.2.3] [MQTT-5.0 2.1.4] the Remaining Length ends where the fields end.
  if (cur != lim) return fail(Err.Trailing, <i32>(lim - cur));
  return true;
}
