// PUBLISH from a client: route it, keep it if retained, acknowledge it by QoS.
import { copyOut } from '../../protocol/bytes.js';
import { PacketType, type QoS } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import { type PublishInfo, publishCurrent } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

const MESSAGE_EXPIRY = 0x02;
const TOPIC_ALIAS = 0x23;

export function handlePublish(shard: MqttShard, ch: Channel): void {
  const { view } = shard.codec;
  const qos = view.qos as QoS;
  const packetId = view.packetId;
  const session = ch.session;
  const aliased = ch.version === 5 && view.hasProperty(TOPIC_ALIAS);
  if (aliased && !resolveAlias(shard, ch)) return;
  if (qos === 2) {
    if (session.inboundQos2.has(packetId)) {
      // A re-sent PUBLISH whose PUBREL has not come yet: acknowledge again, deliver nothing
      // twice [MQTT-5.0 4.3.3-10]. Through the ack FIFO like every ack: a reconnecting client
      // re-sends it right behind its CONNECT, and nothing may precede the CONNACK.
      shard.acks.ack(ch, PacketType.PUBREC, packetId, 0);
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
  publishing.shard = shard;
  publishing.ch = ch;
  publishing.packetId = packetId;
  info.from = session;
  info.qos = qos;
  info.retain = view.retain;
  info.version = ch.version;
  // What is stored (queued, retained) must carry the real topic, not the publisher's alias.
  info.bytes = aliased ? canonicalBytes : rawBytes;
  info.ptr = aliased ? 0 : packetPtr;
  info.len = aliased ? 0 : packetLen;
  info.expiresAt = expiresAt;
  const matched = publishCurrent(shard, info);
  info.from = null;
  publishing.ch = undefined;
  // MQTT 5 tells the publisher when nobody subscribed (0x10); still a success [MQTT-5.0 3.4.2.1].
  const reason = ch.version === 5 && matched === 0 ? ReasonCode.NO_MATCHING_SUBSCRIBERS : 0;
  // Acknowledged once what it stored is durable (durability "flush"), in order per connection;
  // a copy refused for a full store turns the ack into a refusal (src/shard/durable-acks.ts).
  if (qos === 1) shard.acks.ack(ch, PacketType.PUBACK, packetId, reason);
  else if (qos === 2) {
    session.inboundQos2.add(packetId);
    shard.persist?.inbound(session, packetId, true);
    shard.acks.ack(ch, PacketType.PUBREC, packetId, reason);
  }
}

// One PublishInfo for every client PUBLISH, filled per packet, and the two ways to copy its bytes
// (both read the packet being handled): no object or closure per message. Delivery is
// synchronous and never nests, so one is enough.
const publishing: { shard: MqttShard | undefined; ch: Channel | undefined; packetId: number } = {
  shard: undefined,
  ch: undefined,
  packetId: 0,
};
const rawBytes = (): Uint8Array => {
  const shard = publishing.shard!;
  return copyOut(shard.ctx.wasm.u8, shard.packetPtr, shard.packetPtr + shard.packetLen);
};
const canonicalBytes = (): Uint8Array => {
  const { shard, ch } = publishing;
  return canonical(shard!, ch!, info.qos, publishing.packetId);
};
const info: PublishInfo = {
  from: null,
  qos: 0,
  retain: false,
  version: 4,
  bytes: rawBytes,
  ptr: 0,
  len: 0,
  expiresAt: 0,
};

/**
 * A Topic Alias from the client: a PUBLISH with a topic binds it, one with an empty topic uses
 * it; aliases are per connection [MQTT-5.0 3.3.2-10]. Points the codec's record at the real
 * topic. False when the connection was closed for a bad alias.
 */
function resolveAlias(shard: MqttShard, ch: Channel): boolean {
  const { view } = shard.codec;
  const alias = view.propertyValue(TOPIC_ALIAS);
  // Every alias from 1 to our maximum is accepted [MQTT-5.0 3.3.2-12]; 0 never reaches here
  // (the codec refuses it), above the maximum is 0x94 [MQTT-5.0 3.2.2-17].
  if (alias > shard.config.topicAliasMaximum) {
    const max = shard.config.topicAliasMaximum;
    shard.disconnect(ch, ReasonCode.TOPIC_ALIAS_INVALID, `Topic Alias ${alias} is above the maximum ${max}`);
    return false;
  }
  const u8 = shard.ctx.wasm.u8;
  if (view.topicLen > 0) {
    ch.aliasesIn[alias] = u8.slice(view.topicPtr, view.topicPtr + view.topicLen);
    return true;
  }
  const topic = ch.aliasesIn[alias];
  if (!topic) {
    // An empty topic with an alias that was never bound (MQTT 5.0 §3.3.2.3.4).
    shard.disconnect(ch, ReasonCode.PROTOCOL_ERROR, `Topic Alias ${alias} has no topic bound to it`);
    return false;
  }
  u8.set(topic, shard.aliasTopic);
  shard.codec.setTopicSpan(shard.aliasTopic, topic.length);
  return true;
}

/** The current PUBLISH re-encoded with its real topic and no alias, for storing. */
function canonical(shard: MqttShard, ch: Channel, qos: QoS, packetId: number): Uint8Array {
  const { staging, codec } = shard;
  const n = codec.encodePublishFrom(staging.ptr, staging.cap, ch.version, {
    qos,
    packetId,
    retain: codec.view.retain,
  });
  return shard.ctx.wasm.u8.slice(staging.ptr, staging.ptr + Math.max(n, 0));
}
