// The encoder: reads a record (written by JS, or decoded and then adjusted) and writes one packet
// in canonical form: shortest Remaining Length, properties in ascending identifier order, and the
// shortest 5.0 ack/DISCONNECT/AUTH (Reason Code and Property Length omitted when the reason is
// 0x00 and there are no properties).
//
// encodeRecord(rec, version, out, cap): the length written; -1 if a field is invalid (ERROR_INDEX /
// ERROR_DETAIL say which); -(length) if the packet does not fit in `cap` bytes (nothing useful is
// written; retry with at least that much room).
import { ConnectFlag, connectFlagsOk } from './connect';
import { hasWildcard, setCursor, varintSize } from './cursor';
import { setContext } from './context';
import { decodeFilters } from './subscribe';
import { WILL } from './properties';
import { propertiesEmpty, writeProperties } from './properties-encode';
import {
  ACK_FLAGS,
  CLIENT_ID,
  CONNECT_FLAGS,
  DUP,
  KEEPALIVE,
  LIST,
  PACKET_ID,
  PASSWORD,
  PAYLOAD,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  QOS,
  REASON_CODE,
  RETAIN,
  SUBIDS_COUNT,
  SUBIDS_PTR,
  TOPIC,
  TYPE,
  USERNAME,
  VERSION,
  WILL_PAYLOAD,
  WILL_PROP_MASK,
  WILL_PROP_SLOTS,
  WILL_PROPS,
  WILL_TOPIC,
} from './record';
import { PacketType, reasonAllowed, subackV3Allowed } from './reasons';
import { requiredFlags } from './decode';
import { Err, fail, setErrorRecord } from './status';
import { put8, put16, putBytes, putPrefixed, spanInMemory, startDry, startReal, w } from './writer';

let E: usize = 0; // the record being encoded
let EV: i32 = 0; // the protocol level being written

/** A string/binary field: length-prefixed, at most 65,535 bytes [MQTT-5.0 1.5.4] [MQTT-3.1.1 1.5.3]. */
function prefixed(off: u32): bool {
  const p = <usize>load<u32>(E + off);
  const n = load<u32>(E + off + 4);
  if (n > 0xffff) return fail(Err.EncodeField, off);
  if (!spanInMemory(p, n)) return fail(Err.EncodeSpan, off);
  putPrefixed(p, n);
  return true;
}
function raw(off: u32): bool {
  const p = <usize>load<u32>(E + off);
  const n = load<u32>(E + off + 4);
  if (!spanInMemory(p, n)) return fail(Err.EncodeSpan, off);
  putBytes(p, n);
  return true;
}
function packetId(): bool {
  const id = load<u32>(E + PACKET_ID);
  // [MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] a non-zero 16-bit Packet Identifier.
  if (id == 0 || id > 0xffff) return fail(Err.EncodeField, PACKET_ID);
  put16(id);
  return true;
}
function properties(type: i32): bool {
  return writeProperties(
    E,
    PROP_SLOTS,
    PROP_MASK,
    PROPS,
    <usize>load<u32>(E + SUBIDS_PTR),
    load<u32>(E + SUBIDS_COUNT),
    1 << type,
  );
}

