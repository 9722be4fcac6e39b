import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, u32, up, vectorsByFamily } from './vectors.js';

const MQTT = str('MQTT');

describe('CONNECT golden vectors', () => {
  goldenVectors(vectorsByFamily.connect);
});

describe('CONNECT validation', () => {
  it('[MQTT-3.1.1 3.1.2-3] [MQTT-5.0 3.1.2-3] rejects CONNECT with the reserved flag set', () => {
    expectError(pkt(0x10, MQTT, [4, 0x03], u16(0), str('c')), 4, MALFORMED, /reserved bit 0/);
    expectError(pkt(0x10, MQTT, [5, 0x03], u16(0), props(), str('c')), 5, MALFORMED, /reserved bit 0/);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] rejects CONNECT with fixed-header flags', () => {
    expectError(pkt(0x11, MQTT, [4, 0x02], u16(0), str('c')), 4, MALFORMED, /reserved flag bits of CONNECT/);
  });
  it('[MQTT-3.1.1 3.1.2-1] [MQTT-5.0 3.1.2-1] rejects a wrong protocol name with 0x84', () => {
    expectError(pkt(0x10, str('MQTX'), [4, 0x02], u16(0), str('c')), 4, 0x84, /protocol name/);
  });
  it('[MQTT-3.1.1 3.1.2-2] [MQTT-5.0 3.1.2-2] rejects an unsupported protocol level with 0x84', () => {
    expectError(pkt(0x10, MQTT, [6, 0x02], u16(0), str('c')), 4, 0x84, /level 6/);
    expectError(pkt(0x10, MQTT, [3, 0x02], u16(0), str('c')), 4, 0x84, /level 3/);
    expectError(pkt(0x10, str('MQIsdp'), [4, 0x02], u16(0), str('c')), 4, 0x84, /level 4/);
  });
  it('[MQTT-3.1.1 3.1.2-11] [MQTT-5.0 3.1.2-11] rejects will QoS without the will flag', () => {
    expectError(pkt(0x10, MQTT, [4, 0x0a], u16(0), str('c')), 4, MALFORMED, /without the will flag/);
  });
  it('[MQTT-3.1.1 3.1.2-15] [MQTT-5.0 3.1.2-15] rejects will retain without the will flag', () => {
    expectError(pkt(0x10, MQTT, [5, 0x22], u16(0), props(), str('c')), 5, MALFORMED, /without the will flag/);
  });
  it('[MQTT-3.1.1 3.1.2-14] [MQTT-5.0 3.1.2-12] rejects will QoS 3', () => {
    expectError(pkt(0x10, MQTT, [4, 0x1e], u16(0), str('c'), str('t'), str('p')), 4, MALFORMED, /will QoS 3/);
  });
  it('[MQTT-3.1.1 3.1.2-22] rejects a password without a user name in 3.1.1', () => {
    expectError(pkt(0x10, MQTT, [4, 0x42], u16(0), str('c'), str('p')), 4, MALFORMED, /password flag/);
  });
  it('[MQTT-3.1.1 3.1.3-8] rejects an empty client id with clean session 0 (identifier rejected)', () => {
    expectError(pkt(0x10, MQTT, [4, 0x00], u16(0), str('')), 4, 0x85, /client identifier/);
  });
  it('[MQTT-3.1 3.1] rejects a 3.1 client id longer than 23 characters', () => {
    expectError(pkt(0x10, str('MQIsdp'), [3, 0x02], u16(0), str('x'.repeat(24))), 3, 0x85);
    expectError(pkt(0x10, str('MQIsdp'), [3, 0x02], u16(0), str('')), 3, 0x85);
  });
  it('[MQTT-5.0 3.1.3-4] [MQTT-5.0 1.5.4-1] rejects a client id that is not UTF-8', () => {
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), props(), str([0xc0, 0x80])), 5, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 1.5.3-2] [MQTT-5.0 1.5.4-2] rejects a user name with U+0000', () => {
    expectError(pkt(0x10, MQTT, [4, 0x82], u16(0), str('c'), str([0x61, 0])), 4, MALFORMED, /U\+0000/);
  });
  it('[MQTT-3.1.1 4.7.1-1] [MQTT-5.0 4.7.0-1] rejects a will topic with a wildcard (0x90)', () => {
    expectError(pkt(0x10, MQTT, [4, 0x06], u16(0), str('c'), str('a/#'), str('p')), 4, 0x90);
  });
  it('[MQTT-3.1.1 2.2.3] [MQTT-5.0 2.1.4] rejects bytes after the last field', () => {
    expectError(pkt(0x10, MQTT, [4, 0x02], u16(0), str('c'), [0]), 4, MALFORMED, /after the last field/);
  });
  it('[MQTT-3.1.1 3.1.3] rejects a CONNECT that ends inside the payload', () => {
    expectError(pkt(0x10, MQTT, [4, 0x82], u16(0), str('c')), 4, MALFORMED, /ends inside a field/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property not allowed in CONNECT', () => {
    expectError(
      pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x23, ...u16(1)]), str('c')),
      5,
      MALFORMED,
      /0x23 is not allowed in CONNECT/,
    );
  });
  it('[MQTT-5.0 2.2.2.2] rejects an unknown property identifier', () => {
    expectError(
      pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x30, 0]), str('c')),
      5,
      MALFORMED,
      /unknown property/,
    );
  });
  it('[MQTT-5.0 3.1.2.11.2] rejects Session Expiry Interval twice', () => {
    const p = props([0x11, ...u32(1)], [0x11, ...u32(2)]);
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), p, str('c')), 5, PROTOCOL_ERROR, /0x11 appears twice/);
  });
  it('[MQTT-5.0 3.1.2.11.3] rejects Receive Maximum 0', () => {
    expectError(
      pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x21, ...u16(0)]), str('c')),
      5,
      PROTOCOL_ERROR,
      /0x21/,
    );
  });
  it('[MQTT-5.0 3.1.2.11.4] rejects Maximum Packet Size 0', () => {
    expectError(
      pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x27, ...u32(0)]), str('c')),
      5,
      PROTOCOL_ERROR,
      /0x27/,
    );
  });
  it('[MQTT-5.0 3.1.2.11.6] [MQTT-5.0 3.1.2.11.7] rejects Request Response/Problem Information > 1', () => {
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x19, 2]), str('c')), 5, PROTOCOL_ERROR, /0x19/);
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x17, 2]), str('c')), 5, PROTOCOL_ERROR, /0x17/);
  });
  it('[MQTT-5.0 3.1.2.11.10] rejects Authentication Data without an Authentication Method', () => {
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), props([0x16, ...str([1])]), str('c')), 5, PROTOCOL_ERROR);
  });
  it('[MQTT-5.0 3.1.3.2] rejects a will property that is not a will property', () => {
    const bytes = pkt(
      0x10,
      MQTT,
      [5, 0x06],
      u16(0),
      props(),
      str('c'),
      props([0x11, ...u32(1)]),
      str('t'),
      str('p'),
    );
    expectError(bytes, 5, MALFORMED, /0x11 is not allowed/);
  });
  it('[MQTT-5.0 3.3.2-14] rejects a will Response Topic with a wildcard', () => {
    const bytes = pkt(
      0x10,
      MQTT,
      [5, 0x06],
      u16(0),
      props(),
      str('c'),
      props([0x08, ...str('r/+')]),
      str('t'),
      str('p'),
    );
    expectError(bytes, 5, PROTOCOL_ERROR, /response topic/);
  });
  it('[MQTT-5.0 3.3.2.3.2] rejects a will Payload Format Indicator of 2', () => {
    const bytes = pkt(0x10, MQTT, [5, 0x06], u16(0), props(), str('c'), props([0x01, 2]), str('t'), str('p'));
    expectError(bytes, 5, PROTOCOL_ERROR, /0x01/);
  });
  it('[MQTT-5.0 2.2.2.1] rejects a property length past the end of the packet', () => {
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), [20], str('c')), 5, MALFORMED, /property length/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property that runs past its property block', () => {
    const block = [3, 0x11, 0, 0];
    expectError(pkt(0x10, MQTT, [5, 0x02], u16(0), block, [0, 0, 0, 0, 0], str('c')), 5, MALFORMED);
  });
  it('[MQTT-5.0 3.1.3.2.2] rejects a will payload marked UTF-8 that is not, when asked to check (0x99)', () => {
    const bytes = pkt(
      0x10,
      MQTT,
      [5, 0x06],
      u16(0),
      props(),
      str('c'),
      props([0x01, 1]),
      str('t'),
      str([0xc3]),
    );
    expectError(bytes, 5, 0x99, /payload/, { validatePayloadUtf8: true });
    expect(codec.decode(Uint8Array.from(bytes), 5).status).toBe('packet');
  });
  it('CONNECT decodes its own level whatever the session version says', () => {
    const bytes = Uint8Array.from(pkt(0x10, MQTT, [5, 0x02], u16(0), props(up('a', 'b')), str('c')));
    const r = codec.decode(bytes, 4);
    expect(r.status).toBe('packet');
    expect(codec.view.version).toBe(5);
  });
});

