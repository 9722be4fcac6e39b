// The connection is gone (socket closed, keep-alive, takeover, our own close). The session stays
// or ends by its expiry; the will goes now, after its delay, or not at all.
import { type Channel, ChannelState } from '../channel.js';
import type { MqttShard } from '../mqtt-shard.js';
import { publishWill } from './broker-publish.js';

/** Session Expiry Interval meaning "never expires" (MQTT 5.0 §3.1.2.11.2). */
const NEVER = 0xffffffff;

export function connectionLost(shard: MqttShard, ch: Channel): void {
  if (shard.channels.get(ch.conn) !== ch) return;
  shard.channels.delete(ch.conn);
  shard.acks.forget(ch);
  ch.state = ChannelState.CLOSING;
  const session = ch.session;
  if (session.conn !== ch.conn) return; // taken over: the session has moved on
  session.conn = -1;
  session.epoch++;
  shard.pendingDrain.delete(session);
  if (ch.disconnected) session.will = null;
  const now = shard.nowSeconds();
  if (session.will) {
    // The will waits for its delay, but never beyond the session [MQTT-5.0 3.1.3-9].
    const delay = Math.min(session.will.delay, session.expiryInterval);
    if (delay === 0) publishWill(shard, session);
    else shard.wheel.schedule({ kind: 'will', session, epoch: session.epoch, deadline: now + delay });
  }
  if (session.expiryInterval === 0) {
    shard.dropSession(session);
    return;
  }
  shard.persist?.saveSession(session);
  if (session.expiryInterval !== NEVER) {
    shard.wheel.schedule({
      kind: 'expiry',
      session,
      epoch: session.epoch,
      deadline: now + session.expiryInterval,
    });
  }
}
