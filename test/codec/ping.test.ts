import { describe, it } from 'vitest';
import { expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { vectorsByFamily } from './vectors.js';

describe('PINGREQ / PINGRESP golden vectors', () => {
  goldenVectors(vectorsByFamily.ping);
});

describe('ping validation', () => {
  it('[MQTT-3.1.1 3.12.1] [MQTT-5.0 3.12.1] rejects a PINGREQ with a body', () => {
    expectError([0xc0, 1, 0], 4, MALFORMED, /after the last field of PINGREQ/);
    expectError([0xd0, 1, 0], 5, MALFORMED, /after the last field of PINGRESP/);
  });
  it('[MQTT-3.1.1 2.2.2-2] [MQTT-5.0 2.1.3-1] rejects PINGREQ with flags set', () => {
    expectError([0xc1, 0], 4, MALFORMED, /PINGREQ must be 0000/);
  });
  it('[MQTT-5.0 3.13] a broker rejects a PINGRESP from a client (protocol error)', () => {
    expectError([0xd0, 0], 4, PROTOCOL_ERROR, /only by servers/, { fromClient: true });
  });
});
