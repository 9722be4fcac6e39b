// Session state (MQTT 3.1.1 §3.1.2.4, §4.1, §4.4; MQTT 5.0 §3.1.2.4, §3.1.2.11, §4.1, §4.4):
// Clean Start, Session Present, Session Expiry, messages queued while offline, in-flight messages
// re-sent with DUP; black-box over TCP. Takeover: 4.1-takeover.test.ts.
import { describe, expect, it } from 'vitest';
import type { Properties } from '../../src/protocol/packets.js';
import { connected, mqttConnect, sleep, str } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);
  /** A session that outlives its connection: Clean Session 0 (3.1.1), or a Session Expiry Interval (5.0). */
  const keep = (props: Properties = {}) => ({
    clean: false,
    properties: { sessionExpiryInterval: 300, ...props },
  });

  describe(`Sessions, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} ${both('3.1.2-6, 3.2.2-3', '3.1.2-4, 3.2.2-3')}] Clean Start 0 without a session: a new session, Session Present 0`, async () => {
      const { connack } = await mqttConnect(port, v, uid('fresh'), keep());
      expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
    });

    it(`[MQTT-${ed} ${both('3.1.2-5, 3.2.2-3, 3.1.2-23', '3.1.2-4, 3.2.2-2')}] Clean Start 0 resumes the session: Session Present 1, subscriptions kept`, async () => {
      const id = uid('resume');
      const topic = `resume/${id}`;
      const a = await connected(port, v, id, keep());
      await a.subscribe(topic, 1);
      await a.end();
      const { client: b, connack } = await mqttConnect(port, v, id, keep());
      expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: true });
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'still here', { qos: 1 });
      expect(str((await b.expect('publish')).payload)).toBe('still here');
    });

    it(`[MQTT-${ed} ${both('3.1.2-4, 3.2.2-2', '3.1.2-6, 3.2.2-1')}] Clean Start 1 discards the session: Session Present 0, no subscriptions`, async () => {
      const id = uid('discard');
      const topic = `discard/${id}`;
      const a = await connected(port, v, id, keep());
      await a.subscribe(topic, 1);
      await a.end();
      const { client: b, connack } = await mqttConnect(port, v, id, { clean: true });
      expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'gone', { qos: 1 });
      await b.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.1.2-23, 4.5.0-1, 4.6.0-6', '3.1.2-5, 4.6.0-6')}] keeps QoS 1 and 2 messages published while offline and delivers them in order on reconnect`, async () => {
      const id = uid('queue');
      const topic = `queue/${id}`;
      const a = await connected(port, v, id, keep());
      await a.subscribe(topic, 2);
      await a.end();
      const pub = await connected(port, v, uid('pub'));
      for (let i = 0; i < 6; i++) await pub.publishAcked(topic, `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
      const { client: b, connack } = await mqttConnect(port, v, id, keep());
      expect(connack.sessionPresent).toBe(true);
      const got: Array<[string, number]> = [];
      for (let i = 0; i < 6; i++) {
        const p = await b.expect('publish');
        got.push([str(p.payload), p.qos]);
        await b.ack(p);
      }
      expect(got).toEqual([0, 1, 2, 3, 4, 5].map((i) => [`m${i}`, i % 2 === 0 ? 1 : 2]));
    });

    it(`[MQTT-${ed} 4.4.0-1, 3.3.1-1] re-sends unacknowledged PUBLISH with DUP 1 and the original identifiers, and PUBREL, on reconnect`, async () => {
      const id = uid('inflight');
      const topic = `inflight/${id}`;
      const a = await connected(port, v, id, keep());
      await a.subscribe(topic, 2);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'q1', { qos: 1 });
      await pub.publishAcked(topic, 'q2', { qos: 2 });
      await pub.publishAcked(topic, 'q2-released', { qos: 2 });
      const p1 = await a.expect('publish');
      const p2 = await a.expect('publish');
      const p3 = await a.expect('publish');
      expect([p1.dup, p2.dup, p3.dup]).toEqual([false, false, false]);
      // p3: PUBREC, so the broker owes us a PUBREL; p1 and p2 stay unacknowledged.
      a.send({ cmd: 'pubrec', messageId: p3.messageId! });
      expect(await a.expect('pubrel')).toMatchObject({ messageId: p3.messageId });
      a.destroy();
      const { client: b, connack } = await mqttConnect(port, v, id, keep());
      expect(connack.sessionPresent).toBe(true);
      const r1 = await b.expect('publish');
      const r2 = await b.expect('publish');
      const rel = await b.expect('pubrel');
      expect([r1.messageId, r1.dup, str(r1.payload), r1.qos]).toEqual([p1.messageId, true, 'q1', 1]);
      expect([r2.messageId, r2.dup, str(r2.payload), r2.qos]).toEqual([p2.messageId, true, 'q2', 2]);
      expect(rel.messageId).toBe(p3.messageId);
      await b.ack(r1);
      b.send({ cmd: 'pubcomp', messageId: p3.messageId! });
      await b.ack(r2);
      await b.expectNothing(300);
    });
  });
}

describe('Session expiry, MQTT 5.0', () => {
  it('[MQTT-5.0 3.1.2-23] a session with Session Expiry Interval 0 ends with its connection', async () => {
    const id = uid('se0');
    const a = await connected(port, 5, id, { clean: false });
    await a.subscribe(`se0/${id}`, 1);
    await a.end();
    const { connack } = await mqttConnect(port, 5, id, { clean: false });
    expect(connack.sessionPresent).toBe(false);
  });

  it('[MQTT-5.0 4.1.0-2] discards the session once the Session Expiry Interval has passed', async () => {
    const id = uid('se1');
    const a = await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 1 } });
    await a.subscribe(`se1/${id}`, 1);
    await a.end();
    await sleep(2600);
    const { connack } = await mqttConnect(port, 5, id, { clean: false });
    expect(connack.sessionPresent).toBe(false);
  });

  it('[MQTT-5.0 4.1.0-1] keeps the session while the connection is open, whatever the expiry', async () => {
    const id = uid('open');
    const topic = `open/${id}`;
    const a = await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 1 } });
    await a.subscribe(topic, 1);
    await sleep(1500);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'alive', { qos: 1 });
    expect(str((await a.expect('publish')).payload)).toBe('alive');
  });
});
