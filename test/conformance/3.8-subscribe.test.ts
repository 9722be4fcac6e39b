// SUBSCRIBE and SUBACK (MQTT 3.1.1 §3.8–3.9, MQTT 5.0 §3.8–3.9): reason codes, replacement,
// overlapping subscriptions, Retain Handling, Retain As Published, No Local, subscription
// identifiers; black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { connected, rawPacket, str, u16, utf8 } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);

  describe(`SUBSCRIBE, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.8.4-1, 3.8.4-2, ${both('3.8.4-5, 3.8.4-6, 3.9.3-1', '3.8.4-4, 3.8.4-5, 3.9.3-1')}] answers with one SUBACK, same identifier, one code per filter in order`, async () => {
      const c = await connected(port, v, uid('codes'));
      const base = uid('f');
      c.send({
        cmd: 'subscribe',
        messageId: 777,
        subscriptions: [
          { topic: `${base}/a`, qos: 0 },
          { topic: `${base}/b`, qos: 2 },
          { topic: `${base}/c`, qos: 1 },
        ],
      });
      const suback = await c.expect('suback');
      expect(suback.messageId).toBe(777);
      expect(suback.granted).toEqual([0, 2, 1]);
      await c.expectNothing(200);
    });

    it(`[MQTT-${ed} ${both('4.7.1-2, 4.7.1-3, 3.8.4-5', '4.7.1-2, 4.7.1-3, 3.8.4-4')}] fails each invalid filter with ${v === 5 ? '0x8F' : '0x80'} and grants the valid ones of the same SUBSCRIBE`, async () => {
      const c = await connected(port, v, uid('invalid'));
      const base = uid('f');
      const suback = await c.subscribe([`${base}/#/x`, `${base}+`, `${base}/ok/+`, `${base}/a#`, '#/x'], 1);
      const bad = v === 5 ? 0x8f : 0x80;
      expect(suback.granted).toEqual([bad, bad, 1, bad, bad]);
      // The valid one works.
      const pub = await connected(port, v, uid('pub'));
      pub.publish(`${base}/ok/yes`, 'y');
      expect((await c.expect('publish')).topic).toBe(`${base}/ok/yes`);
    });

    it(`[MQTT-${ed} 3.8.4-3] replaces a subscription with an identical filter: one copy, at the new QoS`, async () => {
      const topic = `replace/${uid('t')}`;
      const c = await connected(port, v, uid('rep'));
      await c.subscribe(topic, 0);
      await c.subscribe(topic, 2);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'r', { qos: 2 });
      const got = await c.expect('publish');
      expect(got.qos).toBe(2);
      await c.ack(got);
      await c.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.8.4-4, 3.3.1-9', '3.8.4-3')}] re-sends the retained messages when a subscription is replaced`, async () => {
      const topic = `reret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'again', { qos: 1, retain: true });
      const c = await connected(port, v, uid('sub'));
      for (let i = 0; i < 2; i++) {
        await c.subscribe(topic, 0);
        const got = await c.expect('publish');
        expect([str(got.payload), got.retain]).toEqual(['again', true]);
      }
      await pub.publishAcked(topic, '', { qos: 1, retain: true });
    });

    if (v === 5) {
      it('[MQTT-5.0 3.3.4-2, 3.3.4-3, 3.3.4-4] overlapping subscriptions: one copy at the highest QoS with every subscription identifier', async () => {
        const base = uid('ov');
        const c = await connected(port, 5, uid('ov'));
        await c.subscribe({ topic: `${base}/#`, qos: 1 }, 0, { subscriptionIdentifiers: [11] });
        await c.subscribe({ topic: `${base}/+`, qos: 2 }, 0, { subscriptionIdentifiers: [22] });
        await c.subscribe({ topic: `${base}/x`, qos: 0 }, 0);
        const pub = await connected(port, 5, uid('pub'));
        await pub.publishAcked(`${base}/x`, 'o', { qos: 2 });
        const got = (await c.collect(400)).filter((p): p is PublishPacket => p.cmd === 'publish');
        expect(got).toHaveLength(1);
        expect(got[0]!.qos).toBe(2);
        expect([...(got[0]!.properties?.subscriptionIdentifiers ?? [])].sort((a, b) => a - b)).toEqual([
          11, 22,
        ]);
      });
    } else {
      it('[MQTT-3.1.1 3.3.5-1] overlapping subscriptions: the message is delivered respecting the highest granted QoS', async () => {
        const base = uid('ov');
        const c = await connected(port, 4, uid('ov'));
        await c.subscribe(`${base}/#`, 0);
        await c.subscribe(`${base}/+`, 2);
        const pub = await connected(port, 4, uid('pub'));
        await pub.publishAcked(`${base}/x`, 'o', { qos: 2 });
        const got = (await c.collect(400)).filter((p): p is PublishPacket => p.cmd === 'publish');
        expect(got.length).toBeGreaterThanOrEqual(1);
        expect(Math.max(...got.map((p) => p.qos))).toBe(2);
      });
    }
  });
}

