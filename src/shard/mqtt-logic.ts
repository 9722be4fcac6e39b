// The shard logic module the broker's pool loads: MQTT, with the limits the gateway passed, and
// the store (unless durability is "memory"), from which the shard's sessions are restored first.
import type { WeirError } from '../errors.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import type { ShardContext, ShardLogic } from './logic.js';
import type { ShardWarning } from './worker.js';
import { MqttShard, type ShardConfig } from './mqtt-shard.js';

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

/** The longest a store that keeps failing goes without its failure being told again. */
const FAILURE_REPORT_MS = 60_000;

/**
 * The store's health as the operator hears it. On a nearly full disk large writes fail while small
 * ones still commit, so the store can flip between failing and writing on every batch: a failure
 * is told at most once a minute (with how many more there were), and "writes again" only after a
 * failure that was told.
 */
export function storeHealthReport(
  path: string,
  tell: (message: string) => void,
  now: () => number = Date.now,
): (error: WeirError | null) => void {
  let toldAt = -Infinity;
  let untold = 0;
  let owed = false;
  return (error) => {
    if (!error) {
      if (owed) tell(`the store at ${path} writes again`);
      owed = false;
      return;
    }
    if (now() - toldAt < FAILURE_REPORT_MS) {
      untold++;
      return;
    }
    const more =
      untold > 0 ? ` (${untold} more failure${untold === 1 ? '' : 's'} since the last report)` : '';
    tell(
      `${error.message}${more}; until then, what needs the store is refused (persistent sessions, ` +
        'their subscriptions, QoS 1 and 2 messages for them, retained messages)',
    );
    toldAt = now();
    untold = 0;
    owed = true;
  };
}
