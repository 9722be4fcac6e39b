// The shard logic module the broker's pool loads: MQTT, with the limits the gateway passed.
import type { ShardContext, ShardLogic } from './logic.js';
import { MqttShard, type ShardConfig } from './mqtt-shard.js';

export default function mqttLogic(ctx: ShardContext): ShardLogic {
  return new MqttShard(ctx, ctx.settings as ShardConfig);
}
