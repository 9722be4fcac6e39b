import { describe, it } from 'vitest';
import { expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, vectorsByFamily } from './vectors.js';

describe('SUBACK golden vectors', () => {
  goldenVectors(vectorsByFamily.suback);
});

describe('SUBACK validation', () => {
  it('[MQTT-3.1.1 3.9.3-2] rejects a 3.1.1 return code other than 0x00-0x02 / 0x80', () => {
    expectError(pkt(0x90, u16(1), [3]), 4, MALFORMED, /reason code 0x03 is not allowed in SUBACK/);
    expectError(pkt(0x90, u16(1), [0x87]), 4, MALFORMED);
  });
  it('[MQTT-5.0 3.9.3-1] rejects a reason code SUBACK may not carry', () => {
    expectError(pkt(0x90, u16(1), props(), [0x11]), 5, MALFORMED, /0x11 is not allowed in SUBACK/);
  });
  it('[MQTT-3.1.1 3.9.3] [MQTT-5.0 3.9.3] rejects a SUBACK without reason codes', () => {
    expectError(pkt(0x90, u16(1)), 4, MALFORMED, /no reason codes/);
    expectError(pkt(0x90, u16(1), props()), 5, MALFORMED, /no reason codes/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0', () => {
    expectError(pkt(0x90, u16(0), [0]), 4, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property SUBACK may not carry', () => {
    expectError(pkt(0x90, u16(1), props([0x0b, 1]), [0]), 5, MALFORMED, /0x0B is not allowed in SUBACK/);
  });
  it('[MQTT-5.0 3.9.2.1.2] rejects Reason String twice', () => {
    expectError(pkt(0x90, u16(1), props([0x1f, ...str('')], [0x1f, ...str('')]), [0]), 5, PROTOCOL_ERROR);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] rejects SUBACK with flags set', () => {
    expectError(pkt(0x92, u16(1), [0]), 4, MALFORMED, /SUBACK must be 0000/);
  });
  it('[MQTT-5.0 3.9] a broker rejects a SUBACK from a client (protocol error)', () => {
    expectError(pkt(0x90, u16(1), [0]), 4, PROTOCOL_ERROR, /only by servers/, { fromClient: true });
  });
});
