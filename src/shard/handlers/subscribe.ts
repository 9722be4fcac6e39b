// SUBSCRIBE: add each filter to the shard's index, answer SUBACK, then send the retained
// messages each subscription asks for by its Retain Handling.
import type { QoS, SubscribePacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { parseShared, validateTopicFilter } from '../../protocol/topic.js';
import type { SubscriptionOptions } from '../../session/session.js';
import type { Channel } from '../channel.js';
import { deliverStored } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

/** The failure code of SUBACK: 0x80 in 3.1.1 [MQTT-3.1.1 3.9.3-2]; in 5.0 the reason. */
function failure(ch: Channel, reason: number): number {
  return ch.version === 5 ? reason : 0x80;
}

export function handleSubscribe(shard: MqttShard, ch: Channel): void {
  const packet = shard.codec.readPacket() as SubscribePacket;
  const session = ch.session;
  const subId = packet.properties?.subscriptionIdentifiers?.[0] ?? 0;
  const granted: number[] = [];
  const retainedFor: Array<{ filter: string; options: SubscriptionOptions }> = [];
  for (const s of packet.subscriptions) {
    let filter = s.topic;
    let group: string | null = null;
    try {
      const shared = parseShared(s.topic, shard.ctx.wasm);
      if (shared) ({ filter, group } = shared);
    } catch {
      granted.push(failure(ch, ReasonCode.TOPIC_FILTER_INVALID));
      continue;
    }
    if (validateTopicFilter(filter, shard.ctx.wasm) !== null) {
      granted.push(failure(ch, ReasonCode.TOPIC_FILTER_INVALID));
      continue;
    }
    if (group !== null && s.nl) {
      // No Local on a shared subscription is a protocol error [MQTT-5.0 3.8.3-4].
      shard.disconnect(ch, ReasonCode.PROTOCOL_ERROR, `No Local set on the shared subscription ${s.topic}`);
      return;
    }
    const options: SubscriptionOptions = {
      qos: s.qos,
      nl: s.nl ?? false,
      rap: s.rap ?? false,
      rh: s.rh ?? 0,
      subId,
      group,
    };
    // The same filter again replaces the subscription's options [MQTT-5.0 3.8.4-3].
    const existed = shard.subscribe(session, s.topic, filter, options);
    if (existed === undefined) {
      // The matcher's memory is full: this filter is refused, the connection and the rest stay.
      granted.push(failure(ch, ReasonCode.QUOTA_EXCEEDED));
      continue;
    }
    granted.push(s.qos);
    // Retained messages: not for shared subscriptions (MQTT 5.0 §4.8.2); RH 0 always, RH 1 only
    // for a new subscription, RH 2 never [MQTT-5.0 3.3.1-9] [MQTT-5.0 3.3.1-10] [MQTT-5.0 3.3.1-11].
    if (group === null && (options.rh === 0 || (options.rh === 1 && !existed)))
      retainedFor.push({ filter, options });
  }
  shard.persist?.saveSession(session);
  // The SUBACK has one reason code per filter, in order [MQTT-5.0 3.8.4-6] [MQTT-3.1.1 3.8.4-5].
  // Durable first for a persistent session (durability "flush"); the retained messages follow it.
  const suback = { cmd: 'suback' as const, messageId: packet.messageId, granted };
  shard.acks.send(
    ch,
    suback,
    retainedFor.length > 0 ? () => sendRetained(shard, ch, retainedFor) : undefined,
  );
}

/** The retained messages each new subscription asks for, after its SUBACK. */
function sendRetained(
  shard: MqttShard,
  ch: Channel,
  retainedFor: Array<{ filter: string; options: SubscriptionOptions }>,
): void {
  const session = ch.session;
  if (shard.channels.get(ch.conn) !== ch) return; // gone while the SUBACK waited
  for (const { filter, options } of retainedFor) {
    for (const [, m] of shard.retained.matching(filter)) {
      // A retained message is sent with RETAIN 1 on a new subscription [MQTT-5.0 3.3.1-9].
      deliverStored(shard, session, {
        bytes: m.bytes,
        version: m.version,
        qos: Math.min(options.qos, publishQos(m.bytes)) as QoS,
        retain: true,
        subIds: options.subId ? [options.subId] : [],
        expiresAt: m.expiresAt,
      });
    }
  }
}

/** The QoS bits of a PUBLISH packet's first byte. */
function publishQos(bytes: Uint8Array): number {
  return (bytes[0]! >> 1) & 3;
}
