// Several shards: sessions live in the shard their client ID hashes to, and messages cross
// between shards over the shard-to-shard rings. Client IDs are chosen per shard (with the
// gateway's own hash), so each test knows where every client lives.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { shardOf as shardOfType } from '../../src/net/gateway.js';
import { useBroker } from '../helpers/broker.js';
import { distModule } from '../helpers/dist.js';
import { Clients } from '../helpers/mqttjs.js';
import { connected } from '../helpers/raw-client.js';

const { shardOf } = (await import(distModule('src/net/gateway.ts'))) as { shardOf: typeof shardOfType };

interface Got {
  topic: string;
  payload: string;
  packet: mqtt.IPublishPacket;
}

/** Collect every message a client receives. */
function record(c: MqttClient): Got[] {
  const got: Got[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
  return got;
}

/** Wait until `check` holds, at most 5 s (then the assertion after it fails and says why). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const shards of [2, 4]) {
  describe(`${shards} shards`, () => {
    const suite = useBroker({ shards });
    const clients = new Clients();
    let seq = 0;

    afterAll(() => clients.endAll());

    /** A raw MQTT 5 publisher on `shard`: QoS 1 PUBLISH, returns the PUBACK's reason code. */
    async function rawPublisher(shard: number, prefix: string): Promise<(topic: string) => Promise<number>> {
      const raw = await connected(suite.port, 5, idOn(shard, prefix));
      return async (topic) => {
        const id = raw.publish(topic, 'x', { qos: 1 });
        return (await raw.expectWhere('puback', id)).reasonCode ?? 0;
      };
    }

    /** A fresh client ID that hashes to `shard`. */
    function idOn(shard: number, prefix: string): string {
      for (;;) {
        const id = `${prefix}-${shards}-${++seq}`;
        if (shardOf(id, shards) === shard) return id;
      }
    }

    function connect(id: string, options: IClientOptions = {}): Promise<MqttClient> {
      return clients.connect(`mqtt://127.0.0.1:${suite.port}`, id, { protocolVersion: 5, ...options });
    }

    const everyShard = Array.from({ length: shards }, (_, k) => k);

    it('delivers a message published on any shard to subscribers on every shard, once each, at each QoS', async () => {
      const subs = await Promise.all(everyShard.map((k) => connect(idOn(k, 'sub'))));
      const got = subs.map(record);
      for (const s of subs) await s.subscribeAsync('x/+/q', { qos: 2 });
      const pubs = await Promise.all(everyShard.map((k) => connect(idOn(k, 'pub'))));
      for (const [k, p] of pubs.entries())
        for (const qos of [0, 1, 2] as const)
          await p.publishAsync(`x/${k}/q`, `from ${k} qos ${qos}`, { qos });
      const expected = everyShard.flatMap((k) => [0, 1, 2].map((q) => `from ${k} qos ${q}`)).sort();
      await until(() => got.every((g) => g.length >= expected.length));
      await sleep(100); // a duplicate would arrive by now
      for (const g of got) {
        expect(g.map((m) => m.payload).sort()).toEqual(expected);
        for (const m of g) expect(m.packet.qos).toBe(Number(/qos (\d)/.exec(m.payload)![1]));
      }
    });

    it('gives each message of a shared group with members on every shard to exactly one member', async () => {
      const members = await Promise.all(everyShard.map((k) => connect(idOn(k, 'member'))));
      const got = members.map(record);
      for (const m of members) await m.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
      const watcher = await connect(idOn(shards - 1, 'watcher'));
      const watched = record(watcher);
      await watcher.subscribeAsync('jobs/#', { qos: 1 });
      const pub = await connect(idOn(0, 'producer'));
      const count = 40 * shards;
      for (let i = 0; i < count; i++) await pub.publishAsync(`jobs/${i}`, `job ${i}`, { qos: 1 });
      await until(() => got.reduce((n, g) => n + g.length, 0) >= count && watched.length >= count);
      await sleep(100);
      const all = got.flatMap((g) => g.map((m) => m.payload));
      expect(all.length).toBe(count);
      expect(new Set(all).size).toBe(count);
      // Weighted by members (one per shard here): every shard's member takes its turn.
      for (const g of got) expect(g.length).toBeGreaterThan(0);
      // A plain subscription next to the group still gets every message [MQTT-5.0 4.8.2].
      expect(watched.length).toBe(count);
    });

    it('sends a retained message published on one shard to a later subscriber on another, and clears it there', async () => {
      const pub = await connect(idOn(0, 'retainer'));
      await pub.publishAsync('state/lamp', 'on', { qos: 1, retain: true });
      const late = await connect(idOn(shards - 1, 'late'));
      const got = record(late);
      await late.subscribeAsync('state/+', { qos: 1 });
      await until(() => got.length >= 1);
      expect(got.map((m) => [m.topic, m.payload, m.packet.retain])).toEqual([['state/lamp', 'on', true]]);
      // An empty retained payload clears it on every shard [MQTT-5.0 3.3.1-6].
      await pub.publishAsync('state/lamp', '', { qos: 1, retain: true });
      const later = await connect(idOn(shards - 1, 'later'));
      const none = record(later);
      await later.subscribeAsync('state/+', { qos: 1 });
      await sleep(200);
      expect(none.map((m) => m.payload).filter((p) => p !== '')).toEqual([]);
    });

    it('tells a publisher on another shard when a subscription is gone (0x10 No matching subscribers)', async () => {
      const sub = await connect(idOn(shards - 1, 'leaver'));
      await sub.subscribeAsync('leave/now', { qos: 1 });
      const publish = await rawPublisher(0, 'teller');
      expect(await publish('leave/now')).toBe(0);
      await sub.unsubscribeAsync('leave/now');
      // [MQTT-5.0 3.4.2.1] 0x10: the message was accepted but nobody subscribes.
      expect(await publish('leave/now')).toBe(0x10);
    });

    it('routes to the session a takeover kept, and not to one that Clean Start discarded', async () => {
      const id = idOn(shards - 1, 'taken');
      const first = await connect(id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      await first.subscribeAsync('take/over', { qos: 1 });
      const closed = new Promise<void>((r) => first.once('close', () => r()));
      const second = await connect(id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      await closed;
      const got = record(second);
      const pub = await connect(idOn(0, 'taker'));
      await pub.publishAsync('take/over', 'kept', { qos: 1 });
      await until(() => got.length >= 1);
      expect(got.map((m) => m.payload)).toEqual(['kept']);
      await second.endAsync();
      const publish = await rawPublisher(0, 'taker-raw');
      expect(await publish('take/over')).toBe(0); // the offline session still subscribes
      const third = await connect(id, { clean: true });
      expect(third.connected).toBe(true);
      expect(await publish('take/over')).toBe(0x10);
    });

    it("publishes a will on the owner's shard to subscribers on the others", async () => {
      const watcher = await connect(idOn(0, 'mourner'));
      const got = record(watcher);
      await watcher.subscribeAsync('wills/#', { qos: 1 });
      const dying = mqtt.connect(`mqtt://127.0.0.1:${suite.port}`, {
        clientId: idOn(shards - 1, 'dying'),
        protocolVersion: 5,
        reconnectPeriod: 0,
        will: { topic: 'wills/1', payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      await new Promise<void>((r) => dying.once('connect', () => r()));
      dying.stream.destroy(); // not a DISCONNECT: the will goes [MQTT-5.0 3.1.2-8]
      await until(() => got.length >= 1);
      expect(got.map((m) => m.payload)).toEqual(['gone']);
      dying.end(true);
    });

    it("delivers the host program's publish to every shard's subscribers once, and to one member of a group", async () => {
      const subs = await Promise.all(everyShard.map((k) => connect(idOn(k, 'host'))));
      const got = subs.map(record);
      for (const s of subs) {
        await s.subscribeAsync('host/all', { qos: 1 });
        await s.subscribeAsync('$share/h/host/one', { qos: 1 });
      }
      for (let i = 0; i < 5; i++) {
        expect(suite.broker.publish('host/all', `all ${i}`, { qos: 1 })).toBe(true);
        expect(suite.broker.publish('host/one', `one ${i}`, { qos: 1 })).toBe(true);
      }
      await until(() => got.every((g) => g.filter((m) => m.topic === 'host/all').length >= 5));
      await sleep(100);
      for (const g of got) expect(g.filter((m) => m.topic === 'host/all').length).toBe(5);
      const ones = got.flatMap((g) => g.filter((m) => m.topic === 'host/one').map((m) => m.payload));
      expect(ones.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `one ${i}`));
    });

    it('carries floods both ways between two shards at once without losing a QoS 1 message', async () => {
      // Large payloads fill the shard-to-shard rings: each shard must keep draining the other's
      // ring while it waits for room in its own, or both would wait forever.
      const payload = Buffer.alloc(60_000, 7);
      const n = 150;
      const a = await connect(idOn(0, 'flood-a'));
      const b = await connect(idOn(1, 'flood-b'));
      const gotA = record(a);
      const gotB = record(b);
      await a.subscribeAsync('flood/to-a', { qos: 1 });
      await b.subscribeAsync('flood/to-b', { qos: 1 });
      const send = (c: MqttClient, topic: string) =>
        Promise.all(Array.from({ length: n }, () => c.publishAsync(topic, payload, { qos: 1 })));
      await Promise.all([send(a, 'flood/to-b'), send(b, 'flood/to-a')]);
      await until(() => gotA.length >= n && gotB.length >= n);
      expect([gotA.length, gotB.length]).toEqual([n, n]);
      expect(gotA.every((m) => m.packet.payload.length === payload.length)).toBe(true);
    });

    it("keeps a persistent session's acknowledged messages when its shard's thread dies (restored from the store)", async () => {
      const dead = shards - 1;
      const id = idOn(dead, 'durable');
      const keep = { clean: false, properties: { sessionExpiryInterval: 3600 } };
      const sub = await connect(id, keep);
      await sub.subscribeAsync('durable/+', { qos: 1 });
      await sub.endAsync();
      const publish = await rawPublisher(0, 'durable-pub');
      for (let i = 0; i < 20; i++) expect(await publish(`durable/${i}`)).toBe(0);
      await suite.broker.restartShard(dead);
      const back = mqtt.connect(`mqtt://127.0.0.1:${suite.port}`, {
        clientId: id,
        protocolVersion: 5,
        reconnectPeriod: 0,
        ...keep,
      });
      const got = record(back);
      const connack = await new Promise<mqtt.IConnackPacket>((r) => back.once('connect', r));
      clients.track(back);
      expect(connack.sessionPresent).toBe(true);
      await until(() => got.length >= 20);
      await sleep(100);
      expect(got.map((m) => m.topic)).toEqual(Array.from({ length: 20 }, (_, i) => `durable/${i}`));
    });

    it('keeps serving the other shards while one is killed, and serves its clients when they come back', async () => {
      const dead = shards - 1;
      // A retained message the killed shard must learn again from another shard.
      const keeper = await connect(idOn(0, 'keeper'));
      await keeper.publishAsync('crash/retained', 'kept', { qos: 1, retain: true });
      const victim = await connect(idOn(dead, 'victim'));
      await victim.subscribeAsync('crash/+', { qos: 1 });
      const survivors = await Promise.all(
        everyShard.filter((k) => k !== dead).map((k) => connect(idOn(k, 'survivor'))),
      );
      const survived = survivors.map(record);
      for (const s of survivors) await s.subscribeAsync('crash/+', { qos: 1 });
      const victimClosed = new Promise<void>((r) => victim.once('close', () => r()));
      const restarted = suite.broker.restartShard(dead);
      await victimClosed;
      // While the shard is down and coming back, the others exchange messages.
      const pub = await connect(idOn(0, 'crash-pub'));
      await pub.publishAsync('crash/during', 'during', { qos: 1 });
      await until(() => survived.every((g) => g.some((m) => m.payload === 'during')));
      for (const g of survived) expect(g.filter((m) => m.payload === 'during').length).toBe(1);
      expect(survivors.every((s) => s.connected)).toBe(true);
      await restarted;
      // The victim comes back to the new shard: it subscribes there (its routes reach the
      // others again) and gets the retained message the new shard was sent.
      const back = await connect(idOn(dead, 'victim-back'));
      const got = record(back);
      await back.subscribeAsync('crash/+', { qos: 1 });
      await until(() => got.some((m) => m.payload === 'kept'));
      expect(got.filter((m) => m.packet.retain).map((m) => m.payload)).toEqual(['kept']);
      await pub.publishAsync('crash/after', 'after', { qos: 1 });
      await until(() => got.some((m) => m.payload === 'after'));
      expect(got.filter((m) => m.payload === 'after').length).toBe(1);
      // And a publisher on the new shard reaches the survivors.
      await back.publishAsync('crash/back', 'back', { qos: 1 });
      await until(() => survived.every((g) => g.some((m) => m.payload === 'back')));
      for (const g of survived) expect(g.filter((m) => m.payload === 'back').length).toBe(1);
    });
  });
}

describe('a largest packet between shards', () => {
  // --max-packet-size chosen so that the rings (sized for it) have no byte to spare beyond it:
  // checking room for a FORWARD (the packet plus its header) must not ask for more than a record
  // can hold, or no PUBLISH would ever be handled.
  const maxPacketSize = (1 << 19) - 80;
  const suite = useBroker({ shards: 2, maxPacketSize });
  const clients = new Clients();
  afterAll(() => clients.endAll());

  it('crosses from one shard to the other, small and near the limit', async () => {
    const ids = ['big-a', 'big-b', 'big-c', 'big-d', 'big-e', 'big-f'];
    const on = (k: number) => ids.find((id) => shardOf(id, 2) === k)!;
    const url = `mqtt://127.0.0.1:${suite.port}`;
    const sub = await clients.connect(url, on(1), { protocolVersion: 5 });
    const pub = await clients.connect(url, on(0), { protocolVersion: 5 });
    const got = record(sub);
    await sub.subscribeAsync('big/+', { qos: 1 });
    const large = Buffer.alloc(maxPacketSize - 1000, 1);
    await pub.publishAsync('big/small', 'small', { qos: 1 });
    await pub.publishAsync('big/large', large, { qos: 1 });
    await until(() => got.length >= 2);
    expect(got.map((m) => [m.topic, m.packet.payload.length])).toEqual([
      ['big/small', 5],
      ['big/large', large.length],
    ]);
  });
});
