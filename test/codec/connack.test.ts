import { describe, it } from 'vitest';
import { expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, vectorsByFamily } from './vectors.js';

describe('CONNACK golden vectors', () => {
  goldenVectors(vectorsByFamily.connack);
});

describe('CONNACK validation', () => {
  it('[MQTT-3.1.1 3.2.2-1] [MQTT-5.0 3.2.2-1] rejects reserved acknowledge flag bits', () => {
    expectError([0x20, 2, 2, 0], 4, MALFORMED, /CONNACK flags/);
    expectError([0x20, 3, 0x80, 0, 0], 5, MALFORMED, /CONNACK flags/);
  });
  it('[MQTT-3.1.1 3.2.3] rejects a reserved 3.1.1 return code', () => {
    expectError([0x20, 2, 0, 6], 4, MALFORMED, /return code 6/);
  });
  it('[MQTT-5.0 3.2.2-8] rejects a reason code that CONNACK may not carry', () => {
    expectError([0x20, 3, 0, 0x10, 0], 5, MALFORMED, /0x10 is not allowed in CONNACK/);
  });
  it('[MQTT-3.1.1 3.2.2-4] [MQTT-5.0 3.2.2-6] rejects Session Present on a refused connection', () => {
    expectError([0x20, 2, 1, 5], 4, PROTOCOL_ERROR, /session present/);
    expectError([0x20, 3, 1, 0x87, 0], 5, PROTOCOL_ERROR, /session present/);
  });
  it('[MQTT-3.1.1 3.2] rejects a 3.1.1 CONNACK longer than 2 bytes', () => {
    expectError([0x20, 3, 0, 0, 0], 4, MALFORMED, /after the last field/);
  });
  it('[MQTT-5.0 3.2.2.3] rejects a 5.0 CONNACK without its property length', () => {
    expectError([0x20, 2, 0, 0], 5, MALFORMED, /ends inside a field/);
  });
  it('[MQTT-5.0 3.2.2.3.4] rejects Maximum QoS 2', () => {
    expectError(pkt(0x20, [0, 0], props([0x24, 2])), 5, PROTOCOL_ERROR, /0x24/);
  });
  it('[MQTT-5.0 3.2.2.3.5] rejects Retain Available 2', () => {
    expectError(pkt(0x20, [0, 0], props([0x25, 2])), 5, PROTOCOL_ERROR, /0x25/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects Reason String twice', () => {
    expectError(
      pkt(0x20, [0, 0], props([0x1f, ...str('a')], [0x1f, ...str('b')])),
      5,
      PROTOCOL_ERROR,
      /twice/,
    );
  });
  it('[MQTT-5.0 2.2.2.2] rejects Topic Alias in CONNACK', () => {
    expectError(pkt(0x20, [0, 0], props([0x23, ...u16(1)])), 5, MALFORMED, /not allowed in CONNACK/);
  });
  it('[MQTT-5.0 3.2] a broker rejects a CONNACK from a client (protocol error)', () => {
    expectError([0x20, 3, 0, 0, 0], 5, PROTOCOL_ERROR, /only by servers/, { fromClient: true });
  });
});
