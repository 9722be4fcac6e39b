// PUBACK, PUBREC, PUBREL, PUBCOMP (3.1.1 §3.4-3.7, 5.0 §3.4-3.7): a Packet Identifier, then in 5.0
// an optional Reason Code and an optional property block. `decodeReasonAndProperties` is shared
// with DISCONNECT and AUTH, whose variable headers end the same way.
import { R, V } from './context';
import { cur, lim, readU8, readU16 } from './cursor';
import { decodeProperties } from './properties';
import {
  PACKET_ID,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  REASON_CODE,
  TYPE,
  USER_PROP_COUNT,
  WIRE_FLAGS,
  WIRE_REASON,
} from './record';
import { reasonAllowed } from './reasons';
import { Err, fail } from './status';

/** A non-zero Packet Identifier [MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3]. */
export function decodePacketId(): bool {
  const id = readU16();
  if (id < 0) return false;
  if (id == 0) return fail(Err.PacketIdZero, 0);
  store<u32>(R + PACKET_ID, id);
  return true;
}

/**
 * The 5.0 tail: no bytes left means Reason Code 0x00 and no properties (e.g. [MQTT-5.0 3.4.2.1],
 * [MQTT-5.0 3.14.2.1], [MQTT-5.0 3.15.2.1]); a Reason Code alone means no properties.
 */
export function decodeReasonAndProperties(): bool {
  const type = <i32>load<u32>(R + TYPE);
  if (cur == lim) return true;
  const rc = readU8();
  if (rc < 0) return false;
  store<u32>(R + REASON_CODE, rc);
  store<u32>(R + WIRE_FLAGS, WIRE_REASON);
  // e.g. [MQTT-5.0 3.4.2-1] [MQTT-5.0 3.14.2-1] [MQTT-5.0 3.15.2-1]: one of the packet's reason codes.
  if (!reasonAllowed(type, rc)) return fail(Err.ReasonCodeInvalid, rc);
  if (cur == lim) return true;
  if (!decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, 0, 1 << type, false)) return false;
  if (cur != lim) return fail(Err.Trailing, <i32>(lim - cur));
  return true;
}

export function decodeAck(): bool {
  if (!decodePacketId()) return false;
  // [MQTT-3.1.1 3.4.1] (3.5.1, 3.6.1, 3.7.1): the Remaining Length of a 3.1.1 ack is 2.
  if (V < 5) {
    if (cur != lim) return fail(Err.Trailing, <i32>(lim - cur));
    return true;
  }
  return decodeReasonAndProperties();
}
