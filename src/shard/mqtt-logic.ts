// The shard logic module the broker's pool loads: MQTT, with the limits the gateway passed, and
// the store (unless durability is "memory"), from which the shard's sessions are restored first.
import { openLmdbStore } from '../store/lmdb-store.js';
import type { ShardContext, ShardLogic } from './logic.js';
import type { ShardWarning } from './worker.js';
import { MqttShard, type ShardConfig } from './mqtt-shard.js';
import { storeHealthReport } from './store-health.js';

export default async function mqttLogic(ctx: ShardContext): Promise<ShardLogic> {
  const config = ctx.settings as ShardConfig;
  const shard = new MqttShard(ctx, config);
  if (config.durability !== 'memory') {
    const started = performance.now();
    const store = await openLmdbStore({
      path: config.dataDir,
      maxBytes: config.storeMaxBytes,
      durability: config.durability,
      flushIntervalMs: config.flushIntervalMs,
      onHealth: storeHealthReport(config.dataDir, (message) =>
        ctx.port.postMessage({ type: 'warning', message } satisfies ShardWarning),
      ),
    });
    const sessions = shard.attachStore(store);
    shard.startup = { sessions, ms: Math.round(performance.now() - started) };
  }
  return shard;
}
