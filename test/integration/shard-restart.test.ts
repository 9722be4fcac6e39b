import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';

const suite = useBroker({ shards: 1 });

const url = () => `mqtt://127.0.0.1:${suite.port}`;

describe('a shard that dies', () => {
  it('drops its connections, comes back on fresh memory, and serves the clients that reconnect', async () => {
    const before = await mqtt.connectAsync(url(), { clientId: 'victim', reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => before.once('close', () => r()));
    const warnings: string[] = [];
    suite.broker.on('warning', ({ message }) => warnings.push(message));
    await suite.broker.restartShard(0);
    await closed;
    // The operator hears of it (the CLI prints warnings on stderr).
    expect(warnings).toEqual([
      expect.stringMatching(/^shard 0 stopped \(.+\); its clients were disconnected and can connect again/),
    ]);
    // The broker kept listening: a reconnecting client gets a working session on the new shard.
    const sub = await mqtt.connectAsync(url(), { clientId: 'victim', reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(url(), { clientId: 'survivor', reconnectPeriod: 0 });
    await sub.subscribeAsync('after/#', { qos: 1 });
    const got = new Promise<string>((r) => sub.once('message', (_t, p) => r(p.toString())));
    await pub.publishAsync('after/restart', 'still here', { qos: 1 });
    expect(await got).toBe('still here');
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it('refuses a shard number that does not exist, saying which exist', async () => {
    await expect(suite.broker.restartShard(3)).rejects.toThrow(/no shard 3: shards are numbered 0 to 0/);
  });
});
