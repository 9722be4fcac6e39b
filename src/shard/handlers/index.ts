// The one place that dispatches a decoded packet by type and enforces the connection state. By
// the time a packet gets here the channel is CONNECTED (CONNECT itself arrives as OPEN), so a
// second CONNECT is a protocol error [MQTT-5.0 3.1.0-2] [MQTT-3.1.1 3.1.0-2]. Packets only a
// server sends never get here: the codec refuses them from a client.
import { PacketType } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { Channel } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function dispatch(shard: MqttShard, ch: Channel): void {
  // Each packet starts afresh in the ack FIFO (src/shard/durable-acks.ts): what its handler
  // stores is what its ack waits for, and an ack that stores nothing still waits its turn.
  shard.acks.begin();
  switch (shard.codec.view.type) {
    case PacketType.PUBLISH:
      handlePublish(shard, ch);
      return;
    case PacketType.PUBACK:
      handlePuback(shard, ch);
      return;
    case PacketType.PUBREC:
      handlePubrec(shard, ch);
      return;
    case PacketType.PUBREL:
      handlePubrel(shard, ch);
      return;
    case PacketType.PUBCOMP:
      handlePubcomp(shard, ch);
      return;
    case PacketType.SUBSCRIBE:
      handleSubscribe(shard, ch);
      return;
    case PacketType.UNSUBSCRIBE:
      handleUnsubscribe(shard, ch);
      return;
    case PacketType.PINGREQ:
      handlePingreq(shard, ch);
      return;
    case PacketType.DISCONNECT:
      handleDisconnect(shard, ch);
      return;
    case PacketType.AUTH:
      handleAuth(shard, ch);
      return;
    case PacketType.CONNECT:
      shard.disconnect(ch, ReasonCode.PROTOCOL_ERROR, 'a second CONNECT on one connection');
      return;
    default:
      shard.disconnect(ch, ReasonCode.PROTOCOL_ERROR, 'a packet only a server may send');
      return;
  }
}
