// The CONNACK of a persistent session waits for the store (durability "flush"), as a SUBACK does:
// what the client is told about its session (a cancelled will, a new expiry) must survive a crash
// once it has been told. While it waits, nothing else may reach the client before it, and the
// messages that arrive for the session meanwhile are queued, not lost.
import { describe, expect, it } from 'vitest';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { useBroker } from '../helpers/broker.js';
import { connectPacket, connected, RawClient, str } from '../helpers/raw-client.js';

const suite = useBroker({ durability: 'flush', maxQueued: 5000 }); // room for every message below

const keep = { clean: false, properties: { sessionExpiryInterval: 600 } };

/** A persistent session subscribed to `topic` at QoS 1, left offline. */
async function offlineSubscriber(clientId: string, topic: string): Promise<void> {
  const first = await connected(suite.port, 5, clientId, keep);
  await first.subscribe(topic, 1);
  await first.end();
}

describe('CONNACK after the store, MQTT 5.0', () => {
  it('[MQTT-5.0 3.2.0-1] packets sent right behind a reconnecting CONNECT: what they deliver to the client itself (QoS 0 and 1) comes after its CONNACK', async () => {
    const port = suite.port;
    await offlineSubscriber('ca-self', 'ca/self');
    // A client need not wait for the CONNACK (MQTT 5.0 §3.1.4): its PUBLISHes reach the shard in
    // the same batch as the CONNECT, while the CONNACK waits for the store's flush.
    const c = await RawClient.connect(port);
    c.send(connectPacket(5, 'ca-self', keep));
    c.publish('ca/self', 'q0', { qos: 0 });
    c.publish('ca/self', 'q1', { qos: 1 });
    expect(await c.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: true });
    const rest = [await c.next(5000), await c.next(5000), await c.next(5000)];
    const delivered = rest.filter((p) => p.cmd === 'publish') as PublishPacket[];
    expect(delivered.map((p) => [str(p.payload), p.qos])).toEqual([
      ['q0', 0],
      ['q1', 1],
    ]);
    expect(rest.filter((p) => p.cmd === 'puback')).toHaveLength(1);
  });

  it('[MQTT-5.0 3.2.0-1] [MQTT-5.0 4.3.3-10] a QoS 2 PUBLISH re-sent right behind a reconnecting CONNECT is answered after the CONNACK, and delivered once', async () => {
    const port = suite.port;
    const watch = await connected(port, 5, 'ca-q2-watch');
    await watch.subscribe('ca/q2', 2);
    const before = await connected(port, 5, 'ca-q2', keep);
    before.publish('ca/q2', 'once', { qos: 2, messageId: 7 });
    await before.expectWhere('pubrec', 7, 5000);
    await before.end(); // no PUBREL: the broker holds identifier 7
    const c = await RawClient.connect(port);
    c.send(connectPacket(5, 'ca-q2', keep));
    c.publish('ca/q2', 'once', { qos: 2, messageId: 7, dup: true });
    expect(await c.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: true });
    expect(await c.next(5000)).toMatchObject({ cmd: 'pubrec', messageId: 7 });
    c.send({ cmd: 'pubrel', messageId: 7 });
    expect(await c.next(5000)).toMatchObject({ cmd: 'pubcomp', messageId: 7 });
    const got = (await watch.expect('publish', 5000)) as PublishPacket;
    expect(str(got.payload)).toBe('once');
    await watch.ack(got);
    await watch.expectNothing(300); // not delivered a second time
  });

  it('[MQTT-5.0 3.2.0-1] the first packet of a reconnecting persistent session is its CONNACK, though QoS 1 messages for it keep arriving; none is lost', async () => {
    const port = suite.port;
    await offlineSubscriber('ca-sub', 'ca/t');
    const pub = await connected(port, 5, 'ca-pub');
    const sub = await RawClient.connect(port);
    // Its CONNECT, then a steady stream of QoS 1 messages for it from another connection (not
    // waiting for their PUBACKs, which wait for the store too): some reach the shard while the
    // CONNACK waits for the store's flush, with nothing queued for the session before them. All
    // must come after the CONNACK, in order.
    const total = 3000;
    let sent = 0;
    const burst = (n: number) => {
      for (const end = Math.min(total, sent + n); sent < end; sent++)
        pub.publish('ca/t', `m${sent}`, { qos: 1 });
    };
    sub.send(connectPacket(5, 'ca-sub', keep));
    while (sent < total) {
      burst(25);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await sub.next(5000)).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: true });
    const got: string[] = [];
    while (got.length < total) {
      const p = (await sub.expect('publish', 5000)) as PublishPacket;
      got.push(Buffer.from(p.payload).toString());
      await sub.ack(p);
    }
    expect(got).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
  });
});
