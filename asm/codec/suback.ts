// SUBACK and UNSUBACK (3.1.1 §3.9, §3.11; 5.0 §3.9, §3.11): a Packet Identifier, 5.0 properties,
// and one reason code per filter (none in a 3.1.1 UNSUBACK). Sent only by servers.
import { R, V } from './context';
import { cur, lim } from './cursor';
import { decodePacketId } from './ack';
import { decodeProperties } from './properties';
import { LIST, LIST_COUNT, PROP_MASK, PROP_SLOTS, PROPS, TYPE, USER_PROP_COUNT, setSpan } from './record';
import { PacketType, reasonAllowed, subackV3Allowed } from './reasons';
import { Err, fail } from './status';

export function decodeSuback(): bool {
  if (!decodePacketId()) return false;
  const type = <i32>load<u32>(R + TYPE);
  if (V < 5 && type == PacketType.Unsuback) {
    // [MQTT-3.1.1 3.11.1] a 3.1.1 UNSUBACK has Remaining Length 2 and no payload.
    return cur == lim ? true : fail(Err.Trailing, <i32>(lim - cur));
  }
  if (V == 5) {
    if (!decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, 0, 1 << type, false)) return false;
  }
  const n = <u32>(lim - cur);
  // [MQTT-3.1.1 3.9.3] [MQTT-5.0 3.9.3] [MQTT-5.0 3.11.3] one reason code per topic filter.
  if (n == 0) return fail(Err.ReasonListEmpty, 0);
  for (let i: u32 = 0; i < n; i++) {
    const rc = <i32>load<u8>(cur + i);
    // [MQTT-3.1.1 3.9.3-2] 0x00-0x02 or 0x80; [MQTT-5.0 3.9.3-1] [MQTT-5.0 3.11.3-1] the table's codes.
    const ok = V == 5 ? reasonAllowed(type, rc) : subackV3Allowed(rc);
    if (!ok) return fail(Err.ReasonCodeInvalid, rc);
  }
  setSpan(R, LIST, cur, n);
  store<u32>(R + LIST_COUNT, n);
  return true;
}
