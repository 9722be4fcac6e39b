// The decoder's entry point: frames one packet at `ptr` (fixed header, §2.1 / §2.2), decides "need
// more bytes", "too large" or "malformed" from the fixed header alone, then hands the variable
// header and payload to the packet family's decoder.
//
// Status: > 0 the packet's length in bytes (record filled); 0 need more bytes (NEEDED says how many
// in total once the fixed header is complete, else one more than `len`); < 0 the negated MQTT 5
// reason code (ERROR_INDEX / ERROR_DETAIL say why).
import { decodeAck } from './ack';
import { decodeAuth } from './auth';
import { decodeConnack } from './connack';
import { decodeConnect } from './connect';
import { fromClient, setContext } from './context';
import { setCursor } from './cursor';
import { decodeDisconnect } from './disconnect';
import { decodePing } from './ping';
import { decodePublish } from './publish';
import {
  ERROR_INDEX,
  FLAGS,
  NEEDED,
  REMAINING_LEN,
  TOTAL_LEN,
  TYPE,
  VERSION,
  clearRecord,
} from './record';
import { PacketType } from './reasons';
import { Err, errorReasonCode, fail } from './status';
import { decodeSuback } from './suback';
import { decodeSubscribe } from './subscribe';

/**
 * The flag bits each packet type must carry [MQTT-3.1.1 2.2.2-1] [MQTT-5.0 2.1.3-1]: 0010 for
 * PUBREL, SUBSCRIBE, UNSUBSCRIBE, 0000 for the rest; PUBLISH's are DUP/QoS/RETAIN (-1).
 */
export function requiredFlags(type: i32): i32 {
  if (type == PacketType.Publish) return -1;
  return type == PacketType.Pubrel || type == PacketType.Subscribe || type == PacketType.Unsubscribe ? 2 : 0;
}

function isServerOnly(type: i32): bool {
  return (
    type == PacketType.Connack ||
    type == PacketType.Suback ||
    type == PacketType.Unsuback ||
    type == PacketType.Pingresp
  );
}

/** Checks that need only the first byte; false records the error. */
function firstByteOk(b: i32, version: i32): bool {
  const type = b >> 4;
  // [MQTT-3.1.1 2.2.1] [MQTT-5.0 2.1.2] type 0 is reserved; 15 (AUTH) is reserved before 5.0.
  if (type == PacketType.Reserved || (type == PacketType.Auth && version != 5)) {
    return fail(Err.TypeReserved, type);
  }
  const want = requiredFlags(type);
  // [MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] other flag values are malformed.
  if (want >= 0 && (b & 15) != want) return fail(Err.FlagsReserved, type);
  // A broker only ever receives client packets: server-only ones are a protocol error.
  if (fromClient() && isServerOnly(type)) return fail(Err.ServerOnly, type);
  return true;
}

function body(type: i32): bool {
  switch (type) {
    case PacketType.Connect:
      return decodeConnect();
    case PacketType.Connack:
      return decodeConnack();
    case PacketType.Publish:
      return decodePublish();
    case PacketType.Puback:
    case PacketType.Pubrec:
    case PacketType.Pubrel:
    case PacketType.Pubcomp:
      return decodeAck();
    case PacketType.Subscribe:
    case PacketType.Unsubscribe:
      return decodeSubscribe();
    case PacketType.Suback:
    case PacketType.Unsuback:
      return decodeSuback();
    case PacketType.Pingreq:
    case PacketType.Pingresp:
      return decodePing();
    case PacketType.Disconnect:
      return decodeDisconnect();
    case PacketType.Auth:
      return decodeAuth();
  }
  return fail(Err.TypeReserved, type);
}

function failed(rec: usize): i32 {
  return -errorReasonCode(<i32>load<u32>(rec + ERROR_INDEX));
}

export function decodeInto(rec: usize, ptr: usize, len: i32, version: i32, flags: i32, maxPacketSize: i32): i32 {
  clearRecord(rec);
  setContext(rec, version, flags);
  if (len <= 0) {
    store<u32>(rec + NEEDED, 1);
    return 0;
  }
  // A caller's wrong address must not trap the module either.
  if (<u64>ptr + <u64>len > (<u64>memory.size()) << 16) {
    fail(Err.InputOutsideMemory, len);
    return failed(rec);
  }
  const b0 = <i32>load<u8>(ptr);
  const type = b0 >> 4;
  store<u32>(rec + TYPE, type);
  store<u32>(rec + FLAGS, b0 & 15);
  // The session's level applies to every packet but CONNECT, which carries its own.
  if (type != PacketType.Connect) {
    if (version < 3 || version > 5) {
      fail(Err.VersionInvalid, version);
      return failed(rec);
    }
    store<u32>(rec + VERSION, version);
  }
  if (!firstByteOk(b0, version)) return failed(rec);
  // Remaining Length: a Variable Byte Integer of at most four bytes, shortest form
  // [MQTT-3.1.1 2.2.3] [MQTT-5.0 1.5.5-1] [MQTT-5.0 2.1.4].
  let rl: i32 = 0;
  let i: i32 = 0;
  for (; ; i++) {
    if (i == 4) {
      fail(Err.RemainingLengthTooLong, 0);
      return failed(rec);
    }
    if (1 + i >= len) {
      store<u32>(rec + NEEDED, len + 1);
      return 0;
    }
    const b = <i32>load<u8>(ptr + 1 + i);
    rl |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (i > 0 && b == 0) {
        fail(Err.VarintNotMinimal, 0);
        return failed(rec);
      }
      break;
    }
  }
  const header = 2 + i;
  const total = header + rl;
  store<u32>(rec + REMAINING_LEN, rl);
  store<u32>(rec + TOTAL_LEN, total);
  store<u32>(rec + NEEDED, total);
  // [MQTT-5.0 3.2.2.3.6] [MQTT-5.0 3.1.2.11.4] too large (0x95), decided before the body arrives.
  if (maxPacketSize > 0 && total > maxPacketSize) {
    fail(Err.TooLarge, total);
    return failed(rec);
  }
  if (len < total) return 0;
  setCursor(ptr + header, ptr + total);
  if (!body(type)) return failed(rec);
  return total;
}