describe('SUBSCRIBE options, MQTT 5.0', () => {
  it('[MQTT-5.0 3.3.1-10] Retain Handling 1 sends retained messages only when the subscription is new', async () => {
    const topic = `rh1/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'once', { qos: 1, retain: true });
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 1, rh: 1 });
    expect(await c.expect('publish')).toMatchObject({ retain: true });
    await c.subscribe({ topic, qos: 1, rh: 1 });
    await c.expectNothing(300);
  });

  it('[MQTT-5.0 3.3.1-11] Retain Handling 2 sends no retained messages at subscribe', async () => {
    const topic = `rh2/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'never', { qos: 1, retain: true });
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 1, rh: 2 });
    await c.expectNothing(300);
  });

  it('[MQTT-5.0 3.3.1-13] Retain As Published 1 keeps the RETAIN flag of the received PUBLISH', async () => {
    const topic = `rap/${uid('t')}`;
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 0, rap: true });
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'r1', { qos: 1, retain: true });
    await pub.publishAcked(topic, 'r0', { qos: 1, retain: false });
    expect(await c.expect('publish')).toMatchObject({ retain: true });
    expect(await c.expect('publish')).toMatchObject({ retain: false });
    await pub.publishAcked(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-5.0 3.3.1-12] Retain As Published 0 clears the RETAIN flag on forwarding', async () => {
    const topic = `rap0/${uid('t')}`;
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 0, rap: false });
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'r1', { qos: 1, retain: true });
    expect(await c.expect('publish')).toMatchObject({ retain: false });
    await pub.publishAcked(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-5.0 3.8.3-3] No Local: a client does not receive its own messages, others still do', async () => {
    const topic = `nl/${uid('t')}`;
    const me = await connected(port, 5, uid('me'));
    await me.subscribe({ topic, qos: 1, nl: true });
    const other = await connected(port, 5, uid('other'));
    await other.subscribe({ topic, qos: 1 });
    await me.publishAcked(topic, 'mine', { qos: 1 });
    expect(str((await other.expect('publish')).payload)).toBe('mine');
    await me.expectNothing(300);
    await other.publishAcked(topic, 'theirs', { qos: 0 });
    expect(str((await me.expect('publish')).payload)).toBe('theirs');
  });

  it('[MQTT-5.0 3.8.3-4] No Local on a shared subscription is a Protocol Error (DISCONNECT 0x82)', async () => {
    const c = await connected(port, 5, uid('nlshare'));
    // By hand: our encoder refuses this. Packet id 1, no properties, options 0x04 (No Local).
    c.send(rawPacket(0x82, u16(1), [0], utf8('$share/g/nl/x'), [0x04]));
    const got = await c.expectClosed();
    expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x82 })]);
  });

  it('[MQTT-5.0 3.3.4-3] sends the subscription identifier with messages from that subscription, retained ones included', async () => {
    const topic = `sid/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'ret', { qos: 1, retain: true });
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 1 }, 0, { subscriptionIdentifiers: [268435455] });
    const retained = await c.expect('publish');
    expect(retained.properties?.subscriptionIdentifiers).toEqual([268435455]);
    await c.ack(retained);
    await pub.publishAcked(topic, 'live', { qos: 1 });
    const live = await c.expect('publish');
    expect(live.properties?.subscriptionIdentifiers).toEqual([268435455]);
    await pub.publishAcked(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-5.0 3.8.4-3] a replaced subscription drops its old subscription identifier', async () => {
    const topic = `sid2/${uid('t')}`;
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic, qos: 0 }, 0, { subscriptionIdentifiers: [5] });
    await c.subscribe({ topic, qos: 0 });
    const pub = await connected(port, 5, uid('pub'));
    pub.publish(topic, 'x');
    const got = await c.expect('publish');
    expect(got.properties?.subscriptionIdentifiers ?? []).toEqual([]);
  });

  it('[MQTT-5.0 3.8.3-3, 3.3.4-2] overlapping subscriptions where only one has No Local: the message is delivered once', async () => {
    const base = uid('nlov');
    const me = await connected(port, 5, uid('me'));
    await me.subscribe({ topic: `${base}/#`, qos: 1, nl: true });
    await me.subscribe({ topic: `${base}/x`, qos: 0, nl: false });
    await me.publishAcked(`${base}/x`, 'mine', { qos: 1 });
    const got = (await me.collect(300)).filter((p): p is PublishPacket => p.cmd === 'publish');
    expect(got.map((p) => str(p.payload))).toEqual(['mine']);
  });

  it('[MQTT-5.0 3.3.1-12, 3.3.1-13] overlapping subscriptions where only one has Retain As Published: RETAIN as published', async () => {
    const base = uid('rapov');
    const c = await connected(port, 5, uid('sub'));
    await c.subscribe({ topic: `${base}/#`, qos: 0, rap: true });
    await c.subscribe({ topic: `${base}/+`, qos: 0, rap: false });
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(`${base}/x`, 'r', { qos: 1, retain: true });
    const got = (await c.collect(300)).filter((p): p is PublishPacket => p.cmd === 'publish');
    expect(got.some((p) => p.retain)).toBe(true);
    await pub.publishAcked(`${base}/x`, '', { qos: 1, retain: true });
  });
});
