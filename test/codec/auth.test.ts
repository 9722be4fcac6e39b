import { describe, it } from 'vitest';
import { expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, vectorsByFamily } from './vectors.js';

describe('AUTH golden vectors', () => {
  goldenVectors(vectorsByFamily.auth);
});

describe('AUTH validation', () => {
  it('[MQTT-3.1.1 2.2.1] rejects packet type 15 in 3.1.1 (reserved)', () => {
    expectError([0xf0, 0], 4, MALFORMED, /type 15 is reserved/);
  });
  it('[MQTT-5.0 3.15.1-1] rejects AUTH with flags set', () => {
    expectError([0xf1, 0], 5, MALFORMED, /AUTH must be 0000/);
  });
  it('[MQTT-5.0 3.15.2-1] rejects a reason code AUTH may not carry', () => {
    expectError([0xf0, 1, 0x87], 5, MALFORMED, /0x87 is not allowed in AUTH/);
  });
  it('[MQTT-5.0 3.15.2.2.2] rejects Authentication Method twice', () => {
    expectError(
      pkt(0xf0, [0x18], props([0x15, ...str('a')], [0x15, ...str('a')])),
      5,
      PROTOCOL_ERROR,
      /0x15 appears twice/,
    );
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property AUTH may not carry', () => {
    expectError(pkt(0xf0, [0x18], props([0x01, 1])), 5, MALFORMED, /0x01 is not allowed in AUTH/);
  });
});
