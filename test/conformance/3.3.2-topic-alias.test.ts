// Topic aliases (MQTT 5.0 §3.3.2.3.4, §3.1.2.11.5, §3.2.2.3.8), both ways: the client's aliases up
// to our Topic Alias Maximum, ours up to the client's; black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { connected, mqttConnect, type RawClient, rawPacket, str, utf8 } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

const ALIAS_MAX = 3;
useBroker({ topicAliasMaximum: ALIAS_MAX });

/** Publish with a Topic Alias; `topic` '' uses an existing binding. */
function aliased(c: RawClient, topic: string, alias: number, payload: string, retain = false): void {
  c.publish(topic, payload, { qos: 0, retain, properties: { topicAlias: alias } });
}

/** The connection must close after one DISCONNECT whose reason code is one of `codes`. */
async function expectDisconnect(c: RawClient, ...codes: number[]): Promise<void> {
  const got = await c.expectClosed();
  expect(got).toHaveLength(1);
  expect(got[0]!.cmd).toBe('disconnect');
  expect(codes).toContain(got[0]!.cmd === 'disconnect' ? got[0]!.reasonCode : -1);
}

describe('Topic aliases from the client, MQTT 5.0', () => {
  it('[MQTT-5.0 §3.2.2.3.8] CONNACK announces our Topic Alias Maximum', async () => {
    const { connack } = await mqttConnect(port, 5, uid('tam'));
    expect(connack.properties?.topicAliasMaximum).toBe(ALIAS_MAX);
  });

  it('[MQTT-5.0 3.3.2-12] accepts every alias from 1 to our maximum: bound by a PUBLISH with a topic, used by one without', async () => {
    const base = uid('in');
    const sub = await connected(port, 5, uid('sub'));
    await sub.subscribe(`${base}/#`, 0);
    const pub = await connected(port, 5, uid('pub'));
    for (let a = 1; a <= ALIAS_MAX; a++) aliased(pub, `${base}/${a}`, a, `bind ${a}`);
    for (let a = ALIAS_MAX; a >= 1; a--) aliased(pub, '', a, `use ${a}`);
    await pub.ping();
    const got = [];
    for (let i = 0; i < 2 * ALIAS_MAX; i++) {
      const p = await sub.expect('publish');
      // [MQTT-5.0 3.1.2-27]: this subscriber sent no Topic Alias Maximum, so it gets no aliases.
      expect(p.properties?.topicAlias).toBeUndefined();
      got.push(`${p.topic} ${str(p.payload)}`);
    }
    expect(got).toEqual([
      `${base}/1 bind 1`,
      `${base}/2 bind 2`,
      `${base}/3 bind 3`,
      `${base}/3 use 3`,
      `${base}/2 use 2`,
      `${base}/1 use 1`,
    ]);
  });

  it('[MQTT-5.0 §3.3.2.3.4] a PUBLISH with a topic and a bound alias re-binds it', async () => {
    const base = uid('rebind');
    const sub = await connected(port, 5, uid('sub'));
    await sub.subscribe(`${base}/#`, 0);
    const pub = await connected(port, 5, uid('pub'));
    aliased(pub, `${base}/a`, 1, 'a');
    aliased(pub, `${base}/b`, 1, 'b');
    aliased(pub, '', 1, 'via alias');
    expect((await sub.expect('publish')).topic).toBe(`${base}/a`);
    expect((await sub.expect('publish')).topic).toBe(`${base}/b`);
    expect((await sub.expect('publish')).topic).toBe(`${base}/b`);
  });

  it('[MQTT-5.0 3.3.2-9, §3.3.2.3.4] an alias above our Topic Alias Maximum gets DISCONNECT 0x94', async () => {
    const pub = await connected(port, 5, uid('over'));
    aliased(pub, 'alias/over', ALIAS_MAX + 1, 'x');
    await expectDisconnect(pub, 0x94);
  });

  it('[MQTT-5.0 3.3.2-8, §3.3.2.3.4] alias 0 gets DISCONNECT 0x94', async () => {
    const pub = await connected(port, 5, uid('zero'));
    pub.send(rawPacket(0x30, utf8('alias/zero'), [3, 0x23, 0, 0], [0x78]));
    await expectDisconnect(pub, 0x94);
  });

  it('[MQTT-5.0 §3.3.2.3.4] an empty topic with an alias never bound closes the connection (0x82 or 0x94)', async () => {
    const pub = await connected(port, 5, uid('unbound'));
    aliased(pub, '', 2, 'x');
    await expectDisconnect(pub, 0x82, 0x94);
  });

  it('[MQTT-5.0 3.3.2-7] aliases do not carry over to a new connection of the same session', async () => {
    const id = uid('carry');
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const a = await connected(port, 5, id, session);
    aliased(a, 'alias/carry', 1, 'bind');
    await a.ping();
    await a.end();
    const b = await connected(port, 5, id, session);
    aliased(b, '', 1, 'stale');
    await expectDisconnect(b, 0x82, 0x94);
  });

  it('[MQTT-5.0 3.3.1-5, 4.5.0-1] messages published through an alias are stored with the real topic (retained, queued)', async () => {
    const base = uid('store');
    const id = uid('offline');
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const off = await connected(port, 5, id, session);
    await off.subscribe(`${base}/q`, 1);
    await off.end();
    const pub = await connected(port, 5, uid('pub'));
    pub.publish(`${base}/r`, 'kept', { qos: 1, retain: true, properties: { topicAlias: 1 } });
    await pub.expect('puback');
    pub.publish('', 'retained via alias', { qos: 1, retain: true, properties: { topicAlias: 1 } });
    await pub.expect('puback');
    pub.publish(`${base}/q`, 'queued', { qos: 1, properties: { topicAlias: 2 } });
    await pub.expect('puback');
    pub.publish('', 'queued via alias', { qos: 1, properties: { topicAlias: 2 } });
    await pub.expect('puback');
    const late = await connected(port, 5, uid('late'));
    await late.subscribe(`${base}/r`, 1);
    const r = await late.expect('publish');
    expect([r.topic, str(r.payload)]).toEqual([`${base}/r`, 'retained via alias']);
    const back = await connected(port, 5, id, session);
    const q1 = await back.expect('publish');
    await back.ack(q1);
    const q2 = await back.expect('publish');
    expect([q1.topic, q2.topic, str(q2.payload)]).toEqual([`${base}/q`, `${base}/q`, 'queued via alias']);
    await pub.publishAcked(`${base}/r`, '', { qos: 1, retain: true });
  });
});

