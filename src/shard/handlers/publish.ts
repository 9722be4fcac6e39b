// PUBLISH from a client: route it, keep it if retained, acknowledge it by QoS.
import { PacketType, type QoS } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { deliverCurrent } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

const MESSAGE_EXPIRY = 0x02;
const TOPIC_ALIAS = 0x23;

export function handlePublish(shard: MqttShard, ch: Channel): void {
  const { view } = shard.codec;
  const qos = view.qos as QoS;
  const packetId = view.packetId;
  const session = ch.session;
  if (ch.version === 5 && view.hasProperty(TOPIC_ALIAS)) {
    // CONNACK announced Topic Alias Maximum 0 [MQTT-5.0 3.2.2-17], so any alias is invalid.
    shard.disconnect(
      ch,
      ReasonCode.TOPIC_ALIAS_INVALID,
      'topic aliases are not accepted (Topic Alias Maximum is 0)',
    );
    return;
  }
  if (qos === 2) {
    if (session.inboundQos2.has(packetId)) {
      // A re-sent PUBLISH whose PUBREL has not come yet: acknowledge again, deliver nothing
      // twice [MQTT-5.0 4.3.3-10].
      shard.output.ack(ch.conn, ch.version, PacketType.PUBREC, packetId);
      return;
    }
    // More unacknowledged QoS 2 PUBLISHes than our Receive Maximum [MQTT-5.0 3.3.4-9].
    if (session.inboundQos2.size >= shard.config.receiveMaximum) {
      shard.disconnect(
        ch,
        ReasonCode.RECEIVE_MAXIMUM_EXCEEDED,
        'more QoS 2 messages in flight than Receive Maximum',
      );
      return;
    }
  }
  shard.stats.messagesIn++;
  const expiry =
    ch.version === 5 && view.hasProperty(MESSAGE_EXPIRY) ? view.propertyValue(MESSAGE_EXPIRY) : -1;
  const expiresAt = expiry >= 0 ? Date.now() + expiry * 1000 : 0;
  const { packetPtr, packetLen } = shard;
  const bytes = () => shard.ctx.wasm.u8.slice(packetPtr, packetPtr + packetLen);
  if (view.retain) retain(shard, ch, bytes, expiresAt);
  const matched = deliverCurrent(shard, {
    from: session,
    qos,
    retain: view.retain,
    version: ch.version,
    bytes,
    expiresAt,
  });
  // MQTT 5 tells the publisher when nobody subscribed (0x10); still a success [MQTT-5.0 3.4.2.1].
  const reason = ch.version === 5 && matched === 0 ? ReasonCode.NO_MATCHING_SUBSCRIBERS : 0;
  if (qos === 1) shard.output.ack(ch.conn, ch.version, PacketType.PUBACK, packetId, reason);
  else if (qos === 2) {
    session.inboundQos2.add(packetId);
    shard.output.ack(ch.conn, ch.version, PacketType.PUBREC, packetId, reason);
  }
}

/** A PUBLISH with RETAIN replaces the topic's retained message; an empty payload clears it. */
function retain(shard: MqttShard, ch: Channel, bytes: () => Uint8Array, expiresAt: number): void {
  const { view } = shard.codec;
  const topic = Buffer.from(shard.ctx.wasm.u8.buffer, view.topicPtr, view.topicLen).toString('utf8');
  // [MQTT-5.0 3.3.1-6] [MQTT-3.1.1 3.3.1-10]: an empty retained payload removes the message.
  if (view.payloadLen === 0) shard.retained.set(topic, null);
  else shard.retained.set(topic, { bytes: bytes(), version: ch.version, expiresAt });
}
