// Framing: the fixed header, "need more bytes", "too large", and what every packet type shares.
import { describe, expect, it } from 'vitest';
import { codec, expectError, MALFORMED } from './helpers.js';
import { pkt, str, vectors } from './vectors.js';

describe('fixed header', () => {
  it('[MQTT-3.1.1 2.2.3] [MQTT-5.0 2.1.4] answers "more" with one more byte until the header is complete', () => {
    expect(codec.decode(new Uint8Array(0), 4)).toEqual({ status: 'more', needed: 1 });
    expect(codec.decode(Uint8Array.of(0x30), 4)).toEqual({ status: 'more', needed: 2 });
    expect(codec.decode(Uint8Array.of(0x30, 0x80), 4)).toEqual({ status: 'more', needed: 3 });
  });
  it('[MQTT-3.1.1 2.2.3] [MQTT-5.0 2.1.4] answers "more" with the exact total once the header is complete', () => {
    const bytes = pkt(0x30, str('t'), new Array<number>(300).fill(1));
    expect(codec.decode(Uint8Array.from(bytes.slice(0, 3)), 4)).toEqual({
      status: 'more',
      needed: bytes.length,
    });
    expect(codec.decode(Uint8Array.from(bytes.slice(0, bytes.length - 1)), 4)).toEqual({
      status: 'more',
      needed: bytes.length,
    });
  });
  it('every strict prefix of every golden vector is "more"', () => {
    for (const v of vectors) {
      for (let i = 0; i < v.bytes.length; i++) {
        const r = codec.decode(Uint8Array.from(v.bytes.slice(0, i)), v.version);
        expect(r.status, `${v.name} prefix ${i}`).toBe('more');
      }
    }
  });
  it('decodes the first packet of a buffer holding several', () => {
    const bytes = Uint8Array.from([0xc0, 0, 0xd0, 0]);
    expect(codec.decode(bytes, 4)).toEqual({ status: 'packet', packet: { cmd: 'pingreq' }, length: 2 });
  });
  it('[MQTT-3.1.1 2.2.3] [MQTT-5.0 1.5.5] rejects a remaining length of more than 4 bytes', () => {
    expectError([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 4, MALFORMED, /longer than 4 bytes/);
  });
  it('[MQTT-5.0 1.5.5-1] rejects a remaining length not in its shortest form', () => {
    expectError([0xc0, 0x80, 0x00], 5, MALFORMED, /shortest form/);
    expectError([0x30, 0x83, 0x80, 0x00, 0, 1, 0x61], 4, MALFORMED, /shortest form/);
  });
  it('accepts the largest remaining length header (268,435,455) and asks for the whole packet', () => {
    expect(codec.decode(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f), 4)).toEqual({
      status: 'more',
      needed: 268435455 + 5,
    });
  });
  it('[MQTT-5.0 3.2.2.3.6] rejects a packet over the maximum size from the fixed header alone (0x95)', () => {
    const r = codec.decode(Uint8Array.of(0x30, 0xff, 0x7f), 5, { maxPacketSize: 1000 });
    expect(r).toEqual({
      status: 'error',
      reasonCode: 0x95,
      reason: 'packet of 16386 bytes exceeds the maximum packet size',
    });
    expect(codec.decode(Uint8Array.of(0xc0, 0), 5, { maxPacketSize: 2 }).status).toBe('packet');
  });
  it('[MQTT-3.1.1 2.2.1] [MQTT-5.0 2.1.2] rejects packet type 0', () => {
    expectError([0x00, 0], 4, MALFORMED, /type 0 is reserved/);
    expectError([0x00, 0], 5, MALFORMED, /type 0 is reserved/);
  });
  it('rejects a session version other than 3, 4 or 5 (0x84)', () => {
    expectError([0xc0, 0], 6 as 5, 0x84, /not 3, 4 or 5/);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] checks reserved flags before the rest of the packet arrives', () => {
    expectError([0x60], 4, MALFORMED, /PUBREL must be 0010/);
  });
});