describe('Topic aliases to the client, MQTT 5.0', () => {
  /** Resolve the topics of PUBLISHes sent with our aliases, as a client would. */
  function resolver(max: number) {
    const map = new Map<number, string>();
    return (p: PublishPacket): string => {
      const alias = p.properties?.topicAlias;
      if (alias === undefined) return p.topic;
      // [MQTT-5.0 3.1.2-26, 3.3.2-11]: never above the client's Topic Alias Maximum, never 0.
      expect(alias).toBeGreaterThanOrEqual(1);
      expect(alias).toBeLessThanOrEqual(max);
      if (p.topic !== '') map.set(alias, p.topic);
      const topic = map.get(alias);
      expect(topic).toBeDefined();
      return topic!;
    };
  }

  it("[MQTT-5.0 3.1.2-26, 3.3.2-11] sends no alias above the client's Topic Alias Maximum, and every alias it uses resolves", async () => {
    const base = uid('out');
    const sub = await connected(port, 5, uid('sub'), { properties: { topicAliasMaximum: 2 } });
    await sub.subscribe(`${base}/#`, 0);
    const pub = await connected(port, 5, uid('pub'));
    const sent: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const t of ['a', 'b', 'c', 'd']) {
        pub.publish(`${base}/${t}`, `${round}${t}`);
        sent.push(`${base}/${t}`);
      }
    }
    const resolve = resolver(2);
    const got: string[] = [];
    for (let i = 0; i < sent.length; i++) got.push(resolve(await sub.expect('publish')));
    expect(got).toEqual(sent);
  });

  it('[MQTT-5.0 3.3.2-7] does not rely on aliases of an earlier connection after a reconnect', async () => {
    const base = uid('outcarry');
    const id = uid('sub');
    const opts = { clean: false, properties: { sessionExpiryInterval: 60, topicAliasMaximum: 5 } };
    const a = await connected(port, 5, id, opts);
    await a.subscribe(`${base}/t`, 0);
    const pub = await connected(port, 5, uid('pub'));
    pub.publish(`${base}/t`, 'one');
    pub.publish(`${base}/t`, 'two');
    expect((await a.expect('publish')).topic).toBe(`${base}/t`);
    await a.expect('publish');
    await a.end();
    const b = await connected(port, 5, id, opts);
    pub.publish(`${base}/t`, 'three');
    const p = await b.expect('publish');
    expect(p.topic).toBe(`${base}/t`);
  });
});
