// UNSUBSCRIBE and UNSUBACK (MQTT 3.1.1 §3.10–3.11, MQTT 5.0 §3.10–3.11); black-box over TCP.
import { describe, expect, it } from 'vitest';
import { connected, rawPacket, str, u16, utf8 } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';

  describe(`UNSUBSCRIBE, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.10.4-2, 3.10.4-4, 3.10.4-5] answers with UNSUBACK carrying the identifier, and stops delivery`, async () => {
      const topic = `unsub/${uid('t')}`;
      const c = await connected(port, v, uid('u'));
      await c.subscribe(topic, 1);
      c.send({ cmd: 'unsubscribe', messageId: 4321, unsubscriptions: [topic] });
      const ack = await c.expect('unsuback');
      expect(ack.messageId).toBe(4321);
      if (v === 5) expect(ack.granted).toEqual([0x00]);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'x', { qos: 1 });
      await c.expectNothing(300);
    });

    it(`[MQTT-${ed} 3.10.4-5] answers UNSUBACK even when no subscription is deleted${v === 5 ? ' (0x11)' : ''}`, async () => {
      const c = await connected(port, v, uid('none'));
      const ack = await c.unsubscribe(`never/${uid('t')}`);
      if (v === 5) expect(ack.granted).toEqual([0x11]);
      else expect(ack.granted).toBeUndefined();
    });

    it(`[MQTT-${ed} 3.10.4-1] compares filters character by character: a topic that a wildcard filter matches does not remove it`, async () => {
      const base = uid('cmp');
      const c = await connected(port, v, uid('cmp'));
      await c.subscribe(`${base}/+`, 0);
      const ack = await c.unsubscribe(`${base}/a`);
      if (v === 5) expect(ack.granted).toEqual([0x11]);
      const pub = await connected(port, v, uid('pub'));
      pub.publish(`${base}/a`, 'still');
      expect(str((await c.expect('publish')).payload)).toBe('still');
    });

    it(`[MQTT-${ed} 3.10.4-6${v === 5 ? ', 3.11.3-1, 3.11.3-2' : ''}] handles several filters as a sequence, with one UNSUBACK${v === 5 ? ' whose codes follow the filters in order' : ''}`, async () => {
      const base = uid('multi');
      const c = await connected(port, v, uid('multi'));
      await c.subscribe([`${base}/a`, `${base}/c`], 0);
      const ack = await c.unsubscribe([`${base}/a`, `${base}/b`, `${base}/c`]);
      if (v === 5) expect(ack.granted).toEqual([0x00, 0x11, 0x00]);
      await c.expectNothing(200);
    });

    it(`[MQTT-${ed} 3.10.4-3] completes a QoS 2 delivery it started after the subscription is removed`, async () => {
      const topic = `unsub2/${uid('t')}`;
      const c = await connected(port, v, uid('q2'));
      await c.subscribe(topic, 2);
      const pub = await connected(port, v, uid('pub'));
      await pub.publishAcked(topic, 'in flight', { qos: 2 });
      const got = await c.expect('publish');
      await c.unsubscribe(topic);
      c.send({ cmd: 'pubrec', messageId: got.messageId! });
      expect(await c.expect('pubrel')).toMatchObject({ messageId: got.messageId });
      c.send({ cmd: 'pubcomp', messageId: got.messageId! });
      await c.expectNothing(200);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.10.3-2' : '3.10.3-2'}] closes the connection on an UNSUBSCRIBE without topic filters`, async () => {
      const c = await connected(port, v, uid('empty'));
      c.send(rawPacket(0xa2, u16(5), v === 5 ? [0] : []));
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('unsuback');
    });

    it(`[MQTT-${ed} 3.10.1-1] closes the connection when UNSUBSCRIBE's fixed header flags are not 0010`, async () => {
      const c = await connected(port, v, uid('flags'));
      c.send(rawPacket(0xa0, u16(5), v === 5 ? [0] : [], utf8('a/b')));
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('unsuback');
      if (v === 5) for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x81);
    });
  });
}
