import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';

/**
 * Weir offers no enhanced authentication (CONNACK refuses an Authentication Method with 0x8C),
 * so an AUTH packet can only be a protocol error [MQTT-5.0 4.12.0-1].
 */
export function handleAuth(shard: MqttShard, ch: Channel): void {
  shard.disconnect(ch, ReasonCode.PROTOCOL_ERROR, 'AUTH without an authentication method in CONNECT');
}
