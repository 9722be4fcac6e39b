// Flow control (MQTT 5.0 §3.3.4, §4.9) and Maximum Packet Size (MQTT 5.0 §3.1.2.11.4): our Receive
// Maximum against a client, the client's Receive Maximum and Maximum Packet Size against us;
// black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { connected, mqttConnect, str } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

const RECEIVE_MAXIMUM = 3;
useBroker({ receiveMaximum: RECEIVE_MAXIMUM });

describe('Our Receive Maximum, MQTT 5.0', () => {
  it('[MQTT-5.0 §3.2.2.3.3] CONNACK announces the Receive Maximum', async () => {
    const { connack } = await mqttConnect(port, 5, uid('rm'));
    expect(connack.properties?.receiveMaximum).toBe(RECEIVE_MAXIMUM);
  });

  it('[MQTT-5.0 3.3.4-7, §3.3.4] a client with more unacknowledged QoS 2 PUBLISHes than our Receive Maximum gets DISCONNECT 0x93', async () => {
    const c = await connected(port, 5, uid('over'));
    for (let i = 1; i <= RECEIVE_MAXIMUM; i++) {
      c.publish('rm/x', 'x', { qos: 2, messageId: i });
      await c.expectWhere('pubrec', i);
    }
    c.publish('rm/x', 'one too many', { qos: 2, messageId: RECEIVE_MAXIMUM + 1 });
    const got = await c.expectClosed();
    expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x93 })]);
  });

  it('[MQTT-5.0 §4.9] a QoS 2 slot is free again once PUBREL is answered with PUBCOMP', async () => {
    const c = await connected(port, 5, uid('within'));
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= RECEIVE_MAXIMUM; i++) {
        c.publish('rm/y', 'y', { qos: 2, messageId: i });
        await c.expectWhere('pubrec', i);
      }
      for (let i = 1; i <= RECEIVE_MAXIMUM; i++) {
        c.send({ cmd: 'pubrel', messageId: i });
        await c.expectWhere('pubcomp', i);
      }
    }
    await c.ping();
  });
});

