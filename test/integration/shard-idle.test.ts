// A shard blocks its thread in Atomics.wait between records while they keep coming (src/shard/
// worker.ts, Idle). What runs on its event loop must still run while a steady stream of records
// keeps it from ever sleeping long: keep-alive timers, and the store flushes an ack waits for.
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { connected, type RawClient } from '../helpers/raw-client.js';

/** Publish QoS 0 on every turn of this thread's loop (every few µs to a millisecond) until `until` settles or 5 s pass. */
async function stream(c: RawClient, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  const end = Date.now() + 5000;
  let sent = 0;
  while (!done && Date.now() < end && sent < 500_000) {
    c.publish('idle/stream', 'x');
    sent++;
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe('a shard kept awake by a steady stream of records', () => {
  const suite = useBroker();

  it('[MQTT-5.0 3.1.2-22] still closes a silent client after 1.5 × its Keep Alive', async () => {
    const silent = await connected(suite.port, 5, 'idle-silent', { keepalive: 1 });
    const streamer = await connected(suite.port, 5, 'idle-streamer');
    const closed = silent.expectClosed(5000);
    const sent = await stream(streamer, closed);
    const got = await closed;
    expect(got.map((p) => p.cmd)).toEqual(['disconnect']);
    expect(got[0]).toMatchObject({ reasonCode: 0x8d });
    expect(sent).toBeGreaterThan(100);
    expect(streamer.closed).toBe(false);
  });

  it('[MQTT-5.0 4.3.2-2] acknowledges a QoS 1 message stored for a persistent session (its store flush runs)', async () => {
    const sub = await connected(suite.port, 5, 'idle-sub', {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await sub.subscribe({ topic: 'idle/durable', qos: 1 });
    const pub = await connected(suite.port, 5, 'idle-pub');
    const streamer = await connected(suite.port, 5, 'idle-streamer-2');
    const id = pub.publish('idle/durable', 'kept', { qos: 1 });
    const acked = pub.expectWhere('puback', id, 5000);
    await stream(streamer, acked);
    expect(await acked).toMatchObject({ cmd: 'puback', messageId: id, reasonCode: 0 });
    expect(await sub.expect('publish')).toMatchObject({ topic: 'idle/durable', qos: 1 });
  });
});
