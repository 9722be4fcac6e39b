import { describe, expect, it } from 'vitest';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, u16, vectorsByFamily } from './vectors.js';

describe('UNSUBACK golden vectors', () => {
  goldenVectors(vectorsByFamily.unsuback);
});

describe('UNSUBACK validation', () => {
  it('[MQTT-3.1.1 3.11.1] rejects a 3.1.1 UNSUBACK with a payload', () => {
    expectError(pkt(0xb0, u16(1), [0]), 4, MALFORMED, /after the last field of UNSUBACK/);
  });
  it('[MQTT-5.0 3.11.3-1] rejects a reason code UNSUBACK may not carry', () => {
    expectError(pkt(0xb0, u16(1), props(), [0x01]), 5, MALFORMED, /0x01 is not allowed in UNSUBACK/);
  });
  it('[MQTT-5.0 3.11.3] rejects a 5.0 UNSUBACK without reason codes', () => {
    expectError(pkt(0xb0, u16(1), props()), 5, MALFORMED, /no reason codes/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0', () => {
    expectError(pkt(0xb0, u16(0)), 4, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-5.0 3.11] a broker rejects an UNSUBACK from a client (protocol error)', () => {
    expectError(pkt(0xb0, u16(1)), 4, PROTOCOL_ERROR, /only by servers/, { fromClient: true });
  });
  it('encodes a 3.1.1 UNSUBACK without the 5.0 reason codes', () => {
    expect(Array.from(codec.encode({ cmd: 'unsuback', messageId: 9, granted: [0] }, 4))).toEqual([
      0xb0, 2, 0, 9,
    ]);
  });
});
