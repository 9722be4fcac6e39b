// Shards writing small batches to plain-TCP sockets themselves (--direct-writes on, the default;
// src/shard/direct-write.ts, src/ring/write-slots.ts): what a client receives must be the same
// bytes, in the same order, as when the main thread writes everything (--direct-writes off), and
// no client may ever see a byte meant for another, however connections come and go.
import { describe, expect, it } from 'vitest';
import type { ConnectPacket, PublishPacket } from '../../src/protocol/packets.js';
import { freePort, useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

function connect(clientId: string): ConnectPacket {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 };
}

describe.each(['on', 'off'] as const)('--direct-writes %s', (directWrites) => {
  const suite = useBroker(async () => ({ directWrites, httpPort: await freePort(), durability: 'memory' }));
  const clients: RawClient[] = [];

  async function session(clientId: string): Promise<RawClient> {
    const c = await RawClient.connect(suite.port);
    clients.push(c);
    c.send(connect(clientId));
    expect(await c.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    return c;
  }

  /** A counter from /metrics once it satisfies `ok` (shards report about once a second), at most 5 s. */
  async function metric(pattern: RegExp, ok: (value: number) => boolean): Promise<number> {
    let value = Number.NaN;
    for (let i = 0; i < 50; i++) {
      const text = await (await fetch(`http://127.0.0.1:${suite.broker.ports.http}/metrics`)).text();
      value = Number(pattern.exec(text)?.[1]);
      if (ok(value)) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
    return value;
  }

  it('delivers every message in order, and /metrics counts every byte the clients got', async () => {
    const subs = await Promise.all([0, 1, 2, 3].map((i) => session(`dw-${directWrites}-sub-${i}`)));
    for (const [i, s] of subs.entries()) await s.subscribe({ topic: `dw/${i}`, qos: 1 });
    const all = await session(`dw-${directWrites}-all`);
    await all.subscribe('dw/#');
    const pub = await session(`dw-${directWrites}-pub`);
    // One at a time, each waiting for its PUBACK: the shard's batches are small, as at low rates.
    for (let n = 0; n < 100; n++) await pub.publishAcked(`dw/${n % 4}`, `m${n}`, { qos: 1 });
    for (const [i, s] of subs.entries()) {
      const got: string[] = [];
      for (let k = 0; k < 25; k++) {
        const p = (await s.expect('publish')) as PublishPacket;
        expect(p.topic).toBe(`dw/${i}`);
        got.push(Buffer.from(p.payload).toString());
        await s.ack(p);
      }
      expect(got).toEqual(Array.from({ length: 25 }, (_, k) => `m${4 * k + i}`));
    }
    const seen: string[] = [];
    for (let n = 0; n < 100; n++)
      seen.push(Buffer.from(((await all.expect('publish')) as PublishPacket).payload).toString());
    expect(seen).toEqual(Array.from({ length: 100 }, (_, n) => `m${n}`));

    // Every byte every client of this broker received, whichever thread wrote it.
    const received = clients.reduce((sum, c) => sum + c.rawBytes().length, 0);
    expect(await metric(/^weir_bytes_sent_total (\d+)$/m, (v) => v === received)).toBe(received);
    const direct = await metric(/^weir_direct_bytes_sent_total\{shard="0"\} (\d+)$/m, (v) => v >= 0);
    if (directWrites === 'on') expect(direct).toBeGreaterThan(0);
    else expect(direct).toBe(0);
  });

  it("keeps a slow reader's messages whole and in order when its socket fills in the middle of one", async () => {
    const sub = await session(`dw-${directWrites}-slow`);
    await sub.subscribe({ topic: 'dw-slow', qos: 1 });
    sub.socket.pause();
    const pub = await session(`dw-${directWrites}-slow-pub`);
    // 400 × 16 KiB, one at a time: small batches the shard writes itself until the socket's
    // buffers are full, then a write that comes back short, whose rest the main thread queues.
    const payload = (i: number) => {
      const b = Buffer.alloc(16 * 1024, 0x61 + (i % 26));
      b.writeUInt32BE(i, 0);
      return b;
    };
    for (let i = 0; i < 400; i++) await pub.publishAcked('dw-slow', payload(i), { qos: 1 });
    sub.socket.resume();
    for (let i = 0; i < 400; i++) {
      const p = (await sub.expect('publish', 5000)) as PublishPacket;
      expect(Buffer.from(p.payload).equals(payload(i))).toBe(true);
      await sub.ack(p);
    }
  });

  it('never hands one client a byte meant for another while connections come and go', async () => {
    // Clients leave abruptly while messages for them are still on their way, and new clients
    // connect at once, getting the descriptors (the lowest free) and the ids of those that left:
    // a shard that wrote to a descriptor after its connection closed would write to the new one.
    const pub = await session(`dw-${directWrites}-churn-pub`);
    const topics: string[] = [];
    let live: Array<{ c: RawClient; topic: string }> = [];
    const join = async (n: number) => {
      const topic = `churn/${directWrites}/${n}`;
      topics.push(topic);
      const c = await session(`dw-${directWrites}-churn-${n}`);
      await c.subscribe(topic);
      live.push({ c, topic });
    };
    let next = 0;
    for (; next < 16; next++) await join(next);
    let pumping = true;
    let sent = 0;
    const pump = (async () => {
      // A message to every topic ever subscribed, gone or not, every millisecond, until the churn
      // is over (or 20 s have passed).
      const until = Date.now() + 20_000;
      while (pumping && Date.now() < until) {
        for (const topic of topics) pub.publish(topic, `${topic}#${sent++}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    for (let round = 0; round < 30; round++) {
      const gone = live.filter((_, i) => (i + round) % 2 === 0);
      live = live.filter((_, i) => (i + round) % 2 !== 0);
      for (const { c } of gone) c.destroy();
      for (let j = 0; j < gone.length; j++) await join(next++);
      for (const { c, topic } of gone) {
        for (const p of await c.collect(0)) if (p.cmd === 'publish') expect(p.topic).toBe(topic);
        expect(c.error).toBeUndefined();
      }
    }
    pumping = false;
    await pump;
    await pub.ping();
    let delivered = 0;
    const collected = await Promise.all(live.map(({ c }) => c.collect(200)));
    for (const [i, { c, topic }] of live.entries()) {
      for (const p of collected[i]!) {
        expect(p.cmd).toBe('publish');
        expect((p as PublishPacket).topic).toBe(topic);
        delivered++;
      }
      expect(c.error).toBeUndefined();
    }
    expect(delivered).toBeGreaterThan(0);
  });
});
