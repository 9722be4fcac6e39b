import { describe, expect, it } from 'vitest';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, up, vectorsByFamily } from './vectors.js';

describe('PUBACK / PUBREC / PUBREL / PUBCOMP golden vectors', () => {
  goldenVectors(vectorsByFamily.ack);
});

describe('ack validation', () => {
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] rejects PUBREL whose reserved flags are not 0010', () => {
    expectError([0x60, 2, 0, 1], 4, MALFORMED, /reserved flag bits of PUBREL must be 0010/);
    expectError([0x63, 2, 0, 1], 5, MALFORMED, /PUBREL must be 0010/);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] rejects PUBACK, PUBREC, PUBCOMP with flags set', () => {
    expectError([0x41, 2, 0, 1], 4, MALFORMED, /PUBACK must be 0000/);
    expectError([0x52, 2, 0, 1], 5, MALFORMED, /PUBREC must be 0000/);
    expectError([0x78, 2, 0, 1], 4, MALFORMED, /PUBCOMP must be 0000/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0', () => {
    expectError([0x40, 2, 0, 0], 4, MALFORMED, /packet identifier 0/);
    expectError([0x50, 2, 0, 0], 5, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-3.1.1 3.4.1] rejects a 3.1.1 PUBACK with a remaining length other than 2', () => {
    expectError([0x40, 3, 0, 1, 0], 4, MALFORMED, /after the last field/);
    expectError([0x40, 1, 0], 4, MALFORMED, /ends inside a field/);
  });
  it('[MQTT-5.0 3.4.2-1] rejects a PUBACK reason code that PUBACK may not carry', () => {
    expectError([0x40, 3, 0, 1, 0x92], 5, MALFORMED, /0x92 is not allowed in PUBACK/);
  });
  it('[MQTT-5.0 3.6.2-1] rejects a PUBREL reason code other than 0x00 / 0x92', () => {
    expectError([0x62, 3, 0, 1, 0x10], 5, MALFORMED, /not allowed in PUBREL/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property that acks may not carry', () => {
    expectError(
      pkt(0x40, u16(1), [0], props([0x11, 0, 0, 0, 1])),
      5,
      MALFORMED,
      /0x11 is not allowed in PUBACK/,
    );
  });
  it('[MQTT-5.0 3.4.2.2.2] rejects Reason String twice', () => {
    expectError(pkt(0x40, u16(1), [0], props([0x1f, ...str('a')], [0x1f, ...str('a')])), 5, PROTOCOL_ERROR);
  });
  it('[MQTT-5.0 3.4.2.2] rejects bytes after the property block', () => {
    expectError(pkt(0x40, u16(1), [0], props(up('a', 'b')), [0]), 5, MALFORMED, /after the last field/);
  });
  it('encodes a v5 ack without reasonCode as the shortest form (reasonCode 0)', () => {
    expect(Array.from(codec.encode({ cmd: 'puback', messageId: 1 }, 5))).toEqual([0x40, 2, 0, 1]);
  });
  it('[MQTT-5.0 3.4.2-1] refuses to encode a reason code PUBACK may not carry', () => {
    expect(() => codec.encode({ cmd: 'puback', messageId: 1, reasonCode: 0x92 }, 5)).toThrow(/0x92/);
  });
  it('[MQTT-3.1.1 2.3.1-1] refuses to encode packet identifier 0', () => {
    expect(() => codec.encode({ cmd: 'pubrel', messageId: 0 }, 4)).toThrow(/messageId/);
  });
});

describe('ack hot path (encodeAckAt, encodeInto)', () => {
  const out = codec.wasm.reserve(64, 'ack test output');
  const bytesAt = (n: number) => Array.from(codec.wasm.u8.subarray(out, out + n));

  it('writes the shortest v5 PUBACK and a v5 PUBREC with a reason code', () => {
    expect(bytesAt(codec.encodeAckAt(out, 64, 5, 4, 258))).toEqual([0x40, 2, 1, 2]);
    expect(bytesAt(codec.encodeAckAt(out, 64, 5, 5, 3, 0x10))).toEqual([0x50, 3, 0, 3, 0x10]);
    expect(bytesAt(codec.encodeAckAt(out, 64, 4, 6, 3))).toEqual([0x62, 2, 0, 3]);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] refuses packet identifier 0; reports the room needed', () => {
    expect(codec.encodeAckAt(out, 64, 5, 4, 0)).toBe(-1);
    expect(codec.encodeErrorReason()).toMatch(/packet_id/);
    expect(codec.encodeAckAt(out, 3, 5, 5, 3, 0x10)).toBe(-5);
  });
  it('encodeInto writes a readable packet into WASM memory, or says how much room it needs', () => {
    const n = codec.encodeInto({ cmd: 'pubcomp', messageId: 7, reasonCode: 0x92 }, 5, out, 64);
    expect(bytesAt(n)).toEqual([0x70, 3, 0, 7, 0x92]);
    expect(codec.encodeInto({ cmd: 'pubcomp', messageId: 7, reasonCode: 0x92 }, 5, out, 4)).toBe(-5);
  });
});