function connect(): bool {
  const f = <i32>load<u32>(E + CONNECT_FLAGS);
  if (f > 0xff || !connectFlagsOk(f, EV)) return false;
  const keepalive = load<u32>(E + KEEPALIVE);
  if (keepalive > 0xffff) return fail(Err.EncodeField, KEEPALIVE);
  if (EV == 3) {
    put16(6);
    put8(0x4d); // M
    put8(0x51); // Q
    put8(0x49); // I
    put8(0x73); // s
    put8(0x64); // d
    put8(0x70); // p
  } else {
    put16(4);
    put8(0x4d); // M
    put8(0x51); // Q
    put8(0x54); // T
    put8(0x54); // T
  }
  put8(EV);
  put8(f);
  put16(keepalive);
  if (EV == 5) {
    if (!properties(PacketType.Connect)) return false;
    // [MQTT-5.0 3.1.2.11.10] Authentication Data needs an Authentication Method.
    const mask = load<u64>(E + PROP_MASK);
    if ((mask & ((<u64>1) << 0x16)) != 0 && (mask & ((<u64>1) << 0x15)) == 0) {
      return fail(Err.AuthDataWithoutMethod, 0x16);
    }
  }
  if (!prefixed(CLIENT_ID)) return false;
  const idLen = load<u32>(E + CLIENT_ID + 4);
  // MQTT 3.1 §3.1: 1 to 23 characters; [MQTT-3.1.1 3.1.3-8] empty needs Clean Session.
  if (EV == 3 && (idLen == 0 || idLen > 23)) return fail(Err.ClientIdInvalid, <i32>idLen);
  if (EV == 4 && idLen == 0 && (f & ConnectFlag.CleanStart) == 0) return fail(Err.ClientIdInvalid, 0);
  if ((f & ConnectFlag.Will) != 0) {
    // [MQTT-3.1.1 4.7.3-1] [MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.1-1] [MQTT-5.0 4.7.0-1] a Topic Name.
    if (load<u32>(E + WILL_TOPIC + 4) == 0) return fail(Err.TopicEmpty, 0);
    if (topicHasWildcard(WILL_TOPIC)) return fail(Err.TopicWildcard, 0);
    if (EV == 5 && !writeProperties(E, WILL_PROP_SLOTS, WILL_PROP_MASK, WILL_PROPS, 0, 0, WILL)) return false;
    if (!prefixed(WILL_TOPIC) || !prefixed(WILL_PAYLOAD)) return false;
  }
  if ((f & ConnectFlag.Username) != 0 && !prefixed(USERNAME)) return false;
  if ((f & ConnectFlag.Password) != 0 && !prefixed(PASSWORD)) return false;
  return true;
}

function connack(): bool {
  const flags = load<u32>(E + ACK_FLAGS);
  const rc = <i32>load<u32>(E + REASON_CODE);
  // [MQTT-3.1.1 3.2.2-1] [MQTT-5.0 3.2.2-1] only Session Present may be set.
  if (flags > 1) return fail(Err.EncodeField, ACK_FLAGS);
  // [MQTT-3.1.1 3.2.2-4] [MQTT-5.0 3.2.2-6] Session Present is 0 on a refused connection.
  if (flags != 0 && rc != 0) return fail(Err.SessionPresentOnError, rc);
  if (EV < 5 ? rc > 5 : !reasonAllowed(PacketType.Connack, rc)) return fail(Err.ReasonCodeInvalid, rc);
  put8(flags);
  put8(rc);
  return EV == 5 ? properties(PacketType.Connack) : true;
}

function publish(): bool {
  const qos = load<u32>(E + QOS);
  if (qos > 2) return fail(Err.EncodeField, QOS);
  // [MQTT-3.1.1 3.3.1-2] [MQTT-5.0 3.3.1-2] DUP is 0 on QoS 0.
  if (qos == 0 && load<u32>(E + DUP) != 0) return fail(Err.DupWithQos0, 0);
  // [MQTT-3.1.1 4.7.3-1] a topic name is not empty; [MQTT-5.0 3.3.2.3.4] in 5.0 unless a Topic
  // Alias goes with it.
  if (load<u32>(E + TOPIC + 4) == 0 && (EV < 5 || (load<u64>(E + PROP_MASK) & ((<u64>1) << 0x23)) == 0)) {
    return fail(Err.TopicEmpty, 0);
  }
  // [MQTT-3.1.1 3.3.2-2] [MQTT-5.0 3.3.2-2] no wildcards in a Topic Name (skipped when forwarding a
  // topic the decoder already checked).
  if (!trustedTopic && topicHasWildcard(TOPIC)) return fail(Err.TopicWildcard, 0);
  if (!prefixed(TOPIC)) return false;
  if (qos > 0 && !packetId()) return false;
  if (EV == 5 && !properties(PacketType.Publish)) return false;
  return raw(PAYLOAD);
}

/** The 5.0 tail of acks, DISCONNECT and AUTH, in its shortest form. */
function reasonTail(type: i32): bool {
  if (EV < 5) return true;
  const rc = <i32>load<u32>(E + REASON_CODE);
  if (!reasonAllowed(type, rc)) return fail(Err.ReasonCodeInvalid, rc);
  const empty = propertiesEmpty(E, PROP_MASK);
  if (rc == 0 && empty) return true;
  put8(rc);
  return empty ? true : properties(type);
}

