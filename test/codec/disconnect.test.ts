import { describe, it } from 'vitest';
import { expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, vectorsByFamily } from './vectors.js';

describe('DISCONNECT golden vectors', () => {
  goldenVectors(vectorsByFamily.disconnect);
});

describe('DISCONNECT validation', () => {
  it('[MQTT-3.1.1 3.14.1] rejects a 3.1.1 DISCONNECT with a body', () => {
    expectError([0xe0, 1, 0], 4, MALFORMED, /after the last field of DISCONNECT/);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 3.14.1-1] rejects DISCONNECT with flags set', () => {
    expectError([0xe2, 0], 5, MALFORMED, /DISCONNECT must be 0000/);
  });
  it('[MQTT-5.0 3.14.2-1] rejects a reason code DISCONNECT may not carry', () => {
    expectError([0xe0, 1, 0x84], 5, MALFORMED, /0x84 is not allowed in DISCONNECT/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property DISCONNECT may not carry', () => {
    expectError(pkt(0xe0, [0], props([0x21, ...u16(1)])), 5, MALFORMED, /0x21 is not allowed in DISCONNECT/);
  });
  it('[MQTT-5.0 3.14.2.2.3] rejects Reason String twice', () => {
    expectError(pkt(0xe0, [0], props([0x1f, ...str('a')], [0x1f, ...str('b')])), 5, PROTOCOL_ERROR, /twice/);
  });
  it('[MQTT-5.0 1.5.4-1] rejects a Reason String that is not UTF-8 (surrogate)', () => {
    expectError(pkt(0xe0, [0], props([0x1f, ...str([0xed, 0xa0, 0x80])])), 5, MALFORMED, /UTF-8/);
  });
});