describe("The client's Receive Maximum, MQTT 5.0", () => {
  it('[MQTT-5.0 3.3.4-9, 4.9.0-2] never has more unacknowledged QoS 1/2 PUBLISHes to a client than its Receive Maximum', async () => {
    const topic = `crm/${uid('t')}`;
    const sub = await connected(port, 5, uid('sub'), { properties: { receiveMaximum: 2 } });
    await sub.subscribe(topic, 2);
    const pub = await connected(port, 5, uid('pub'));
    const n = 7;
    for (let i = 0; i < n; i++) await pub.publishAcked(topic, String(i), { qos: i % 2 === 0 ? 1 : 2 });
    const got: string[] = [];
    const unacked: PublishPacket[] = [];
    for (let round = 0; round < n && got.length < n; round++) {
      await sub.ping();
      unacked.push(...(await sub.collect(50)).filter((p): p is PublishPacket => p.cmd === 'publish'));
      expect(unacked.length).toBeLessThanOrEqual(2);
      // Acknowledge the oldest only; a QoS 2 message holds its slot until PUBCOMP.
      const first = unacked.shift();
      if (!first) break;
      got.push(str(first.payload));
      if (first.qos === 1) sub.send({ cmd: 'puback', messageId: first.messageId! });
      else {
        sub.send({ cmd: 'pubrec', messageId: first.messageId! });
        await sub.expectWhere('pubrel', first.messageId);
        await sub.ping();
        unacked.push(...(await sub.collect(50)).filter((p): p is PublishPacket => p.cmd === 'publish'));
        // PUBREC alone frees nothing [MQTT-5.0 4.9.0-2]: the quota comes back with PUBCOMP.
        expect(unacked.length).toBeLessThanOrEqual(1);
        sub.send({ cmd: 'pubcomp', messageId: first.messageId! });
      }
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it("[MQTT-5.0 4.9.0-3, 3.3.4-10] keeps answering other packets while the client's quota is used up", async () => {
    const topic = `quota/${uid('t')}`;
    const sub = await connected(port, 5, uid('sub'), { properties: { receiveMaximum: 1 } });
    await sub.subscribe(topic, 1);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'a', { qos: 1 });
    await pub.publishAcked(topic, 'b', { qos: 1 });
    const first = await sub.expect('publish');
    await sub.ping();
    expect((await sub.subscribe(`${topic}/other`, 0)).granted).toEqual([0]);
    pub.publish(`${topic}/other`, 'qos0 still flows');
    expect(str((await sub.expect('publish')).payload)).toBe('qos0 still flows');
    sub.send({ cmd: 'puback', messageId: first.messageId! });
    expect(str((await sub.expect('publish')).payload)).toBe('b');
  });

  it('[MQTT-5.0 3.3.4-9] on reconnect with a smaller Receive Maximum, re-sends no more unacknowledged PUBLISHes than it', async () => {
    const id = uid('shrink');
    const topic = `shrink/${id}`;
    const session = { clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 5 } };
    const a = await connected(port, 5, id, session);
    await a.subscribe(topic, 1);
    const pub = await connected(port, 5, uid('pub'));
    for (let i = 0; i < 5; i++) await pub.publishAcked(topic, String(i), { qos: 1 });
    for (let i = 0; i < 5; i++) await a.expect('publish');
    a.destroy();
    const { client: b } = await mqttConnect(port, 5, id, {
      clean: false,
      properties: { sessionExpiryInterval: 60, receiveMaximum: 2 },
    });
    await b.ping();
    const resent = (await b.collect(100)).filter((p) => p.cmd === 'publish');
    expect(resent.length).toBeLessThanOrEqual(2);
  });
});

describe("The client's Maximum Packet Size, MQTT 5.0", () => {
  const MAX = 128;
  const big = 'x'.repeat(200);

  it("[MQTT-5.0 3.1.2-24, 3.1.2-25] never sends a packet larger than the client's Maximum Packet Size: it is dropped, later ones still come", async () => {
    const topic = `mps/${uid('t')}`;
    const sub = await connected(port, 5, uid('sub'), { properties: { maximumPacketSize: MAX } });
    await sub.subscribe(topic, 1);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, big, { qos: 0 });
    await pub.publishAcked(topic, big, { qos: 1 });
    await pub.publishAcked(topic, 'small', { qos: 1 });
    const { bytes, packet } = await sub.nextRaw();
    expect(str((packet as PublishPacket).payload)).toBe('small');
    expect(bytes.length).toBeLessThanOrEqual(MAX);
    for (const chunk of sub.raw) expect(chunk.length).toBeGreaterThan(0);
    expect(sub.rawBytes().length).toBeLessThan(2 * MAX); // CONNACK + SUBACK + one small PUBLISH
  });

  it('[MQTT-5.0 3.1.2-25, 3.3.4-9] a too-large message waiting in the queue is discarded "as if sent": it does not hold a Receive Maximum slot', async () => {
    const topic = `mpsq/${uid('t')}`;
    const sub = await connected(port, 5, uid('sub'), {
      properties: { maximumPacketSize: MAX, receiveMaximum: 1 },
    });
    await sub.subscribe(topic, 1);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'first', { qos: 1 }); // in flight, unacknowledged
    await pub.publishAcked(topic, big, { qos: 1 }); // queued; too large for this client
    await pub.publishAcked(topic, 'third', { qos: 1 }); // queued
    const first = await sub.expect('publish');
    expect(str(first.payload)).toBe('first');
    sub.send({ cmd: 'puback', messageId: first.messageId! });
    const next = await sub.expect('publish', 1000);
    expect(str(next.payload)).toBe('third');
  });

  it('[MQTT-5.0 3.1.2-25, 3.3.4-9] a too-large retained message does not hold a Receive Maximum slot', async () => {
    const topic = `mpsr/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, big, { qos: 1, retain: true });
    const sub = await connected(port, 5, uid('sub'), {
      properties: { maximumPacketSize: MAX, receiveMaximum: 1 },
    });
    await sub.subscribe(topic, 1);
    await pub.publishAcked(topic, 'after', { qos: 1 });
    const got = await sub.expect('publish', 1000);
    expect(str(got.payload)).toBe('after');
  });
});
