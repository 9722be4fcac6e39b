import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort, useBroker } from '../helpers/broker.js';

const suite = useBroker(async () => ({ httpPort: await freePort(), shards: 1 }));
let base: string;

beforeAll(() => {
  base = `http://127.0.0.1:${suite.broker.ports.http}`;
});

/** Poll /metrics until `pattern` appears (shards report about once a second), at most 5 s. */
async function metricsMatching(pattern: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 50; i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

describe('HTTP API', () => {
  it('GET /health answers 200 with the shards and the connection count', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      status: 'ok',
      connections: 0,
      shards: [{ index: 0, alive: true, restarts: 0 }],
    });
  });

  it('GET /metrics counts connections, messages and bytes in Prometheus text format', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${suite.port}`, {
      clientId: 'metrics',
      reconnectPeriod: 0,
    });
    await client.subscribeAsync('m/#', { qos: 1 });
    const got = new Promise<void>((r) => client.once('message', () => r()));
    await client.publishAsync('m/1', 'x', { qos: 1 });
    await got;
    const text = await metricsMatching(/weir_messages_sent_total\{shard="0"\} 1\b/);
    expect(text).toContain('# TYPE weir_connections gauge');
    expect(text).toMatch(/^weir_connections 1$/m);
    expect(text).toMatch(/^weir_messages_received_total\{shard="0"\} 1$/m);
    expect(text).toMatch(/^weir_messages_sent_total\{shard="0"\} 1$/m);
    expect(text).toMatch(/^weir_subscriptions\{shard="0"\} 1$/m);
    expect(text).toMatch(/^weir_bytes_received_total [1-9]\d*$/m);
    expect(text).toMatch(/^weir_store_bytes [1-9]\d*$/m);
    expect(text).toMatch(/^weir_shard_heap_bytes\{shard="0"\} [1-9]\d*$/m);
    await client.endAsync();
  });

  it('answers 404 elsewhere, naming what it serves', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/\/health and GET \/metrics/);
  });
});
