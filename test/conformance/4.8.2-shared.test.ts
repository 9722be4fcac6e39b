// Shared subscriptions (MQTT 5.0 §4.8.2), within the one shard the broker runs today: each message
// goes to exactly one member of a group; black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { Packet, PublishPacket } from '../../src/protocol/packets.js';
import { connected, type RawClient, str } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

const publishes = (ps: Packet[]) => ps.filter((p): p is PublishPacket => p.cmd === 'publish');

/** Everything the clients received once the publisher's messages have been routed. */
async function drain(pub: RawClient, clients: RawClient[]): Promise<string[][]> {
  await pub.ping();
  const out: string[][] = [];
  for (const c of clients) {
    await c.ping();
    out.push(publishes(await c.collect(50)).map((p) => str(p.payload)));
  }
  return out;
}

describe('Shared subscriptions, MQTT 5.0', () => {
  it('[MQTT-5.0 §4.8.2] sends each message to exactly one member of the group', async () => {
    const topic = `shared/${uid('t')}`;
    const members = await Promise.all([1, 2, 3].map(() => connected(port, 5, uid('m'))));
    for (const m of members) expect((await m.subscribe(`$share/g/${topic}`, 0)).granted).toEqual([0]);
    const pub = await connected(port, 5, uid('pub'));
    const n = 30;
    for (let i = 0; i < n; i++) pub.publish(topic, String(i));
    const got = await drain(pub, members);
    const all = got
      .flat()
      .map(Number)
      .sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('[MQTT-5.0 §4.8.2] each group, and each non-shared subscription, gets its own copy', async () => {
    const topic = `shared/${uid('t')}`;
    const a1 = await connected(port, 5, uid('a'));
    const a2 = await connected(port, 5, uid('a'));
    const b1 = await connected(port, 5, uid('b'));
    const plain = await connected(port, 5, uid('plain'));
    await a1.subscribe(`$share/ga/${topic}`, 0);
    await a2.subscribe(`$share/ga/${topic}`, 0);
    await b1.subscribe(`$share/gb/${topic}`, 0);
    await plain.subscribe(topic, 0);
    const pub = await connected(port, 5, uid('pub'));
    for (let i = 0; i < 10; i++) pub.publish(topic, String(i));
    const [g1, g2, gb, gp] = await drain(pub, [a1, a2, b1, plain]);
    expect(g1!.length + g2!.length).toBe(10);
    expect(gb).toHaveLength(10);
    expect(gp).toHaveLength(10);
  });

  it('[MQTT-5.0 4.8.2-3] respects the granted QoS of the member it chooses', async () => {
    const topic = `shared/${uid('t')}`;
    const m = await connected(port, 5, uid('m'));
    await m.subscribe(`$share/q/${topic}`, 0);
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'q', { qos: 2 });
    expect(await m.expect('publish')).toMatchObject({ qos: 0 });
  });

  it('[MQTT-5.0 §4.8.2] sends no retained messages when a shared subscription is made', async () => {
    const topic = `shared/${uid('t')}`;
    const pub = await connected(port, 5, uid('pub'));
    await pub.publishAcked(topic, 'old', { qos: 1, retain: true });
    const m = await connected(port, 5, uid('m'));
    await m.subscribe(`$share/r/${topic}`, 1);
    await m.expectNothing(300);
    await pub.publishAcked(topic, '', { qos: 1, retain: true });
  });

  it('[MQTT-5.0 §4.8.2] a member that unsubscribes gets no more; the others get everything', async () => {
    const topic = `shared/${uid('t')}`;
    const stay = await connected(port, 5, uid('stay'));
    const leave = await connected(port, 5, uid('leave'));
    await stay.subscribe(`$share/u/${topic}`, 0);
    await leave.subscribe(`$share/u/${topic}`, 0);
    await leave.unsubscribe(`$share/u/${topic}`);
    const pub = await connected(port, 5, uid('pub'));
    for (let i = 0; i < 6; i++) pub.publish(topic, String(i));
    const [s, l] = await drain(pub, [stay, leave]);
    expect(s).toHaveLength(6);
    expect(l).toHaveLength(0);
  });

  it('[MQTT-5.0 4.8.2-1, 4.8.2-2] refuses malformed shared filters with 0x8F', async () => {
    const c = await connected(port, 5, uid('bad'));
    const suback = await c.subscribe(
      ['$share/g', '$share//t', '$share/g+/t', '$share/g#/t', '$share/g/t'],
      0,
    );
    expect(suback.granted).toEqual([0x8f, 0x8f, 0x8f, 0x8f, 0]);
  });
});
