// What a restart keeps, graceful (SIGTERM) and not (SIGKILL), on the same data directory:
// subscriptions with every option, retained messages (and their clearing), and pending delayed
// wills. The clients only reconnect; they never subscribe again. Two shards.
import { describe, expect, it } from 'vitest';
import type { ConnectOptions } from '../helpers/raw-client.js';
import { connected, mqttConnect, rawPacket, sleep, str, text, utf8 } from '../helpers/raw-client.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import {
  BrokerProcess,
  disconnect,
  idOn,
  publishConfirmed,
  receiveAcking,
  spawnBroker,
  useBrokerProcesses,
} from '../helpers/broker-process.js';

useBrokerProcesses();

const SHARDS = 2;
const keep5: ConnectOptions = { clean: false, properties: { sessionExpiryInterval: 3600 } };
const keep4: ConnectOptions = { clean: false };

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  const what = how === 'SIGTERM' ? 'a graceful restart (SIGTERM)' : 'a crash (SIGKILL)';

  describe(`After ${what}`, () => {
    it('[MQTT-5.0 3.1.2-23, 3.2.2-3, 3.3.4-3, 3.8.3-3, 3.3.1-12, 3.3.1-13] subscriptions survive with their QoS, identifiers, No Local and Retain As Published', async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const id = idOn(1, SHARDS, 'subs5');
      const base = `subs/${id}`;
      const a = await connected(broker.port, 5, id, keep5);
      await a.subscribe({ topic: `${base}/rap`, qos: 1, rap: true }, 0, { subscriptionIdentifiers: [11] });
      await a.subscribe({ topic: `${base}/plain/+`, qos: 2 }, 0, { subscriptionIdentifiers: [12] });
      await a.subscribe({ topic: `${base}/nl`, qos: 1, nl: true }, 0, { subscriptionIdentifiers: [13] });
      await a.subscribe({ topic: `${base}/zero`, qos: 0 });
      await disconnect(a);

      await broker.restart(how);
      const { client: b, connack } = await mqttConnect(broker.port, 5, id, keep5);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      // Its own message on the No Local subscription does not come back to it.
      await publishConfirmed(b, `${base}/nl`, 'own', { qos: 1 });
      const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'subs5-pub'));
      await publishConfirmed(pub, `${base}/rap`, 'rap', { qos: 2, retain: true });
      await publishConfirmed(pub, `${base}/plain/x`, 'plain', { qos: 2, retain: true });
      await publishConfirmed(pub, `${base}/nl`, 'other', { qos: 1 });
      await publishConfirmed(pub, `${base}/zero`, 'zero', { qos: 2 });
      const r = await receiveAcking(b, {
        done: ({ got }) => got.length >= 4,
        timeoutMs: 10_000,
        settleMs: 700,
      });
      const seen = r.got
        .map((p) => [str(p.payload), p.topic, p.qos, p.retain, p.properties?.subscriptionIdentifiers ?? []])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      expect(seen).toEqual([
        ['other', `${base}/nl`, 1, false, [13]],
        ['plain', `${base}/plain/x`, 2, false, [12]], // Retain As Published 0: RETAIN 0
        ['rap', `${base}/rap`, 1, true, [11]], // granted QoS 1; Retain As Published 1: RETAIN 1
        ['zero', `${base}/zero`, 0, false, []],
      ]);
    }, 60_000);

    it('[MQTT-3.1.1 3.1.2-4, 3.2.2-2] subscriptions survive with their QoS and wildcards (3.1.1)', async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const id = idOn(0, SHARDS, 'subs4');
      const base = `subs/${id}`;
      const a = await connected(broker.port, 4, id, keep4);
      const suback = await a.subscribe([
        { topic: `${base}/one/+`, qos: 1 },
        { topic: `${base}/two/#`, qos: 2 },
        { topic: `${base}/zero`, qos: 0 },
      ]);
      expect(suback.granted).toEqual([1, 2, 0]);
      await disconnect(a);

      await broker.restart(how);
      const { client: b, connack } = await mqttConnect(broker.port, 4, id, keep4);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const pub = await connected(broker.port, 4, idOn(1, SHARDS, 'subs4-pub'));
      await publishConfirmed(pub, `${base}/one/x`, 'one', { qos: 2 });
      await publishConfirmed(pub, `${base}/two/a/b`, 'two', { qos: 2 });
      await publishConfirmed(pub, `${base}/zero`, 'zero', { qos: 1 });
      await publishConfirmed(pub, `${base}/elsewhere`, 'no', { qos: 1 });
      const r = await receiveAcking(b, {
        done: ({ got }) => got.length >= 3,
        timeoutMs: 10_000,
        settleMs: 700,
      });
      expect(r.got.map((p) => [str(p.payload), p.topic, p.qos])).toEqual([
        ['one', `${base}/one/x`, 1],
        ['two', `${base}/two/a/b`, 2],
        ['zero', `${base}/zero`, 0],
      ]);
    }, 60_000);

    it('[MQTT-5.0 3.3.1-5, 3.3.1-6, 3.3.1-9] [MQTT-3.1.1 3.3.1-6, 3.3.1-8, 3.3.1-10] retained messages survive on every shard with RETAIN 1; a replaced or cleared one stays so', async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const base = `ret/${idOn(0, SHARDS, 'ret')}`;
      const pub = await connected(broker.port, 4, idOn(0, SHARDS, 'ret-pub'));
      await publishConfirmed(pub, `${base}/kept`, 'old', { qos: 1, retain: true });
      await publishConfirmed(pub, `${base}/kept`, 'new', { qos: 1, retain: true });
      await publishConfirmed(pub, `${base}/two`, 'two', { qos: 2, retain: true });
      await publishConfirmed(pub, `${base}/cleared`, 'soon gone', { qos: 1, retain: true });
      await publishConfirmed(pub, `${base}/cleared`, '', { qos: 1, retain: true });
      await publishConfirmed(pub, `${base}/plain`, 'not retained', { qos: 1 });
      await pub.end();

      await broker.restart(how);
      // A new subscriber on each shard, each protocol version.
      for (const [shard, v] of [
        [0, 5],
        [1, 4],
        [1, 5],
      ] as const) {
        const s = await connected(broker.port, v, idOn(shard, SHARDS, `ret-sub${v}`));
        await s.subscribe(`${base}/#`, 2);
        const r = await receiveAcking(s, {
          done: ({ got }) => got.length >= 2,
          timeoutMs: 10_000,
          settleMs: 500,
        });
        expect(
          r.got.map((p) => [p.topic, str(p.payload), p.qos, p.retain]).sort(),
          `shard ${shard}, MQTT ${v === 5 ? '5.0' : '3.1.1'}`,
        ).toEqual([
          [`${base}/kept`, 'new', 1, true],
          [`${base}/two`, 'two', 2, true],
        ]);
      }
    }, 60_000);

    it('[MQTT-5.0 3.1.2-8, §3.1.3.2.2] a delayed will whose client dropped just before the restart is published after it', async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const topic = `will/${idOn(0, SHARDS, 'will')}`;
      const watcherId = idOn(0, SHARDS, 'will-watch');
      const watcher = await connected(broker.port, 5, watcherId, keep5);
      await watcher.subscribe(topic, 1);
      await disconnect(watcher);
      // Online until the restart: shows whether the will went out too early.
      const online = await connected(broker.port, 5, idOn(1, SHARDS, 'will-online'));
      await online.subscribe(topic, 1);
      const dying = await connected(broker.port, 5, idOn(1, SHARDS, 'will-dying'), {
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: {
          topic,
          payload: text('delayed'),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: 2 },
        },
      });
      dying.destroy(); // no DISCONNECT: the will is due in 2 s
      await sleep(300);

      await broker.restart(how);
      const early = (await online.collect(0)).filter((p) => p.cmd === 'publish');
      expect(early, 'the will was published before the restart, inside its delay').toEqual([]);
      const { client: w2, connack } = await mqttConnect(broker.port, 5, watcherId, keep5);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const r = await receiveAcking(w2, {
        done: ({ got }) => got.length >= 1,
        timeoutMs: 10_000,
        settleMs: 700,
      });
      expect(r.got.map((p) => [p.topic, str(p.payload)])).toEqual([[topic, 'delayed']]);
    }, 60_000);

    it('[MQTT-5.0 3.1.3-9] a will cancelled by a reconnect before the restart is not published after it', async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const topic = `will/${idOn(0, SHARDS, 'nowill')}`;
      const watcherId = idOn(1, SHARDS, 'nowill-watch');
      const watcher = await connected(broker.port, 5, watcherId, keep5);
      await watcher.subscribe(topic, 1);
      await disconnect(watcher);
      const dyingId = idOn(0, SHARDS, 'nowill-back');
      const first = await connected(broker.port, 5, dyingId, {
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: {
          topic,
          payload: text('must not appear'),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: 2 },
        },
      });
      first.destroy();
      await sleep(300);
      // Back within the delay, without a will: the old one is gone.
      const again = await connected(broker.port, 5, dyingId, {
        clean: false,
        properties: { sessionExpiryInterval: 60 },
      });
      await again.ping();
      const droppedAt = Date.now();

      await broker.restart(how);
      const { client: w2, connack } = await mqttConnect(broker.port, 5, watcherId, keep5);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      // Watch past the will's delay, counted from the drop and from the restart.
      const r = await receiveAcking(w2, {
        done: () => false,
        timeoutMs: Math.max(3500, droppedAt + 3500 - Date.now()),
      });
      expect(r.got.map((p) => str(p.payload))).toEqual([]);
    }, 60_000);
  });
}