describe('CONNECT encoding errors', () => {
  it('[MQTT-5.0 3.1.2.11.3] refuses Receive Maximum 0 with ERR_ENCODE', () => {
    let error: unknown;
    try {
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepalive: 0,
          clientId: 'a',
          properties: { receiveMaximum: 0 },
        },
        5,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('ERR_ENCODE');
    expect((error as WeirError).message).toMatch(/CONNECT.*0x21/);
  });
  it('[MQTT-5.0 2.2.2.2] refuses a property CONNECT may not carry', () => {
    expect(() =>
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepalive: 0,
          clientId: 'a',
          properties: { topicAlias: 1 },
        },
        5,
      ),
    ).toThrow(/invalid property 0x23/);
  });
  it('refuses a property value outside its type', () => {
    expect(() =>
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepalive: 0,
          clientId: 'a',
          properties: { topicAliasMaximum: 70000 },
        },
        5,
      ),
    ).toThrow(/topicAliasMaximum must be an integer from 0 to 65535/);
  });
  it('[MQTT-5.0 1.5.4-2] refuses a client id with U+0000', () => {
    expect(() =>
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepalive: 0,
          clientId: 'a\0',
        },
        4,
      ),
    ).toThrow(/clientId contains U\+0000/);
  });
  it('refuses a protocolId that does not go with the version', () => {
    expect(() =>
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQIsdp',
          protocolVersion: 4,
          clean: true,
          keepalive: 0,
          clientId: 'a',
        },
        4,
      ),
    ).toThrow(/protocolId/);
  });
  it('[MQTT-3.1.1 3.1.2-22] refuses a 3.1.1 password without a user name', () => {
    expect(() =>
      codec.encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepalive: 0,
          clientId: 'a',
          password: new Uint8Array(1),
        },
        4,
      ),
    ).toThrow(/ERR_ENCODE|password/);
  });
});
