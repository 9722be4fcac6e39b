// UNSUBSCRIBE: remove each filter; UNSUBACK says per filter whether it existed (MQTT 5).
import type { UnsubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';

export function handleUnsubscribe(shard: MqttShard, ch: Channel): void {
  const packet = shard.codec.readPacket() as UnsubscribePacket;
  const session = ch.session;
  const granted: number[] = [];
  for (const topic of packet.unsubscriptions) {
    const existed = shard.unsubscribe(session, topic);
    granted.push(existed ? ReasonCode.SUCCESS : ReasonCode.NO_SUBSCRIPTION_EXISTED);
  }
  shard.persist?.saveSession(session);
  // [MQTT-5.0 3.10.4-5] UNSUBACK answers even filters that matched nothing.
  const unsuback =
    ch.version === 5
      ? { cmd: 'unsuback' as const, messageId: packet.messageId, granted }
      : { cmd: 'unsuback' as const, messageId: packet.messageId };
  shard.acks.send(ch, unsuback);
}
