// CONNECT and CONNACK (MQTT 3.1.1 §3.1–3.2, MQTT 5.0 §3.1–3.2), black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import {
  connected,
  connectPacket,
  mqttConnect,
  RawClient,
  rawPacket,
  u16,
  utf8,
} from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker({ keepAliveMax: 100 });

/** A CONNECT built by hand: protocol name, level, flags, keep-alive 60, (v5: empty properties), payload fields. */
function connectBytes(
  level: number,
  flags: number,
  payload: number[][],
  o: { name?: string; v5Props?: boolean } = {},
): Buffer {
  const props = (o.v5Props ?? level === 5) ? [[0]] : [];
  return rawPacket(0x10, utf8(o.name ?? 'MQTT'), [level], [flags], u16(60), ...props, ...payload);
}

for (const v of [4, 5] as const satisfies readonly ProtocolVersion[]) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  describe(`CONNECT, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.1.0-1] closes a connection whose first packet is not CONNECT, without answering it`, async () => {
      const c = await RawClient.connect(port);
      c.send(Buffer.from([0xc0, 0x00])); // PINGREQ
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('pingresp');
      expect(got.map((p) => p.cmd)).not.toContain('connack');
    });

    it(`[MQTT-${ed} 3.1.0-2] closes the connection on a second CONNECT${v === 5 ? ' (DISCONNECT 0x82 if any)' : ''}`, async () => {
      const id = uid('twice');
      const c = await connected(port, v, id);
      c.send(connectPacket(v, id));
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('connack');
      for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x82);
    });

    it(`[MQTT-${ed} 3.1.2-1] closes the connection when the protocol name is not "MQTT"`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      c.send(connectBytes(v, 0x02, [utf8(uid('name'))], { name: 'MQTX' }));
      const got = await c.expectClosed();
      for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
    });

    it(`[MQTT-${ed} 3.1.2-3] closes the connection when the CONNECT reserved flag is 1`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      c.send(connectBytes(v, 0x03, [utf8(uid('reserved'))]));
      const got = await c.expectClosed();
      for (const p of got) {
        expect(p.cmd).toBe('connack');
        if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
        if (p.cmd === 'connack' && v === 5) expect(p.reasonCode).toBe(0x81);
      }
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.1.2-11' : '3.1.2-11, 3.1.2-13'}] closes the connection when Will QoS is not 0 without the Will Flag`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      c.send(connectBytes(v, 0x02 | 0x08, [utf8(uid('wq'))]));
      const got = await c.expectClosed();
      for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
    });

    it(`[MQTT-${ed} 3.1.2-${v === 5 ? '12' : '14'}] closes the connection when Will QoS is 3`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      const willProps = v === 5 ? [[0]] : [];
      c.send(connectBytes(v, 0x02 | 0x04 | 0x18, [utf8(uid('wq3')), ...willProps, utf8('w/t'), utf8('x')]));
      const got = await c.expectClosed();
      for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.1.2-13' : '3.1.2-11, 3.1.2-15'}] closes the connection when Will Retain is 1 without the Will Flag`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      c.send(connectBytes(v, 0x02 | 0x20, [utf8(uid('wr'))]));
      const got = await c.expectClosed();
      for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.2.2-2' : '3.2.2-1'}] answers Clean Start 1 with Session Present 0 and a success code, reserved flag bits 0`, async () => {
      const c = await RawClient.connect(port);
      c.send(connectPacket(v, uid('clean'), { clean: true }));
      const { bytes, packet } = await c.nextRaw();
      expect(packet).toMatchObject({ cmd: 'connack', sessionPresent: false, reasonCode: 0 });
      // [MQTT-5.0 3.2.2-1] / 3.1.1 §3.2.2.1: bits 7-1 of the Connect Acknowledge Flags are 0.
      expect(bytes[2]! & 0xfe).toBe(0);
    });

    it(`[MQTT-${ed} 3.1.3-5] accepts a 23-character alphanumeric client identifier`, async () => {
      const id = `${uid('A')}bcdefghijklmnopqrstuvwxyz0123456789`.slice(0, 23);
      const { connack } = await mqttConnect(port, v, id);
      expect(connack.reasonCode).toBe(0);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.2.0-1, 3.2.0-2' : '3.2.0-1'}] sends exactly one CONNACK, first`, async () => {
      const c = await connected(port, v, uid('once'));
      await c.ping();
      await c.expectNothing(200);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.1.2-22' : '3.1.2-24'}] closes the connection when nothing arrives within 1.5 × Keep Alive`, async () => {
      const c = await connected(port, v, uid('ka'), { keepalive: 1 });
      const got = await c.expectClosed(4000);
      if (v === 5) for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x8d);
    });
  });
}

