// CONNACK (3.1.1 §3.2, 5.0 §3.2). Sent only by servers; `decode` rejects it from clients.
import { R, V } from './context';
import { cur, lim, readU8 } from './cursor';
import { decodeProperties } from './properties';
import {
  ACK_FLAGS,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  REASON_CODE,
  USER_PROP_COUNT,
  WIRE_FLAGS,
  WIRE_REASON,
} from './record';
import { PacketType, reasonAllowed } from './reasons';
import { Err, fail } from './status';

export function decodeConnack(): bool {
  const flags = readU8();
  if (flags < 0) return false;
  // [MQTT-3.1.1 3.2.2-1] [MQTT-5.0 3.2.2-1] bits 7-1 of the acknowledge flags are reserved.
  if ((flags & 0xfe) != 0) return fail(Err.ConnackFlags, flags);
  store<u32>(R + ACK_FLAGS, flags);
  const rc = readU8();
  if (rc < 0) return false;
  store<u32>(R + REASON_CODE, rc);
  store<u32>(R + WIRE_FLAGS, WIRE_REASON);
  if (V < 5) {
    // [MQTT-3.1.1 3.2.3] return codes 6-255 are reserved.
    if (rc > 5) return fail(Err.ConnackReturnCode, rc);
  } else {
    // [MQTT-5.0 3.2.2-8] one of the CONNACK reason codes.
    if (!reasonAllowed(PacketType.Connack, rc)) return fail(Err.ReasonCodeInvalid, rc);
  }
  // [MQTT-3.1.1 3.2.2-4] [MQTT-5.0 3.2.2-6] Session Present is 0 when the connection is refused.
  if (rc != 0 && (flags & 1) != 0) return fail(Err.SessionPresentOnError, rc);
  if (V == 5) {
    if (!decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, 0, 1 << PacketType.Connack, false)) {
      return false;
    }
  }
  // [MQTT-3.1.1 3.2] the Remaining Length of a 3.1.1 CONNACK is 2.
  if (cur != lim) return fail(Err.Trailing, <i32>(lim - cur));
  return true;
}
