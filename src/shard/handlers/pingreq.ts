import type { Channel } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';

/** PINGREQ is answered with PINGRESP [MQTT-5.0 3.12.4-1] [MQTT-3.1.1 3.12.4-1]. */
export function handlePingreq(shard: MqttShard, ch: Channel): void {
  shard.output.packet(ch.conn, { cmd: 'pingresp' }, ch.version);
}