describe('CONNECT, what differs between 3.1.1 and 5.0', () => {
  it('[MQTT-3.1.1 3.1.2-2] answers an unsupported protocol level with CONNACK 0x01 and closes', async () => {
    const c = await RawClient.connect(port);
    c.send(connectBytes(6, 0x02, [utf8(uid('lvl'))], { v5Props: false }));
    await c.expectClosed();
    expect(c.rawBytes().toString('hex')).toBe('20020001');
  });

  it('[MQTT-3.1.1 3.1.2-22] closes the connection when the Password Flag is set without the User Name Flag', async () => {
    const c = await RawClient.connect(port);
    c.send(connectBytes(4, 0x02 | 0x40, [utf8(uid('pw')), utf8('secret')]));
    const got = await c.expectClosed();
    for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
  });

  it('[MQTT-5.0 3.1.2-18, 3.1.2-19] accepts a Password without a User Name', async () => {
    const c = await RawClient.connect(port);
    c.version = 5;
    c.send(connectBytes(5, 0x02 | 0x40, [utf8(uid('pw5')), utf8('secret')]));
    expect(await c.expect('connack')).toMatchObject({ reasonCode: 0 });
  });

  it('[MQTT-3.1.1 3.1.3-6] accepts a zero-byte client identifier with Clean Session 1', async () => {
    const { connack } = await mqttConnect(port, 4, '', { clean: true });
    expect(connack.reasonCode).toBe(0);
  });

  it('[MQTT-3.1.1 3.1.3-6] gives each zero-byte client identifier a unique one: two such clients do not take each other over', async () => {
    const a = await connected(port, 4, '', { clean: true });
    const b = await connected(port, 4, '', { clean: true });
    const topic = `anon/${uid('t')}`;
    await a.subscribe(topic, 0);
    await b.subscribe(topic, 0);
    const pub = await connected(port, 4, uid('pub'));
    pub.publish(topic, 'both');
    expect((await a.expect('publish')).topic).toBe(topic);
    expect((await b.expect('publish')).topic).toBe(topic);
    expect(a.closed || b.closed).toBe(false);
  });

  it('[MQTT-3.1.1 3.1.3-8, 3.2.2-4, 3.2.2-5] answers a zero-byte client identifier with Clean Session 0 with CONNACK 0x02 and closes', async () => {
    const c = await RawClient.connect(port);
    c.send(connectBytes(4, 0x00, [utf8('')])); // our codec refuses to encode this, so by hand
    const got = await c.expectClosed();
    expect(got).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x02 }]);
  });

  it('[MQTT-5.0 3.1.3-6, 3.1.3-7, 3.2.2-16] assigns a fresh client identifier to an empty one and returns it in CONNACK', async () => {
    const a = await mqttConnect(port, 5, '');
    const b = await mqttConnect(port, 5, '');
    const idA = a.connack.properties?.assignedClientIdentifier;
    const idB = b.connack.properties?.assignedClientIdentifier;
    expect(a.connack.reasonCode).toBe(0);
    expect(idA).toBeTruthy();
    expect(idB).toBeTruthy();
    expect(idA).not.toBe(idB);
  });

  it('[MQTT-5.0 4.12.0-1, 3.2.2-6, 3.2.2-7] refuses an Authentication Method with CONNACK 0x8C, Session Present 0, and closes', async () => {
    const c = await RawClient.connect(port);
    c.send(connectPacket(5, uid('auth'), { properties: { authenticationMethod: 'SCRAM-SHA-1' } }));
    const got = await c.expectClosed();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ cmd: 'connack', reasonCode: 0x8c, sessionPresent: false });
  });

  it('[MQTT-5.0 3.1.4-6] does not process a PUBLISH sent after a refused CONNECT', async () => {
    const topic = `refused/${uid('t')}`;
    const c = await RawClient.connect(port);
    c.version = 5;
    // v5 CONNECT with Authentication Method (0x15) "X", then PUBLISH QoS 0 RETAIN 1 in the same write.
    const connect = rawPacket(
      0x10,
      utf8('MQTT'),
      [5],
      [0x02],
      u16(60),
      [4, 0x15, 0x00, 0x01, 0x58],
      utf8(uid('auth2')),
    );
    const publish = rawPacket(0x31, utf8(topic), [0], [0x78]);
    c.send(Buffer.concat([connect, publish]));
    await c.expectClosed();
    const sub = await connected(port, 5, uid('check'));
    await sub.subscribe(topic, 1);
    await sub.expectNothing(300);
  });

  it('[MQTT-5.0 3.2.2.3.14] answers a Keep Alive above keep-alive-max with Server Keep Alive', async () => {
    const { connack } = await mqttConnect(port, 5, uid('ska'), { keepalive: 300 });
    expect(connack.properties?.serverKeepAlive).toBe(100);
  });

  it('[MQTT-5.0 3.1.2-28] sends no Response Information when Request Response Information is 0', async () => {
    const { connack } = await mqttConnect(port, 5, uid('rri'), {
      properties: { requestResponseInformation: 0 },
    });
    expect(connack.properties?.responseInformation).toBeUndefined();
  });

  it('[MQTT-5.0 3.1.2-29] with Request Problem Information 0, sends no Reason String or User Properties on SUBACK, PUBACK, PUBCOMP', async () => {
    const c = await connected(port, 5, uid('rpi'), { properties: { requestProblemInformation: 0 } });
    const suback = await c.subscribe(['bad/#/filter', 'ok/rpi'], 1);
    expect(suback.granted[0]).toBe(0x8f);
    c.publish(`nobody/${uid('t')}`, 'x', { qos: 1, messageId: 5 });
    const puback = await c.expect('puback');
    c.send({ cmd: 'pubrel', messageId: 999 });
    const pubcomp = await c.expect('pubcomp');
    for (const p of [suback, puback, pubcomp]) {
      expect(p.properties?.reasonString).toBeUndefined();
      expect(p.properties?.userProperties).toBeUndefined();
    }
  });

  for (const v of [4, 5] as const) {
    const ed = v === 5 ? '5.0' : '3.1.1';
    it(`[MQTT-${ed} ${v === 5 ? '3.1.4-1, 4.7.0-1' : '3.1.4-1, 4.7.1-1'}] refuses a CONNECT whose Will Topic contains a wildcard${v === 5 ? ' (CONNACK 0x90 if any)' : ''}`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      // By hand (our encoder refuses it): Will Flag, Will QoS 0, will topic "will/+".
      const willProps = v === 5 ? [[0]] : [];
      c.send(connectBytes(v, 0x02 | 0x04, [utf8(uid('wwild')), ...willProps, utf8('will/+'), utf8('x')]));
      const got = await c.expectClosed();
      for (const p of got) {
        expect(p.cmd).toBe('connack');
        if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
        if (p.cmd === 'connack' && v === 5) expect(p.reasonCode).toBe(0x90);
      }
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.1.3-4, 1.5.4-1' : '3.1.3-4, 1.5.3-1'}] closes the connection when the Client Identifier is not well-formed UTF-8`, async () => {
      const c = await RawClient.connect(port);
      c.version = v;
      c.send(connectBytes(v, 0x02, [utf8([0x61, 0xc0, 0xaf])]));
      const got = await c.expectClosed();
      for (const p of got) if (p.cmd === 'connack') expect(p.reasonCode).not.toBe(0);
    });
  }

  it('accepts MQTT 3.1 (protocol name MQIsdp, level 3)', async () => {
    const { connack } = await mqttConnect(port, 3, uid('v31'));
    expect(connack.reasonCode).toBe(0);
  });
});
