// Publishing a session's will: routed like any PUBLISH, retained if its RETAIN flag says so.
import type { Session } from '../../session/session.js';
import { deliverCurrent } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';

export function publishWill(shard: MqttShard, session: Session): void {
  const will = session.will;
  session.will = null;
  if (!will || !shard.decodeStored(will.bytes, will.version)) return;
  const { view } = shard.codec;
  if (view.retain) {
    const topic = Buffer.from(shard.ctx.wasm.u8.buffer, view.topicPtr, view.topicLen).toString('utf8');
    shard.retained.set(
      topic,
      view.payloadLen === 0 ? null : { bytes: will.bytes, version: will.version, expiresAt: 0 },
    );
  }
  deliverCurrent(shard, {
    from: null,
    qos: view.qos as 0 | 1 | 2,
    retain: view.retain,
    version: will.version,
    bytes: () => will.bytes,
    expiresAt: 0,
  });
}
