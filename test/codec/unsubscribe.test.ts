import { describe, expect, it } from 'vitest';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, vectorsByFamily } from './vectors.js';

describe('UNSUBSCRIBE golden vectors', () => {
  goldenVectors(vectorsByFamily.unsubscribe);
});

describe('UNSUBSCRIBE validation', () => {
  it('[MQTT-3.1.1 3.10.1-1] [MQTT-5.0 3.10.1-1] rejects UNSUBSCRIBE whose reserved flags are not 0010', () => {
    expectError(pkt(0xa0, u16(1), str('a')), 4, MALFORMED, /UNSUBSCRIBE must be 0010/);
  });
  it('[MQTT-3.1.1 3.10.3-2] [MQTT-5.0 3.10.3-2] rejects UNSUBSCRIBE without filters', () => {
    expectError(pkt(0xa2, u16(1)), 4, PROTOCOL_ERROR, /no topic filters/);
    expectError(pkt(0xa2, u16(1), props()), 5, PROTOCOL_ERROR, /no topic filters/);
  });
  it('[MQTT-3.1.1 4.7.3-1] [MQTT-5.0 4.7.3-1] rejects an empty topic filter', () => {
    expectError(pkt(0xa2, u16(1), str('')), 4, MALFORMED, /empty topic filter/);
  });
  it('[MQTT-3.1.1 3.10.3-1] [MQTT-5.0 3.10.3-1] rejects a filter that is not UTF-8', () => {
    expectError(pkt(0xa2, u16(1), str([0xff])), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0', () => {
    expectError(pkt(0xa2, u16(0), str('a')), 4, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property UNSUBSCRIBE may not carry (Subscription Identifier)', () => {
    expectError(
      pkt(0xa2, u16(1), props([0x0b, 1]), str('a')),
      5,
      MALFORMED,
      /0x0B is not allowed in UNSUBSCRIBE/,
    );
  });
  it('[MQTT-5.0 3.10.3] rejects a filter cut short by the end of the packet', () => {
    expectError(pkt(0xa2, u16(1), [0, 5, 0x61]), 4, MALFORMED, /ends inside a field/);
  });
  it('refuses to encode an UNSUBSCRIBE without filters', () => {
    expect(() => codec.encode({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: [] }, 4)).toThrow(/list/i);
  });
});
