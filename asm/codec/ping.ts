// PINGREQ and PINGRESP (3.1.1 §3.12-3.13, 5.0 §3.12-3.13): a fixed header and nothing else.
import { cur, lim } from './cursor';
import { Err, fail } from './status';

export function decodePing(): bool {
  // [MQTT-3.1.1 3.12.1] [MQTT-5.0 3.12.1] the Remaining Length is 0.
  return cur == lim ? true : fail(Err.Trailing, <i32>(lim - cur));
}
