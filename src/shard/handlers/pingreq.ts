import type { Channel } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';

/**
 * PINGREQ is answered with PINGRESP [MQTT-5.0 3.12.4-1] [MQTT-3.1.1 3.12.4-1], in order behind
 * the acks that wait for the store (a CONNACK among them: nothing goes before it).
 */
export function handlePingreq(shard: MqttShard, ch: Channel): void {
  shard.acks.send(ch, { cmd: 'pingresp' });
}
