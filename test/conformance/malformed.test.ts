// Malformed packets and protocol errors (MQTT 3.1.1 §1.5.3, §2.2, §4.8; MQTT 5.0 §1.5, §2.1, §4.13):
// the connection is closed, with DISCONNECT and the right reason code in 5.0, and the broker
// keeps serving other clients; black-box over TCP.
import { describe, expect, it } from 'vitest';
import { connected, mqttConnect, RawClient, rawPacket, str, u16, utf8 } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

const MAX_PACKET = 1024;
useBroker({ maxPacketSize: MAX_PACKET });

const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

/** Another client still gets a full publish/subscribe round trip. */
async function stillServing(): Promise<void> {
  const c = await connected(port, 5, uid('ok'));
  const topic = `alive/${uid('t')}`;
  await c.subscribe(topic, 1);
  await c.publishAcked(topic, 'alive', { qos: 1 });
  expect(str((await c.expect('publish')).payload)).toBe('alive');
}

interface Case {
  /** Statement ids per edition; a case runs only for the editions it names. */
  ids: { 4?: string; 5?: string };
  what: string;
  /** The offending bytes, sent after a successful CONNECT. */
  bytes: (v: 4 | 5) => Buffer;
  /** The reason code of the DISCONNECT a 5.0 client must get. */
  code: number;
}

const props0 = (v: 4 | 5) => (v === 5 ? [0] : []);

