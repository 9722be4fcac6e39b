// The acknowledgements of QoS 1 and 2 flows, in both directions.
import { PacketType } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { AckResult } from '../../session/outbound.js';
import type { Channel } from '../channel.js';
import { drainQueue } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

/**
 * An ack for an identifier we have no flow for is ignored: after a reconnect a client may ack a
 * message twice. An ack that contradicts the flow's state (PUBACK for a QoS 2 message) is a
 * protocol error.
 */
function settle(shard: MqttShard, ch: Channel, result: number, what: string): void {
  if (result === AckResult.WRONG_STATE) {
    shard.disconnect(
      ch,
      ReasonCode.PROTOCOL_ERROR,
      `${what} does not match the state of packet ${shard.codec.view.packetId}`,
    );
    return;
  }
  if (result === AckResult.OK) drainQueue(shard, ch.session);
}

/** PUBACK ends a QoS 1 flow we started [MQTT-5.0 4.3.2-5]. */
export function handlePuback(shard: MqttShard, ch: Channel): void {
  settle(shard, ch, ch.session.outbound.puback(shard.codec.view.packetId), 'PUBACK');
}

/**
 * PUBREC: answer with PUBREL [MQTT-5.0 4.3.3-4]; a PUBREC with a failure code ends the flow
 * with no PUBREL [MQTT-5.0 4.4.0-2].
 */
export function handlePubrec(shard: MqttShard, ch: Channel): void {
  const { packetId, reasonCode } = shard.codec.view;
  const out = ch.session.outbound;
  if (ch.version === 5 && reasonCode >= 0x80) {
    settle(shard, ch, out.abandon(packetId), 'PUBREC');
    return;
  }
  const result = out.pubrec(packetId);
  // The PUBREL goes through the ack FIFO: behind a CONNACK that waits for the store (a client
  // may send PUBREC before it) and the acks before it.
  if (result === AckResult.OK) {
    shard.acks.ack(ch, PacketType.PUBREL, packetId, 0);
    return;
  }
  if (result === AckResult.UNKNOWN_ID && ch.version === 5) {
    // PUBREL 0x92 (MQTT 5.0 §3.6.2.1): we hold no flow with this identifier.
    shard.acks.ack(ch, PacketType.PUBREL, packetId, ReasonCode.PACKET_IDENTIFIER_NOT_FOUND);
    return;
  }
  settle(shard, ch, result, 'PUBREC');
}

/** PUBCOMP ends a QoS 2 flow we started. */
export function handlePubcomp(shard: MqttShard, ch: Channel): void {
  settle(shard, ch, ch.session.outbound.pubcomp(shard.codec.view.packetId), 'PUBCOMP');
}

/**
 * PUBREL from the publisher of a QoS 2 message: forget its identifier and answer PUBCOMP
 * [MQTT-5.0 4.3.3-11]; for an identifier we do not hold, PUBCOMP 0x92 in MQTT 5.
 */
export function handlePubrel(shard: MqttShard, ch: Channel): void {
  const id = shard.codec.view.packetId;
  const known = ch.session.inboundQos2.delete(id);
  // The identifier may be reused once PUBCOMP is sent: its release must be durable first.
  if (known) shard.persist?.inbound(ch.session, id, false);
  const reason = known || ch.version !== 5 ? 0 : ReasonCode.PACKET_IDENTIFIER_NOT_FOUND;
  shard.acks.ack(ch, PacketType.PUBCOMP, id, reason);
}
