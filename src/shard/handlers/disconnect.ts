// DISCONNECT from the client: the connection ends normally.
import type { DisconnectPacket } from '../../protocol/packets.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { type Channel, ChannelState } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';

export function handleDisconnect(shard: MqttShard, ch: Channel): void {
  const session = ch.session;
  if (ch.version === 5) {
    const packet = shard.codec.readPacket() as DisconnectPacket;
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      // A session that was to end with its connection cannot be extended now [MQTT-5.0 3.14.2-2].
      if (session.expiryInterval === 0 && expiry !== 0) {
        shard.disconnect(
          ch,
          ReasonCode.PROTOCOL_ERROR,
          'Session Expiry Interval set on DISCONNECT after 0 in CONNECT',
        );
        return;
      }
      session.expiryInterval = expiry;
    }
    // 0x04 "Disconnect with Will Message" keeps the will; any other reason discards it.
    ch.disconnected = (packet.reasonCode ?? 0) !== ReasonCode.DISCONNECT_WITH_WILL_MESSAGE;
  } else {
    // [MQTT-3.1.1 3.14.4-3]: on DISCONNECT the will is discarded.
    ch.disconnected = true;
  }
  ch.state = ChannelState.CLOSING;
  shard.output.close(ch.conn);
}
