// AUTH (5.0 §3.15): a Reason Code (0x00, 0x18, 0x19) and properties; decode rejects it below 5.0
// (packet type 15 is reserved in 3.1.1 [MQTT-3.1.1 2.2.1]).
import { decodeReasonAndProperties } from './ack';

export function decodeAuth(): bool {
  return decodeReasonAndProperties();
}
