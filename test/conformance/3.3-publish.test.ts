// PUBLISH and its acknowledgements (MQTT 3.1.1 §3.3–3.7, §4.3, §4.6; MQTT 5.0 §3.3–3.7, §4.3, §4.6),
// QoS 0/1/2 in both directions, DUP, retained messages and the RETAIN flag, black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { PublishPacket, QoS } from '../../src/protocol/packets.js';
import { connected, mqttConnect, type RawClient, sleep, str } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);

  /** A subscriber on `filter` at `qos` and a publisher, both connected. */
  async function pair(filter: string, qos: QoS): Promise<{ sub: RawClient; pub: RawClient }> {
    const sub = await connected(port, v, uid('sub'));
    const suback = await sub.subscribe(filter, qos);
    expect(suback.granted).toEqual([qos]);
    const pub = await connected(port, v, uid('pub'));
    return { sub, pub };
  }

  describe(`PUBLISH flows, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.3.1-2] [MQTT-${ed} 4.3.1-1] delivers QoS 0 as QoS 0 with DUP 0, RETAIN 0 and no packet identifier`, async () => {
      const topic = `q0/${uid('t')}`;
      const { sub, pub } = await pair(topic, 2);
      pub.publish(topic, 'zero', { qos: 0 });
      const { bytes, packet } = await sub.nextRaw();
      expect(bytes[0]).toBe(0x30);
      expect(packet).toMatchObject({ cmd: 'publish', topic, qos: 0, dup: false, retain: false });
      expect((packet as PublishPacket).messageId).toBeUndefined();
      expect(str((packet as PublishPacket).payload)).toBe('zero');
    });

    it(`[MQTT-${ed} 3.3.4-1] [MQTT-${ed} ${both('4.3.2-4', '4.3.2-2')}] answers a QoS 1 PUBLISH with a PUBACK carrying its packet identifier`, async () => {
      const topic = `q1/${uid('t')}`;
      const { sub, pub } = await pair(topic, 1);
      pub.publish(topic, 'one', { qos: 1, messageId: 4242 });
      const ack = await pub.expect('puback');
      expect(ack.messageId).toBe(4242);
      if (v === 5) expect(ack.reasonCode).toBe(0);
      const got = await sub.expect('publish');
      // [MQTT-5.0 4.3.2-1, 4.3.2-2] [MQTT-3.1.1 4.3.2-1]: a non-zero identifier, QoS 1, DUP 0.
      expect(got).toMatchObject({ topic, qos: 1, dup: false });
      expect(got.messageId).toBeGreaterThan(0);
      sub.send({ cmd: 'puback', messageId: got.messageId! });
      await sub.expectNothing(200);
    });

    it(`[MQTT-${ed} ${both('4.3.2-5', '4.3.2-2')}] treats a QoS 1 PUBLISH re-using an acknowledged identifier as a new message`, async () => {
      const topic = `q1again/${uid('t')}`;
      const { sub, pub } = await pair(topic, 0);
      pub.publish(topic, 'first', { qos: 1, messageId: 7 });
      expect((await pub.expect('puback')).messageId).toBe(7);
      pub.publish(topic, 'second', { qos: 1, messageId: 7, dup: true });
      expect((await pub.expect('puback')).messageId).toBe(7);
      expect(str((await sub.expect('publish')).payload)).toBe('first');
      expect(str((await sub.expect('publish')).payload)).toBe('second');
    });

    it(`[MQTT-${ed} ${both('4.3.3-8, 4.3.3-10, 4.3.3-11', '4.3.3-2')}] QoS 2 from a client: PUBREC, a re-sent PUBLISH is not delivered twice, PUBREL gets PUBCOMP`, async () => {
      const topic = `q2in/${uid('t')}`;
      const { sub, pub } = await pair(topic, 2);
      pub.publish(topic, 'exactly', { qos: 2, messageId: 300 });
      expect(await pub.expect('pubrec')).toMatchObject({ messageId: 300 });
      pub.publish(topic, 'exactly', { qos: 2, messageId: 300, dup: true });
      expect(await pub.expect('pubrec')).toMatchObject({ messageId: 300 });
      pub.send({ cmd: 'pubrel', messageId: 300 });
      expect(await pub.expect('pubcomp')).toMatchObject({ messageId: 300 });
      const got = await sub.expect('publish');
      expect(str(got.payload)).toBe('exactly');
      await sub.ack(got);
      await sub.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('4.3.3-12', '4.3.3-2')}] after PUBCOMP, a QoS 2 PUBLISH re-using the identifier is a new message`, async () => {
      const topic = `q2again/${uid('t')}`;
      const { sub, pub } = await pair(topic, 0);
      for (const payload of ['a', 'b']) {
        pub.publish(topic, payload, { qos: 2, messageId: 9 });
        await pub.expect('pubrec');
        pub.send({ cmd: 'pubrel', messageId: 9 });
        await pub.expect('pubcomp');
        expect(str((await sub.expect('publish')).payload)).toBe(payload);
      }
    });

    it(`[MQTT-${ed} ${both('4.3.3-1, 4.3.3-2, 4.3.3-4', '4.3.3-1')}] QoS 2 to a client: PUBLISH with DUP 0, then PUBREL with the same identifier after PUBREC`, async () => {
      const topic = `q2out/${uid('t')}`;
      const { sub, pub } = await pair(topic, 2);
      await pub.publishAcked(topic, 'two', { qos: 2 });
      const got = await sub.expect('publish');
      expect(got).toMatchObject({ qos: 2, dup: false });
      expect(got.messageId).toBeGreaterThan(0);
      sub.send({ cmd: 'pubrec', messageId: got.messageId! });
      const rel = await sub.nextRaw();
      // [MQTT-3.1.1 3.6.1-1] [MQTT-5.0 3.6.1-1]: PUBREL's fixed header flags are 0010.
      expect(rel.bytes[0]).toBe(0x62);
      expect(rel.packet).toMatchObject({ cmd: 'pubrel', messageId: got.messageId });
      sub.send({ cmd: 'pubcomp', messageId: got.messageId! });
      await sub.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.8.4-8', '3.8.4-6')}] delivers at the lower of the published QoS and the granted QoS`, async () => {
      for (const [subQos, pubQos, expected] of [
        [0, 1, 0],
        [1, 2, 1],
        [2, 1, 1],
      ] as const) {
        const topic = `min/${uid('t')}`;
        const { sub, pub } = await pair(topic, subQos);
        await pub.publishAcked(topic, 'm', { qos: pubQos });
        const got = await sub.expect('publish');
        expect(got.qos).toBe(expected);
        await sub.ack(got);
      }
    });

    it(`[MQTT-${ed} 3.3.1-3] sets DUP on an outgoing PUBLISH by its own retransmission only, not the publisher's DUP`, async () => {
      const topic = `dup/${uid('t')}`;
      const { sub, pub } = await pair(topic, 1);
      pub.publish(topic, 'd', { qos: 1, dup: true });
      await pub.expect('puback');
      expect(await sub.expect('publish')).toMatchObject({ dup: false, qos: 1 });
    });

    it(`[MQTT-${ed} 3.3.2-3] sends the Topic Name of the message, which matches the subscription's filter`, async () => {
      const base = uid('match');
      const { sub, pub } = await pair(`${base}/+/c/#`, 0);
      pub.publish(`${base}/b/c/d/e`, 'x');
      expect((await sub.expect('publish')).topic).toBe(`${base}/b/c/d/e`);
    });

    it(`[MQTT-${ed} 4.6.0-6] forwards one publisher's messages on a topic in the order they were sent`, async () => {
      const topic = `order/${uid('t')}`;
      const { sub, pub } = await pair(topic, 1);
      const n = 30;
      for (let i = 0; i < n; i++) pub.publish(topic, String(i), { qos: (i % 2) as QoS });
      const got: string[] = [];
      for (let i = 0; i < n; i++) {
        const p = await sub.expect('publish');
        got.push(str(p.payload));
        await sub.ack(p);
      }
      expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    });
  });

  describe(`QoS flows across a reconnect, MQTT ${ed}`, () => {
    const keep = { clean: false, properties: { sessionExpiryInterval: 300 } };

    it(`[MQTT-${ed} ${both('4.3.3-10, 4.4.0-1', '4.3.3-2, 4.4.0-1')}] a QoS 2 PUBLISH re-sent after a reconnect, before PUBREL, is acknowledged and not delivered twice`, async () => {
      const topic = `q2re/${uid('t')}`;
      const sub = await connected(port, v, uid('sub'));
      await sub.subscribe(topic, 0);
      const id = uid('pub');
      const a = await connected(port, v, id, keep);
      a.publish(topic, 'once', { qos: 2, messageId: 77 });
      await a.expectWhere('pubrec', 77);
      a.destroy();
      const { client: b, connack } = await mqttConnect(port, v, id, keep);
      expect(connack.sessionPresent).toBe(true);
      b.publish(topic, 'once', { qos: 2, messageId: 77, dup: true });
      await b.expectWhere('pubrec', 77);
      b.send({ cmd: 'pubrel', messageId: 77 });
      await b.expectWhere('pubcomp', 77);
      expect(str((await sub.expect('publish')).payload)).toBe('once');
      await sub.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('4.3.3-11, §3.7.2.1', '4.3.3-2')}] answers a PUBREL for an unknown identifier with PUBCOMP${v === 5 ? ' 0x92' : ''}`, async () => {
      const c = await connected(port, v, uid('rel'));
      c.send({ cmd: 'pubrel', messageId: 4444 });
      const comp = await c.expect('pubcomp');
      expect(comp.messageId).toBe(4444);
      if (v === 5) expect(comp.reasonCode).toBe(0x92);
    });

    it(`[MQTT-${ed} ${both('4.3.3-6, 4.4.0-1', '4.3.3-1, 4.4.0-1')}] after PUBREC, re-sends only the PUBREL on reconnect, never the PUBLISH`, async () => {
      const id = uid('sub');
      const topic = `relonly/${id}`;
      const a = await connected(port, v, id, keep);
      await a.subscribe(topic, 2);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'x', { qos: 2 });
      const p = await a.expect('publish');
      a.send({ cmd: 'pubrec', messageId: p.messageId! });
      await a.expectWhere('pubrel', p.messageId);
      a.destroy();
      const { client: b } = await mqttConnect(port, v, id, keep);
      expect(await b.expect('pubrel')).toMatchObject({ messageId: p.messageId });
      b.send({ cmd: 'pubcomp', messageId: p.messageId! });
      await b.expectNothing(300);
    });
  });

  describe(`Retained messages, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.3.1-5] [MQTT-${ed} ${both('3.3.1-9', '3.3.1-6, 3.3.1-8')}] stores a retained message and sends it to a new subscriber with RETAIN 1`, async () => {
      const topic = `ret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'kept', { qos: 1, retain: true });
      const sub = await connected(port, v, uid('sub'));
      await sub.subscribe(topic, 1);
      const { bytes, packet } = await sub.nextRaw();
      expect(bytes[0]! & 0x01).toBe(1);
      expect(packet).toMatchObject({ cmd: 'publish', topic, retain: true, qos: 1 });
      expect(str((packet as PublishPacket).payload)).toBe('kept');
    });

    it(`[MQTT-${ed} 3.3.1-5] replaces the retained message of a topic with the newer one, and keeps its QoS`, async () => {
      const topic = `ret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'old', { qos: 2, retain: true });
      await pub.publishAcked(topic, 'new', { qos: 1, retain: true });
      const sub = await connected(port, v, uid('sub'));
      await sub.subscribe(topic, 2);
      const got = await sub.expect('publish');
      expect([str(got.payload), got.qos, got.retain]).toEqual(['new', 1, true]);
      await sub.ack(got);
      await sub.expectNothing(200);
    });

    it(`[MQTT-${ed} ${both('3.3.1-6, 3.3.1-7', '3.3.1-10, 3.3.1-11')}] an empty retained PUBLISH is delivered normally and clears the retained message`, async () => {
      const topic = `ret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'soon gone', { qos: 1, retain: true });
      const live = await connected(port, v, uid('live'));
      await live.subscribe(topic, 0);
      expect(str((await live.expect('publish')).payload)).toBe('soon gone');
      await pub.publishAcked(topic, '', { qos: 1, retain: true });
      const cleared = await live.expect('publish');
      expect(cleared.payload.length).toBe(0);
      const late = await connected(port, v, uid('late'));
      await late.subscribe(topic, 1);
      await late.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.3.1-8', '3.3.1-12')}] a PUBLISH with RETAIN 0 neither replaces nor removes the retained message`, async () => {
      const topic = `ret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'stays', { qos: 1, retain: true });
      await pub.publishAcked(topic, 'passing', { qos: 1, retain: false });
      await pub.publishAcked(topic, '', { qos: 1, retain: false });
      const sub = await connected(port, v, uid('sub'));
      await sub.subscribe(topic, 1);
      const got = await sub.expect('publish');
      expect([str(got.payload), got.retain]).toEqual(['stays', true]);
    });

    it(`[MQTT-${ed} ${both('3.3.1-12', '3.3.1-9')}] forwards a retained PUBLISH to an existing subscription with RETAIN 0`, async () => {
      const topic = `ret/${uid('t')}`;
      const { sub, pub } = await pair(topic, 1);
      await pub.publishAcked(topic, 'live', { qos: 1, retain: true });
      const { bytes, packet } = await sub.nextRaw();
      expect(bytes[0]! & 0x01).toBe(0);
      expect(packet).toMatchObject({ retain: false });
      await pub.publishAcked(topic, '', { qos: 0, retain: true }); // leave no retained message behind
    });

    it(`[MQTT-${ed} ${both('3.3.1-5', '3.3.1-7')}] a retained QoS 0 message replaces the previous retained message`, async () => {
      const topic = `ret/${uid('t')}`;
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'q1', { qos: 1, retain: true });
      pub.publish(topic, 'q0', { qos: 0, retain: true });
      await pub.ping();
      const sub = await connected(port, v, uid('sub'));
      await sub.subscribe(topic, 1);
      const got = await sub.expect('publish');
      expect([str(got.payload), got.qos]).toEqual(['q0', 0]);
      await sub.expectNothing(200);
    });
  });
}

describe('PUBLISH between protocol versions', () => {
  for (const [from, to] of [
    [5, 4],
    [4, 5],
    [5, 3],
    [3, 5],
  ] as const) {
    it(`forwards a message from an MQTT level ${from} publisher to a level ${to} subscriber encoded for the subscriber (§2, both editions)`, async () => {
      const topic = `xver/${uid('t')}`;
      const sub = await connected(port, to, uid('sub'));
      await sub.subscribe({ topic, qos: 2 }, 0, to === 5 ? { subscriptionIdentifiers: [3] } : undefined);
      const pub = await connected(port, from, uid('pub'));
      const properties = { userProperties: [['k', 'v']] as Array<[string, string]>, contentType: 'c' };
      await pub.publishAcked(topic, 'across', { qos: 1, properties });
      await pub.publishAcked(topic, 'retained', { qos: 2, retain: true, properties });
      const a = await sub.expect('publish'); // decoded as level `to`: a wrongly encoded packet fails here
      await sub.ack(a);
      const b = await sub.expect('publish');
      await sub.ack(b);
      expect([a.topic, str(a.payload), a.qos]).toEqual([topic, 'across', 1]);
      expect([str(b.payload), b.qos]).toEqual(['retained', 2]);
      if (to === 5) expect(a.properties?.subscriptionIdentifiers).toEqual([3]);
      const late = await connected(port, to, uid('late'));
      await late.subscribe(topic, 1);
      const r = await late.expect('publish');
      expect([str(r.payload), r.retain]).toEqual(['retained', true]);
      await pub.publishAcked(topic, '', { qos: 1, retain: true });
    });
  }
});

describe('PUBLISH, MQTT 5.0 only', () => {
  it('[MQTT-5.0 3.3.2-4, 3.3.2-15, 3.3.2-16, 3.3.2-17, 3.3.2-18, 3.3.2-20] forwards the message properties unaltered, user properties in order', async () => {
    const topic = `props/${uid('t')}`;
    const sub = await connected(port, 5, uid('sub'));
    await sub.subscribe(topic, 1);
    const pub = await connected(port, 5, uid('pub'));
    const properties = {
      payloadFormatIndicator: 1 as const,
      contentType: 'text/plain; charset=utf-8',
      responseTopic: 'reply/here',
      correlationData: Buffer.from([0, 1, 2, 255]),
      userProperties: [
        ['b', '2'],
        ['a', '1'],
        ['b', '3'],
      ] as Array<[string, string]>,
    };
    await pub.publishAcked(topic, 'héllo', { qos: 1, properties });
    const got = await sub.expect('publish');
    expect(got.properties?.payloadFormatIndicator).toBe(1);
    expect(got.properties?.contentType).toBe(properties.contentType);
    expect(got.properties?.responseTopic).toBe(properties.responseTopic);
    expect(Buffer.from(got.properties?.correlationData ?? [])).toEqual(properties.correlationData);
    expect(got.properties?.userProperties).toEqual(properties.userProperties);
    expect(str(got.payload)).toBe('héllo');
  });

  it('[MQTT-5.0 3.3.2-5] does not send a retained message whose Message Expiry Interval has passed', async () => {
    const topic = `expire/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'brief', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await sleep(1300);
    const sub = await connected(port, 5, uid('sub'));
    await sub.subscribe(topic, 1);
    await sub.expectNothing(300);
  });

  it('[MQTT-5.0 3.3.2-6] sends a retained message with its Message Expiry Interval minus the time it waited', async () => {
    const topic = `expire/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'aging', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 100 },
    });
    await sleep(1100);
    const sub = await connected(port, 5, uid('sub'));
    await sub.subscribe(topic, 1);
    const got = await sub.expect('publish');
    expect(got.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(1);
    expect(got.properties?.messageExpiryInterval).toBeLessThanOrEqual(99);
    await pub.publishAcked(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-5.0 4.4.0-2] a PUBACK or PUBREC with a failure code ends the flow: no PUBREL, nothing re-sent on reconnect', async () => {
    const id = uid('refuser');
    const topic = `refuse/${id}`;
    const keep = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const a = await connected(port, 5, id, keep);
    await a.subscribe(topic, 2);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'one', { qos: 1 });
    await pub.publishAcked(topic, 'two', { qos: 2 });
    const p1 = await a.expect('publish');
    const p2 = await a.expect('publish');
    a.send({ cmd: 'puback', messageId: p1.messageId!, reasonCode: 0x80 });
    a.send({ cmd: 'pubrec', messageId: p2.messageId!, reasonCode: 0x80 });
    await a.ping();
    await a.expectNothing(200);
    a.destroy();
    const { client: b, connack } = await mqttConnect(port, 5, id, keep);
    expect(connack.sessionPresent).toBe(true);
    await b.expectNothing(300);
  });

  it('[MQTT-5.0 3.3.2-5, 3.3.2-6] a message queued for an offline session expires; one that has not gets the remaining interval', async () => {
    const id = uid('offline');
    const topic = `qexp/${id}`;
    const keep = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const a = await connected(port, 5, id, keep);
    await a.subscribe(topic, 1);
    await a.end();
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAcked(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await sleep(1300);
    const b = await connected(port, 5, id, keep);
    const got = await b.expect('publish');
    expect(str(got.payload)).toBe('long');
    expect(got.properties?.messageExpiryInterval).toBeLessThanOrEqual(99);
    expect(got.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(1);
    await b.ack(got);
    await b.expectNothing(200);
  });
});
