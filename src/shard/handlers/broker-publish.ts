// Messages the broker publishes itself: a session's will, and PUBLISHes injected by the gateway
// (the library's publish, $SYS). Routed like any PUBLISH, retained if their RETAIN flag says so.
import type { Session } from '../../session/session.js';
import { publishCurrent } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

export function publishWill(shard: MqttShard, session: Session): void {
  const will = session.will;
  session.will = null;
  // Published once: a restart must not publish it again.
  if (session.persisted && shard.sessions.get(session.clientId) === session)
    shard.persist?.saveSession(session);
  if (!will || !shard.decodeStored(will.bytes, will.version)) return;
  publishDecoded(shard, will.bytes, will.version);
}

/** A PUBLISH (MQTT 5 bytes at ptr, in the inbound ring) from the broker itself. */
export function injectPublish(shard: MqttShard, ptr: number, len: number): void {
  if (shard.codec.decodeAt(ptr, len, 5) !== len) return; // encoded by the gateway: cannot fail
  publishDecoded(shard, shard.ctx.wasm.u8.slice(ptr, ptr + len), 5);
}

/** Route the PUBLISH the codec decoded last (its bytes given for storing), keeping it if retained. */
function publishDecoded(shard: MqttShard, bytes: Uint8Array, version: 3 | 4 | 5): void {
  const { view } = shard.codec;
  shard.stats.messagesIn++;
  publishCurrent(shard, {
    from: null,
    qos: view.qos as 0 | 1 | 2,
    retain: view.retain,
    version,
    bytes: () => bytes,
    ptr: 0,
    len: 0,
    expiresAt: 0,
  });
}
