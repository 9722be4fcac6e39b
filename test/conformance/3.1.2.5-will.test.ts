// The Will Message (MQTT 3.1.1 §3.1.2.5, MQTT 5.0 §3.1.2.5 and §3.1.3.2): published when the
// connection ends without DISCONNECT, with its QoS and RETAIN, after its Will Delay Interval, and
// not at all if the client comes back within the delay; black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { QoS, Will } from '../../src/protocol/packets.js';
import { connected, sleep, str, text } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

const will = (
  topic: string,
  payload: string,
  qos: QoS = 1,
  retain = false,
  properties?: Will['properties'],
): Will => ({
  topic,
  payload: text(payload),
  qos,
  retain,
  ...(properties ? { properties } : {}),
});

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);

  describe(`Will, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} ${both('3.1.2-7, 3.1.2-8', '3.1.2-8')}] publishes the will, at its QoS, when the connection closes without DISCONNECT`, async () => {
      const topic = `will/${uid('t')}`;
      const watcher = await connected(port, v, uid('watch'));
      await watcher.subscribe(topic, 2);
      const doomed = await connected(port, v, uid('doomed'), { will: will(topic, 'gone', 2) });
      doomed.destroy();
      const got = await watcher.expect('publish');
      expect([got.topic, str(got.payload), got.qos, got.retain]).toEqual([topic, 'gone', 2, false]);
      await watcher.ack(got);
    });

    it(`[MQTT-${ed} ${both('3.1.2-8, 3.1.2-10', '3.1.2-8, 3.1.2-10')}] publishes the will when the server closes the connection for a protocol error, once`, async () => {
      const topic = `will/${uid('t')}`;
      const watcher = await connected(port, v, uid('watch'));
      await watcher.subscribe(topic, 1);
      const bad = await connected(port, v, uid('bad'), { will: will(topic, 'broken') });
      bad.send(Buffer.from([0xc1, 0x00])); // PINGREQ with a reserved flag set: malformed
      await bad.expectClosed();
      const got = await watcher.expect('publish');
      expect(str(got.payload)).toBe('broken');
      await watcher.ack(got);
      await watcher.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.1.2-14', '3.1.2-16')}] publishes a will with Will Retain 0 as a non-retained message`, async () => {
      const topic = `will/${uid('t')}`;
      const doomed = await connected(port, v, uid('doomed'), { will: will(topic, 'plain', 1, false) });
      doomed.destroy();
      await sleep(200);
      const late = await connected(port, v, uid('late'));
      await late.subscribe(topic, 1);
      await late.expectNothing(300);
    });

    it(`[MQTT-${ed} ${both('3.1.2-15', '3.1.2-17')}] publishes a will with Will Retain 1 as a retained message`, async () => {
      const topic = `will/${uid('t')}`;
      const doomed = await connected(port, v, uid('doomed'), { will: will(topic, 'kept', 1, true) });
      doomed.destroy();
      const late = await connected(port, v, uid('late'));
      let got;
      for (let i = 0; i < 10 && !got; i++) {
        // The will is published when the broker notices the close: poll a few times (bounded).
        await late.subscribe(topic, 1);
        got = (await late.collect(150)).find((p) => p.cmd === 'publish');
      }
      expect(got).toMatchObject({ cmd: 'publish', topic, retain: true });
      const pub = await connected(port, v, uid('clear'));
      await pub.publishAcked(topic, '', { qos: 1, retain: true });
    });

    it(`[MQTT-${ed} ${both('§3.1.2.5', '3.1.2-12')}] publishes no will when the Will Flag is 0`, async () => {
      const topic = `will/${uid('t')}`;
      const watcher = await connected(port, v, uid('watch'));
      await watcher.subscribe('will/#', 1);
      const c = await connected(port, v, uid('nowill'));
      c.destroy();
      const got = (await watcher.collect(400)).filter((p) => p.cmd === 'publish' && p.topic === topic);
      expect(got).toEqual([]);
    });
  });
}

describe('Will Delay Interval, MQTT 5.0', () => {
  it('[MQTT-5.0 3.1.2-8, §3.1.3.2.2] publishes the will only after the Will Delay Interval', async () => {
    const topic = `wdelay/${uid('t')}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const doomed = await connected(port, 5, uid('doomed'), {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will(topic, 'late', 1, false, { willDelayInterval: 2 }),
    });
    doomed.destroy();
    await watcher.expectNothing(900);
    const got = await watcher.expect('publish', 4000);
    expect(str(got.payload)).toBe('late');
  });

  it('[MQTT-5.0 3.1.3-9] publishes no will when the client reconnects within the Will Delay Interval', async () => {
    const topic = `wdelay/${uid('t')}`;
    const id = uid('back');
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const first = await connected(port, 5, id, {
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will(topic, 'should not appear', 1, false, { willDelayInterval: 2 }),
    });
    first.destroy();
    await sleep(300);
    await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
    await watcher.expectNothing(3000);
  });

  it('[MQTT-5.0 3.1.2-8] publishes a delayed will when the session ends first', async () => {
    const topic = `wdelay/${uid('t')}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const doomed = await connected(port, 5, uid('short'), {
      clean: false,
      properties: { sessionExpiryInterval: 1 },
      will: will(topic, 'session over', 1, false, { willDelayInterval: 600 }),
    });
    doomed.destroy();
    const got = await watcher.expect('publish', 4000);
    expect(str(got.payload)).toBe('session over');
  });

  it('[MQTT-5.0 3.1.3-10, 3.3.2-20] forwards the will properties (content type, user properties)', async () => {
    const topic = `wprops/${uid('t')}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const doomed = await connected(port, 5, uid('doomed'), {
      will: will(topic, 'p', 1, false, {
        contentType: 'text/plain',
        userProperties: [
          ['k', '1'],
          ['k', '2'],
        ],
      }),
    });
    doomed.destroy();
    const got = await watcher.expect('publish');
    expect(got.properties?.contentType).toBe('text/plain');
    expect(got.properties?.userProperties).toEqual([
      ['k', '1'],
      ['k', '2'],
    ]);
  });
});