const cases: Case[] = [
  {
    ids: { 4: '2.2.2-2', 5: '2.1.3-1' },
    what: 'SUBSCRIBE with fixed header flags 0000 instead of 0010',
    bytes: (v) => rawPacket(0x80, u16(1), props0(v), utf8('a/b'), [0]),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.8.1-1', 5: '3.8.1-1' },
    what: 'SUBSCRIBE with fixed header flags 0011',
    bytes: (v) => rawPacket(0x83, u16(1), props0(v), utf8('a/b'), [0]),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.6.1-1', 5: '3.6.1-1' },
    what: 'PUBREL with fixed header flags 0000',
    bytes: () => rawPacket(0x60, u16(1)),
    code: MALFORMED,
  },
  {
    ids: { 4: '2.2.2-2', 5: '2.1.3-1' },
    what: 'PUBACK with a reserved flag set',
    bytes: () => rawPacket(0x42, u16(1)),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.3.1-4', 5: '3.3.1-4' },
    what: 'PUBLISH with QoS 3',
    bytes: (v) => rawPacket(0x36, utf8('a/b'), u16(1), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.3.1-2', 5: '3.3.1-2' },
    what: 'PUBLISH QoS 0 with DUP 1',
    bytes: (v) => rawPacket(0x38, utf8('a/b'), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.3.2-2, 4.7.1-1', 5: '3.3.2-2, 4.7.0-1' },
    what: 'PUBLISH to a Topic Name with a wildcard',
    bytes: (v) => rawPacket(0x30, utf8('a/+'), props0(v)),
    code: 0x90,
  },
  {
    ids: { 4: '1.5.3-1', 5: '1.5.4-1' },
    what: 'PUBLISH whose Topic Name is not well-formed UTF-8',
    bytes: (v) => rawPacket(0x30, utf8([0x61, 0xc3, 0x28]), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '1.5.3-1', 5: '1.5.4-1' },
    what: 'PUBLISH whose Topic Name encodes a surrogate (U+D800)',
    bytes: (v) => rawPacket(0x30, utf8([0x61, 0xed, 0xa0, 0x80]), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '1.5.3-2, 4.7.3-2', 5: '1.5.4-2, 4.7.3-2' },
    what: 'PUBLISH whose Topic Name contains U+0000',
    bytes: (v) => rawPacket(0x30, utf8([0x61, 0x00, 0x62]), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '1.5.3-1, 3.8.3-1', 5: '1.5.4-1, 3.8.3-1' },
    what: 'SUBSCRIBE whose Topic Filter is not well-formed UTF-8',
    bytes: (v) => rawPacket(0x82, u16(1), props0(v), utf8([0xff, 0x2f, 0x23]), [0]),
    code: MALFORMED,
  },
  {
    ids: { 4: '2.3.1-1', 5: '§2.2.1' },
    what: 'PUBLISH QoS 1 with Packet Identifier 0',
    bytes: (v) => rawPacket(0x32, utf8('a/b'), u16(0), props0(v)),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.8.3-3', 5: '3.8.3-2' },
    what: 'SUBSCRIBE without any Topic Filter',
    bytes: (v) => rawPacket(0x82, u16(1), props0(v)),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 4: '3.8.3-4', 5: '3.8.3-5' },
    what: 'SUBSCRIBE whose options have reserved bits set',
    bytes: (v) => rawPacket(0x82, u16(1), props0(v), utf8('a/b'), [0xc1]),
    code: MALFORMED,
  },
  {
    ids: { 4: '3.8.3-4' },
    what: 'SUBSCRIBE requesting QoS 3',
    bytes: () => rawPacket(0x82, u16(1), utf8('a/b'), [0x03]),
    code: MALFORMED,
  },
  {
    ids: { 5: '§3.8.3.1' },
    what: 'SUBSCRIBE with Retain Handling 3',
    bytes: () => rawPacket(0x82, u16(1), [0], utf8('a/b'), [0x30]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 5: '§3.8.2.1.2' },
    what: 'SUBSCRIBE with Subscription Identifier 0',
    bytes: () => rawPacket(0x82, u16(1), [2, 0x0b, 0x00], utf8('a/b'), [0]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 5: '§3.8.2.1.2' },
    what: 'SUBSCRIBE with two Subscription Identifiers',
    bytes: () => rawPacket(0x82, u16(1), [4, 0x0b, 0x01, 0x0b, 0x02], utf8('a/b'), [0]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 5: '3.3.4-6' },
    what: 'PUBLISH from a client carrying a Subscription Identifier',
    bytes: () => rawPacket(0x30, utf8('a/b'), [2, 0x0b, 0x01]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 5: '§2.2.2.2' },
    what: 'PUBLISH with the Content Type property twice',
    bytes: () => rawPacket(0x30, utf8('a/b'), [8, 0x03, 0, 1, 0x61, 0x03, 0, 1, 0x62]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 5: '§3.3.2.3.2, §4.13' },
    what: 'PUBLISH with Payload Format Indicator 1 and a payload that is not UTF-8',
    bytes: () => rawPacket(0x30, utf8('a/b'), [2, 0x01, 0x01], [0xff, 0xfe]),
    code: 0x99,
  },
  {
    ids: { 5: '4.12.0-7, §4.12' },
    what: 'AUTH when CONNECT had no Authentication Method',
    bytes: () => rawPacket(0xf0, [0x18, 0]),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 4: '4.8.0-1, §2.2.1', 5: '§2.1.2' },
    what: 'a packet of reserved type 0',
    bytes: () => Buffer.from([0x00, 0x00]),
    code: MALFORMED,
  },
  {
    ids: { 4: '4.8.0-1, §2.2.1', 5: '§2.1.2, 4.13.1-1' },
    what: 'a CONNACK, which only a server sends',
    bytes: (v) => rawPacket(0x20, [0, 0], props0(v)),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 4: '3.1.0-2', 5: '3.1.0-2' },
    what: 'a second CONNECT',
    bytes: (v) => rawPacket(0x10, utf8('MQTT'), [v], [0x02], u16(60), props0(v), utf8('again')),
    code: PROTOCOL_ERROR,
  },
  {
    ids: { 4: '§2.2.3, 4.8.0-1', 5: '§2.1.4, §1.5.5' },
    what: 'a Remaining Length of five bytes',
    bytes: () => Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    code: MALFORMED,
  },
  {
    ids: { 4: '§2.2.3, 4.8.0-1', 5: '§2.1.4, 4.13.1-1' },
    what: 'PUBLISH whose Topic Name length runs past the Remaining Length (truncated)',
    bytes: () => Buffer.from([0x30, 0x04, 0x00, 0x20, 0x61, 0x62]),
    code: MALFORMED,
  },
];

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  describe(`Malformed packets and protocol errors, MQTT ${ed}`, () => {
    for (const c of cases) {
      const ids = c.ids[v];
      if (ids === undefined) continue;
      const code = `0x${c.code.toString(16).toUpperCase()}`;
      it(`[MQTT-${ed} ${ids}] closes the connection on ${c.what}${v === 5 ? ` (DISCONNECT ${code})` : ''}, and keeps serving others`, async () => {
        const client = await connected(port, v, uid('bad'));
        client.send(c.bytes(v));
        const got = await client.expectClosed();
        if (v === 5)
          expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: c.code })]);
        else expect(got).toEqual([]);
        await stillServing();
      });
    }

    it(`[MQTT-${ed} ${v === 5 ? '§3.2.2.3.6, 4.13.1-1' : '4.8.0-1'}] closes the connection on a packet larger than the Maximum Packet Size${v === 5 ? ' (DISCONNECT 0x95), announced in CONNACK' : ''}`, async () => {
      const { client, connack } = await mqttConnect(port, v, uid('big'));
      if (v === 5) expect(connack.properties?.maximumPacketSize).toBe(MAX_PACKET);
      client.publish('big/x', 'x'.repeat(MAX_PACKET));
      const got = await client.expectClosed();
      if (v === 5) expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x95 })]);
      else expect(got).toEqual([]);
      await stillServing();
    });

    it(`[MQTT-${ed} 3.1.0-1] keeps serving others when a client sends half a packet and vanishes`, async () => {
      const client = await connected(port, v, uid('half'));
      client.send(Buffer.from([0x30, 0x10, 0x00, 0x03, 0x61]));
      client.destroy();
      const raw = await RawClient.connect(port);
      raw.send(Buffer.from([0x10, 0x05, 0x00])); // half a CONNECT
      raw.destroy();
      await stillServing();
    });
  });
}