describe("The broker's own $SYS messages", () => {
  it("are published again after a restart, not restored from the store (as Mosquitto does), while clients' retained messages are", async () => {
    const broker = await spawnBroker({ shards: 1, args: ['--sys-interval', '1'] });
    const topic = `ret/${idOn(0, 1, 'sys')}`;
    const pub = await connected(broker.port, 5, idOn(0, 1, 'sys-pub'));
    await publishConfirmed(pub, topic, 'kept', { qos: 1, retain: true });
    await pub.end();
    const before = await connected(broker.port, 5, idOn(0, 1, 'sys-sub1'));
    await before.subscribe({ topic: '$SYS/broker/uptime', qos: 0 });
    const first = await receiveAcking(before, {
      done: ({ got }) => got.length >= 1,
      timeoutMs: 5000,
      settleMs: 0,
    });
    // Published, and retained, in the first run.
    expect(first.got.map((p) => p.topic)).toEqual(['$SYS/broker/uptime']);
    await before.end();

    broker.args = []; // the helper's own --sys-interval 0: nothing publishes $SYS in the second run
    await broker.restart('SIGTERM');
    const after = await connected(broker.port, 5, idOn(0, 1, 'sys-sub2'));
    await after.subscribe({ topic: '$SYS/#', qos: 0 });
    await after.subscribe({ topic, qos: 1 });
    const r = await receiveAcking(after, { done: () => false, timeoutMs: 1500, settleMs: 0 });
    expect(r.got.map((p) => [p.topic, str(p.payload), p.retain])).toEqual([[topic, 'kept', true]]);
  }, 60_000);

  it('kept in the store by an older version are dropped at start-up', async () => {
    const broker = new BrokerProcess({ shards: 1 });
    const old = await openLmdbStore({
      path: broker.dataDir,
      maxBytes: 64 << 20,
      durability: 'flush',
      flushIntervalMs: 20,
    });
    old.putRetained('$SYS/broker/uptime', {
      bytes: retainedPublish('$SYS/broker/uptime', '999 seconds'),
      version: 4,
      expiresAt: 0,
    });
    old.putRetained('ret/older', { bytes: retainedPublish('ret/older', 'client'), version: 4, expiresAt: 0 });
    await old.close();
    await broker.start();
    const s = await connected(broker.port, 5, idOn(0, 1, 'sys-old'));
    await s.subscribe({ topic: '$SYS/#', qos: 0 });
    await s.subscribe({ topic: 'ret/older', qos: 0 });
    const r = await receiveAcking(s, { done: () => false, timeoutMs: 1000, settleMs: 0 });
    expect(r.got.map((p) => [p.topic, str(p.payload)])).toEqual([['ret/older', 'client']]);
  }, 60_000);
});

/** A retained QoS 0 PUBLISH as an MQTT 3.1.1 client sends it, as the store keeps it. */
function retainedPublish(topic: string, payload: string): Uint8Array {
  return rawPacket(0x31, utf8(topic), [...Buffer.from(payload)]);
}
