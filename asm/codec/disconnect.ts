// DISCONNECT (3.1.1 §3.14, 5.0 §3.14): empty in 3.1.1; in 5.0 an optional Reason Code and
// properties (Session Expiry Interval, Reason String, Server Reference, User Property).
import { V } from './context';
import { cur, lim } from './cursor';
import { decodeReasonAndProperties } from './ack';
import { Err, fail } from './status';

export function decodeDisconnect(): bool {
  // [MQTT-3.1.1 3.14.1] a 3.1.1 DISCONNECT has no variable header or payload.
  if (V < 5) return cur == lim ? true : fail(Err.Trailing, <i32>(lim - cur));
  return decodeReasonAndProperties();
}