describe("Errors and the client's Maximum Packet Size, MQTT 5.0", () => {
  it('[MQTT-5.0 3.1.2-24, 3.14.2-3] leaves out the Reason String rather than send a DISCONNECT larger than the client accepts', async () => {
    const max = 16;
    const c = await connected(port, 5, uid('tiny'), { properties: { maximumPacketSize: max } });
    const before = c.rawBytes().length;
    c.send(rawPacket(0x30, utf8('a/+'), [0])); // wildcard in a Topic Name: DISCONNECT 0x90
    const got = await c.expectClosed();
    expect(got).toEqual([expect.objectContaining({ cmd: 'disconnect', reasonCode: 0x90 })]);
    expect(c.rawBytes().length - before).toBeLessThanOrEqual(max);
    await stillServing();
  });
});

describe('CONNECT properties, MQTT 5.0', () => {
  const connectWith = (props: number[]) =>
    rawPacket(0x10, utf8('MQTT'), [5], [0x02], u16(60), [props.length, ...props], utf8(uid('props')));

  for (const [what, props] of [
    ['Receive Maximum 0', [0x21, 0, 0]],
    ['Maximum Packet Size 0', [0x27, 0, 0, 0, 0]],
    ['Session Expiry Interval twice', [0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]],
  ] as const) {
    it(`[MQTT-5.0 3.1.4-1, §3.1.2.11] refuses a CONNECT with ${what} (CONNACK 0x82 if any) and closes`, async () => {
      const c = await RawClient.connect(port);
      c.version = 5;
      c.send(connectWith([...props]));
      const got = await c.expectClosed();
      for (const p of got) expect(p).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
      await stillServing();
    });
  }
});
