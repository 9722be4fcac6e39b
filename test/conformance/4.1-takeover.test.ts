// Session takeover (MQTT 3.1.1 §3.1.4, MQTT 5.0 §3.1.4): a second CONNECT with a client ID that is
// connected closes the first connection. Unlike the other files, each test gets a broker of its
// own: the takeover bugs below corrupt the shard's session table, which would leak into the next
// test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { startBroker } from '../helpers/broker.js';
import { connected, destroyAll, mqttConnect, str } from '../helpers/raw-client.js';

let broker: Broker;
let port: number;

beforeEach(async () => {
  broker = await startBroker();
  port = broker.ports.tcp!;
});
afterEach(async () => {
  destroyAll();
  await broker.close();
});

let seq = 0;
const uid = (p: string) => `${p}-${++seq}`;

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);

  describe(`Session takeover, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} ${both('3.1.4-3', '3.1.4-2')}] a second connection with the same client ID takes over: the first is closed${v === 5 ? ' after DISCONNECT 0x8E' : ''}`, async () => {
      const id = uid('take');
      const a = await connected(port, v, id);
      const { connack } = await mqttConnect(port, v, id);
      expect(connack.reasonCode).toBe(0);
      const got = await a.expectClosed();
      if (v === 5) {
        expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x8e })]);
        // [MQTT-5.0 3.14.2-2]: the Server never sends a Session Expiry Interval on DISCONNECT.
        expect(got[0]!.cmd === 'disconnect' && got[0]!.properties?.sessionExpiryInterval).toBeFalsy();
      } else {
        expect(got).toEqual([]);
      }
    });

    it(`[MQTT-${ed} ${both('3.1.4-3, 3.3.2-3', '3.1.4-2, 3.3.2-3')}] after a Clean Start takeover, messages go to the subscriber whose filter matches and no other`, async () => {
      // Broker bug: the taken-over session is dropped twice (connectionLost, then Clean Start), so
      // its index handle is freed twice and two later sessions share it.
      const idX = uid('twinX');
      await connected(port, v, idX, { clean: true });
      const x = await connected(port, v, idX, { clean: true }); // takes over
      await x.subscribe(`iso/${idX}`, 0);
      const y = await connected(port, v, uid('twinY'), { clean: true });
      await y.subscribe(`iso/other/${idX}`, 0);
      const pub = await connected(port, v, uid('pub'));
      pub.publish(`iso/${idX}`, 'for x');
      pub.publish(`iso/other/${idX}`, 'for y');
      const gotX = (await x.collect(300)).filter((p): p is PublishPacket => p.cmd === 'publish');
      const gotY = (await y.collect(100)).filter((p): p is PublishPacket => p.cmd === 'publish');
      expect(gotX.map((p) => p.topic)).toEqual([`iso/${idX}`]);
      expect(gotY.map((p) => p.topic)).toEqual([`iso/other/${idX}`]);
    });

    it(`[MQTT-${ed} ${both('3.1.4-3, 3.1.2-5', '3.1.4-2, 3.1.2-4')}] after a takeover with Clean Start 0, the new connection receives what it subscribes to`, async () => {
      // Broker bug: the old connection's session (expiry 0 / Clean Session 1) is dropped when the
      // old connection is closed, but the new connection keeps using the dropped session object.
      const id = uid('take0');
      await connected(port, v, id, { clean: true });
      const { client: b, connack } = await mqttConnect(port, v, id, { clean: false });
      expect(connack.reasonCode).toBe(0);
      const topic = `take0/${id}`;
      await b.subscribe(topic, 1);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'reach me', { qos: 1 });
      expect(str((await b.expect('publish')).payload)).toBe('reach me');
    });
  });
}

describe('Takeover and the will, MQTT 5.0', () => {
  it('[MQTT-5.0 3.1.4-3, §3.1.4] publishes the will of the connection taken over', async () => {
    const id = uid('wtake');
    const topic = `wtake/${id}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    await connected(port, 5, id, {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic, payload: Buffer.from('taken'), qos: 1, retain: false },
    });
    await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(str((await watcher.expect('publish')).payload)).toBe('taken');
  });

  it('[MQTT-5.0 3.1.3-9] a takeover within the Will Delay Interval publishes no will', async () => {
    const id = uid('wtake2');
    const topic = `wtake/${id}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    await connected(port, 5, id, {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: {
        topic,
        payload: Buffer.from('late'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    });
    await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
    await watcher.expectNothing(2500);
  });
});
