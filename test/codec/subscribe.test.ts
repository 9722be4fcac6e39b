import { describe, expect, it } from 'vitest';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { pkt, props, str, u16, vbi, vectorsByFamily } from './vectors.js';

describe('SUBSCRIBE golden vectors', () => {
  goldenVectors(vectorsByFamily.subscribe);
});

describe('SUBSCRIBE validation', () => {
  it('[MQTT-3.1.1 3.8.1-1] [MQTT-5.0 3.8.1-1] rejects SUBSCRIBE whose reserved flags are not 0010', () => {
    expectError(pkt(0x80, u16(1), str('a'), [0]), 4, MALFORMED, /SUBSCRIBE must be 0010/);
    expectError(pkt(0x83, u16(1), props(), str('a'), [0]), 5, MALFORMED, /SUBSCRIBE must be 0010/);
  });
  it('[MQTT-3.1.1 3.8.3-3] [MQTT-5.0 3.8.3-2] rejects SUBSCRIBE without filters', () => {
    expectError(pkt(0x82, u16(1)), 4, PROTOCOL_ERROR, /no topic filters/);
    expectError(pkt(0x82, u16(1), props()), 5, PROTOCOL_ERROR, /no topic filters/);
  });
  it('[MQTT-3.1.1 3.8.3-4] rejects reserved bits of the 3.1.1 requested QoS byte', () => {
    expectError(pkt(0x82, u16(1), str('a'), [0x04]), 4, MALFORMED, /subscription options/);
  });
  it('[MQTT-5.0 3.8.3-5] rejects reserved bits 6-7 of the subscription options', () => {
    expectError(pkt(0x82, u16(1), props(), str('a'), [0x40]), 5, MALFORMED, /subscription options/);
  });
  it('[MQTT-3.1.1 3.8.3-4] [MQTT-5.0 3.8.3.1] rejects QoS 3 in the subscription options', () => {
    expectError(pkt(0x82, u16(1), str('a'), [3]), 4, MALFORMED, /QoS 3/);
    expectError(pkt(0x82, u16(1), props(), str('a'), [3]), 5, PROTOCOL_ERROR, /QoS 3/);
  });
  it('[MQTT-5.0 3.8.3.1] rejects Retain Handling 3', () => {
    expectError(pkt(0x82, u16(1), props(), str('a'), [0x30]), 5, PROTOCOL_ERROR, /retain handling/);
  });
  it('[MQTT-5.0 3.8.3-4] rejects No Local on a shared subscription', () => {
    expectError(pkt(0x82, u16(1), props(), str('$share/g/a'), [0x04]), 5, PROTOCOL_ERROR, /shared/);
  });
  it('[MQTT-3.1.1 4.7.3-1] [MQTT-5.0 4.7.3-1] rejects an empty topic filter', () => {
    expectError(pkt(0x82, u16(1), str(''), [0]), 4, MALFORMED, /empty topic filter/);
  });
  it('[MQTT-3.1.1 3.8.3-1] [MQTT-5.0 3.8.3-1] rejects a filter that is not UTF-8 (overlong)', () => {
    expectError(pkt(0x82, u16(1), str([0xe0, 0x80, 0xaf]), [0]), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0', () => {
    expectError(pkt(0x82, u16(0), str('a'), [0]), 4, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-3.1.1 3.8.3] rejects a filter without its options byte', () => {
    expectError(pkt(0x82, u16(1), str('a')), 4, MALFORMED, /ends inside a field/);
  });
  it('[MQTT-5.0 3.8.2.1.2] rejects Subscription Identifier 0', () => {
    expectError(pkt(0x82, u16(1), props([0x0b, 0]), str('a'), [0]), 5, PROTOCOL_ERROR, /0x0B/);
  });
  it('[MQTT-5.0 3.8.2.1.2] rejects two Subscription Identifiers', () => {
    expectError(pkt(0x82, u16(1), props([0x0b, 1], [0x0b, 2]), str('a'), [0]), 5, PROTOCOL_ERROR, /twice/);
  });
  it('[MQTT-5.0 1.5.5-1] rejects a Subscription Identifier not in its shortest form', () => {
    expectError(pkt(0x82, u16(1), props([0x0b, 0x81, 0x00]), str('a'), [0]), 5, MALFORMED, /shortest form/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a Subscription Identifier of 5 bytes', () => {
    expectError(pkt(0x82, u16(1), props([0x0b, 0xff, 0xff, 0xff, 0xff, 0x7f]), str('a'), [0]), 5, MALFORMED);
  });
  it('accepts the largest Subscription Identifier, 268,435,455', () => {
    const r = codec.decode(
      Uint8Array.from(pkt(0x82, u16(1), props([0x0b, ...vbi(268435455)]), str('a'), [0])),
      5,
    );
    expect(r.status === 'packet' && r.packet.cmd === 'subscribe' && r.packet.properties).toEqual({
      subscriptionIdentifiers: [268435455],
    });
  });
  it('encodes 3.1.1 subscriptions without the 5.0 options', () => {
    const bytes = codec.encode(
      { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1, nl: true, rh: 2 }] },
      4,
    );
    expect(Array.from(bytes)).toEqual(pkt(0x82, u16(1), str('a'), [1]));
  });
});