function withList(type: i32): bool {
  if (!packetId()) return false;
  if (EV < 5 && type == PacketType.Unsuback) return true;
  if (EV == 5 && !properties(type)) return false;
  const n = load<u32>(E + LIST + 4);
  // [MQTT-3.1.1 3.8.3-3] [MQTT-5.0 3.8.3-2] [MQTT-3.1.1 3.10.3-2] [MQTT-5.0 3.10.3-2] at least one entry.
  if (n == 0) return fail(Err.EncodeField, LIST);
  if (type == PacketType.Subscribe || type == PacketType.Unsubscribe) {
    // The staged list must pass the decoder's own checks (the decoder's code, run on the list).
    const p = <usize>load<u32>(E + LIST);
    if (!spanInMemory(p, n)) return fail(Err.EncodeSpan, LIST);
    setContext(E, EV, 0);
    setCursor(p, p + n);
    if (!decodeFilters(type == PacketType.Subscribe)) return false;
  } else {
    const p = <usize>load<u32>(E + LIST);
    if (!spanInMemory(p, n)) return fail(Err.EncodeSpan, LIST);
    for (let i: u32 = 0; i < n; i++) {
      const rc = <i32>load<u8>(p + i);
      if (EV == 5 ? !reasonAllowed(type, rc) : !subackV3Allowed(rc)) return fail(Err.ReasonCodeInvalid, rc);
    }
  }
  return raw(LIST);
}

function body(type: i32): bool {
  switch (type) {
    case PacketType.Connect:
      return connect();
    case PacketType.Connack:
      return connack();
    case PacketType.Publish:
      return publish();
    case PacketType.Puback:
    case PacketType.Pubrec:
    case PacketType.Pubrel:
    case PacketType.Pubcomp:
      return packetId() && reasonTail(type);
    case PacketType.Subscribe:
    case PacketType.Suback:
    case PacketType.Unsubscribe:
    case PacketType.Unsuback:
      return withList(type);
    case PacketType.Pingreq:
    case PacketType.Pingresp:
      return true;
    case PacketType.Disconnect:
    case PacketType.Auth:
      return reasonTail(type);
  }
  return fail(Err.EncodeType, type);
}

function topicHasWildcard(off: u32): bool {
  const p = <usize>load<u32>(E + off);
  const n = load<u32>(E + off + 4);
  return spanInMemory(p, n) && hasWildcard(p, n);
}

// Set by encodePublishFrom: the topic comes from a decoded (already checked) PUBLISH.
let trustedTopic: bool = false;
export function setTrustedTopic(trusted: bool): void {
  trustedTopic = trusted;
}

function firstByte(type: i32): u32 {
  const want = requiredFlags(type);
  if (want >= 0) return (<u32>type << 4) | <u32>want;
  return (
    (<u32>type << 4) |
    ((load<u32>(E + DUP) & 1) << 3) |
    ((load<u32>(E + QOS) & 3) << 1) |
    (load<u32>(E + RETAIN) & 1)
  );
}

export function encodeRecord(rec: usize, version: i32, out: usize, cap: i32): i32 {
  E = rec;
  setErrorRecord(rec);
  const type = <i32>load<u32>(rec + TYPE);
  // CONNECT carries its own level (the record's VERSION); other packets use the session's.
  EV = type == PacketType.Connect ? <i32>load<u32>(rec + VERSION) : version;
  if (EV < 3 || EV > 5) {
    fail(Err.VersionInvalid, EV);
    return -1;
  }
  if (type < 1 || type > 15 || (type == PacketType.Auth && EV < 5)) {
    fail(Err.EncodeType, type);
    return -1;
  }
  startDry();
  if (!body(type)) return -1;
  const rl = <u32>w;
  // [MQTT-5.0 2.1.4] [MQTT-3.1.1 2.2.3] the Remaining Length is at most 268,435,455.
  if (rl > 268435455) {
    fail(Err.EncodeField, 16);
    return -1;
  }
  const total: u32 = <u32>1 + varintSize(rl) + rl;
  if (cap < 0 || total > <u32>cap) return -(<i32>total);
  if (!spanInMemory(out, total)) {
    fail(Err.EncodeSpan, 0);
    return -1;
  }
  startReal(out, total);
  put8(firstByte(type));
  let v = rl;
  do {
    let b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    put8(b);
  } while (v != 0);
  body(type);
  return <i32>total;
}
