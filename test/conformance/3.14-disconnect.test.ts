// DISCONNECT from the client (MQTT 3.1.1 §3.14, MQTT 5.0 §3.14): the will is discarded on a
// normal DISCONNECT and kept with 0x04; the Session Expiry Interval may change on DISCONNECT
// except from 0; black-box over TCP.
import { describe, expect, it } from 'vitest';
import { connected, mqttConnect, sleep, str, text } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';

  describe(`DISCONNECT, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.14.4-3, 3.1.2-10] discards the will on a normal DISCONNECT`, async () => {
      const topic = `dwill/${uid('t')}`;
      const watcher = await connected(port, v, uid('watch'));
      await watcher.subscribe(topic, 1);
      const c = await connected(port, v, uid('polite'), {
        will: { topic, payload: text('must not appear'), qos: 1, retain: false },
      });
      c.send({ cmd: 'disconnect', ...(v === 5 ? { reasonCode: 0 } : {}) });
      await c.expectClosed();
      await watcher.expectNothing(400);
    });

    it(`[MQTT-${ed} 3.14.1-1] closes the connection when DISCONNECT's reserved flags are not 0, and publishes the will`, async () => {
      const topic = `dwill/${uid('t')}`;
      const watcher = await connected(port, v, uid('watch'));
      await watcher.subscribe(topic, 1);
      const c = await connected(port, v, uid('rude'), {
        will: { topic, payload: text('flags'), qos: 1, retain: false },
      });
      c.send(Buffer.from([0xe1, 0x00]));
      const got = await c.expectClosed();
      if (v === 5) for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x81);
      expect(str((await watcher.expect('publish')).payload)).toBe('flags');
    });
  });
}

describe('DISCONNECT, MQTT 5.0 only', () => {
  it('[MQTT-5.0 3.1.2-8, §3.14.2.1] DISCONNECT with 0x04 (Disconnect with Will Message) publishes the will', async () => {
    const topic = `dwill/${uid('t')}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const c = await connected(port, 5, uid('withwill'), {
      will: { topic, payload: text('as asked'), qos: 1, retain: false },
    });
    c.send({ cmd: 'disconnect', reasonCode: 0x04 });
    await c.expectClosed();
    expect(str((await watcher.expect('publish')).payload)).toBe('as asked');
  });

  it('[MQTT-5.0 §3.14.2.2.2] a non-zero Session Expiry on DISCONNECT after 0 on CONNECT is a Protocol Error: DISCONNECT 0x82, and the will is published', async () => {
    const topic = `dwill/${uid('t')}`;
    const watcher = await connected(port, 5, uid('watch'));
    await watcher.subscribe(topic, 1);
    const c = await connected(port, 5, uid('extend'), {
      will: { topic, payload: text('not a valid DISCONNECT'), qos: 1, retain: false },
    });
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const got = await c.expectClosed();
    expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x82 })]);
    expect(str((await watcher.expect('publish')).payload)).toBe('not a valid DISCONNECT');
  });

  it('[MQTT-5.0 §3.14.2.2.2, 3.1.2-23] DISCONNECT can shorten the Session Expiry Interval to 0: the session ends', async () => {
    const id = uid('shorten');
    const c = await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 300 } });
    await c.subscribe(`shorten/${id}`, 1);
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await c.expectClosed();
    const { connack } = await mqttConnect(port, 5, id, { clean: false });
    expect(connack.sessionPresent).toBe(false);
  });

  it('[MQTT-5.0 §3.14.2.2.2, 3.1.2-23] DISCONNECT can lengthen a non-zero Session Expiry Interval: the session outlives the old one', async () => {
    const id = uid('lengthen');
    const c = await connected(port, 5, id, { clean: false, properties: { sessionExpiryInterval: 1 } });
    await c.subscribe(`lengthen/${id}`, 1);
    c.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 120 } });
    await c.expectClosed();
    await sleep(2600);
    const { connack } = await mqttConnect(port, 5, id, {
      clean: false,
      properties: { sessionExpiryInterval: 0 },
    });
    expect(connack.sessionPresent).toBe(true);
  });
});
