import { describe, expect, it } from 'vitest';
import { Codec } from '../../src/protocol/codec.js';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { Rec } from '../../src/protocol/record.js';
import { instantiate } from '../../src/protocol/wasm.js';
import { codec, expectError, goldenVectors, MALFORMED, PROTOCOL_ERROR } from './helpers.js';
import { b, pkt, props, str, u16, u32, up, vbi, vectorsByFamily } from './vectors.js';

describe('PUBLISH golden vectors', () => {
  goldenVectors(vectorsByFamily.publish);
});

describe('PUBLISH validation', () => {
  it('[MQTT-3.1.1 3.3.1-4] [MQTT-5.0 3.3.1-4] rejects QoS 3', () => {
    expectError(pkt(0x36, str('t'), u16(1)), 4, MALFORMED, /QoS 3/);
    expectError(pkt(0x36, str('t'), u16(1), props()), 5, MALFORMED, /QoS 3/);
  });
  it('[MQTT-3.1.1 3.3.1-2] [MQTT-5.0 3.3.1-2] rejects DUP on QoS 0', () => {
    expectError(pkt(0x38, str('t')), 4, MALFORMED, /DUP/);
  });
  it('[MQTT-3.1.1 3.3.2-2] [MQTT-5.0 3.3.2-2] rejects wildcards in the topic name (0x90)', () => {
    expectError(pkt(0x30, str('a/+')), 4, 0x90, /wildcard/);
    expectError(pkt(0x30, str('a/#'), props()), 5, 0x90, /wildcard/);
  });
  it('[MQTT-3.1.1 4.7.3-1] rejects an empty topic name in 3.1.1', () => {
    expectError(pkt(0x30, str('')), 4, PROTOCOL_ERROR, /empty topic/);
  });
  it('[MQTT-5.0 3.3.2.3.4] rejects an empty topic name without a Topic Alias', () => {
    expectError(pkt(0x30, str(''), props()), 5, PROTOCOL_ERROR, /empty topic/);
  });
  it('[MQTT-3.1.1 2.3.1-1] [MQTT-5.0 2.2.1-3] rejects packet identifier 0 at QoS > 0', () => {
    expectError(pkt(0x32, str('t'), u16(0)), 4, MALFORMED, /packet identifier 0/);
  });
  it('[MQTT-3.1.1 3.3.2-1] [MQTT-5.0 1.5.4-1] rejects a topic that is not UTF-8 (above U+10FFFF)', () => {
    expectError(pkt(0x30, str([0xf4, 0x90, 0x80, 0x80])), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 1.5.3-1] [MQTT-5.0 1.5.4-1] rejects a topic with a UTF-16 surrogate', () => {
    expectError(pkt(0x30, str([0xed, 0xb0, 0x80])), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 1.5.3-2] [MQTT-5.0 1.5.4-2] rejects a topic with U+0000', () => {
    expectError(pkt(0x30, str([0x61, 0x00])), 4, MALFORMED, /U\+0000/);
  });
  it('[MQTT-5.0 3.3.4-6] a broker rejects a PUBLISH from a client with a Subscription Identifier', () => {
    expectError(pkt(0x30, str('t'), props([0x0b, 1])), 5, PROTOCOL_ERROR, /subscription identifier/, {
      fromClient: true,
    });
  });
  it('[MQTT-5.0 3.3.4-3] accepts several Subscription Identifiers from a server, not from a client', () => {
    const bytes = pkt(0x30, str('t'), props([0x0b, 1], [0x0b, 2]));
    expect(codec.decode(Uint8Array.from(bytes), 5).status).toBe('packet');
    expectError(bytes, 5, PROTOCOL_ERROR, /twice/, { fromClient: true });
  });
  it('[MQTT-5.0 3.3.2.3.8] rejects Subscription Identifier 0', () => {
    expectError(pkt(0x30, str('t'), props([0x0b, 0])), 5, PROTOCOL_ERROR, /0x0B/);
  });
  it('[MQTT-5.0 3.3.2-8] rejects Topic Alias 0 as Topic Alias invalid (0x94, MQTT 5.0 §3.3.2.3.4)', () => {
    expectError(pkt(0x30, str('t'), props([0x23, ...u16(0)])), 5, 0x94, /Topic Alias 0/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects Topic Alias twice', () => {
    expectError(
      pkt(0x30, str('t'), props([0x23, ...u16(1)], [0x23, ...u16(2)])),
      5,
      PROTOCOL_ERROR,
      /0x23 appears twice/,
    );
  });
  it('[MQTT-5.0 3.3.2.3.2] rejects Payload Format Indicator 2', () => {
    expectError(pkt(0x30, str('t'), props([0x01, 2])), 5, PROTOCOL_ERROR, /0x01/);
  });
  it('[MQTT-5.0 3.3.2-14] rejects a Response Topic with a wildcard', () => {
    expectError(pkt(0x30, str('t'), props([0x08, ...str('r/#')])), 5, PROTOCOL_ERROR, /response topic/);
  });
  it('[MQTT-5.0 2.2.2.2] rejects a property PUBLISH may not carry', () => {
    expectError(
      pkt(0x30, str('t'), props([0x11, ...u32(1)])),
      5,
      MALFORMED,
      /0x11 is not allowed in PUBLISH/,
    );
  });
  it('[MQTT-5.0 3.3.2.3.2] rejects a non-UTF-8 payload marked UTF-8 when asked to check (0x99)', () => {
    const bytes = pkt(0x30, str('t'), props([0x01, 1]), [0xff]);
    expectError(bytes, 5, 0x99, /payload/, { validatePayloadUtf8: true });
    expect(codec.decode(Uint8Array.from(bytes), 5).status).toBe('packet');
    const ok = pkt(0x30, str('t'), props([0x01, 1]), [...b('ü')]);
    expect(codec.decode(Uint8Array.from(ok), 5, { validatePayloadUtf8: true }).status).toBe('packet');
    // U+0000 is well-formed UTF-8: the U+0000 rule [MQTT-5.0 1.5.4-2] is for strings, not payloads.
    const nul = pkt(0x30, str('t'), props([0x01, 1]), [0x61, 0x00, 0x62]);
    expect(codec.decode(Uint8Array.from(nul), 5, { validatePayloadUtf8: true }).status).toBe('packet');
  });
});

describe('PUBLISH hot path (decodeAt, view, encodePublishFrom)', () => {
  const wasm = instantiate({ memoryBytes: 16 << 20 });
  const hot = new Codec(wasm);
  const input = wasm.reserve(4096, 'test input');
  const out = wasm.reserve(4096, 'test output');
  const put = (bytes: number[]): number => {
    wasm.u8.set(bytes, input);
    return bytes.length;
  };
  const source = pkt(
    0x3b,
    str('s/t'),
    u16(7),
    props([0x01, 1], [0x02, ...u32(30)], [0x08, ...str('r')], [0x23, ...u16(4)], up('a', '1'), up('b', '2')),
    [...b('body')],
  );

  it('decodes in place: the view points into the input, nothing is copied', () => {
    const n = put(source);
    expect(hot.decodeAt(input, n, 5, { fromClient: true })).toBe(n);
    const v = hot.view;
    expect([v.type, v.qos, v.dup, v.retain, v.packetId, v.totalLength]).toEqual([3, 1, true, true, 7, n]);
    expect(v.topicPtr).toBe(input + 2 + 2);
    expect(Buffer.from(wasm.u8.subarray(v.topicPtr, v.topicPtr + v.topicLen)).toString()).toBe('s/t');
    expect(Buffer.from(wasm.u8.subarray(v.payloadPtr, v.payloadPtr + v.payloadLen)).toString()).toBe('body');
    expect(v.hasProperty(0x23)).toBe(true);
    expect(v.propertyValue(0x23)).toBe(4);
    expect(v.propertyValue(0x02)).toBe(30);
    expect(v.hasProperty(0x03)).toBe(false);
    expect(v.userPropertyCount).toBe(2);
    expect(wasm.view.getUint32(v.record + Rec.WIRE_FLAGS, true) & 2).toBe(2);
  });

  it('re-encodes for a subscriber with new QoS, id, flags, alias, expiry and subscription ids', () => {
    const n = put(source);
    expect(hot.decodeAt(input, n, 5, { fromClient: true })).toBe(n);
    const len = hot.encodePublishFrom(out, 4096, 5, {
      qos: 2,
      packetId: 99,
      retain: false,
      topicAlias: 2,
      messageExpiry: 12,
      subscriptionIdentifiers: [5, 300],
    });
    expect(len).toBeGreaterThan(0);
    const expected = pkt(
      0x34,
      str('s/t'),
      u16(99),
      props(
        [0x01, 1],
        [0x02, ...u32(12)],
        [0x08, ...str('r')],
        [0x0b, ...vbi(5)],
        [0x0b, ...vbi(300)],
        [0x23, ...u16(2)],
        up('a', '1'),
        up('b', '2'),
      ),
      [...b('body')],
    );
    expect(Array.from(wasm.u8.subarray(out, out + len))).toEqual(expected);
    // The source record is untouched: a second subscriber gets its own packet.
    const len2 = hot.encodePublishFrom(out, 4096, 4, { qos: 0, retain: true });
    expect(Array.from(wasm.u8.subarray(out, out + len2))).toEqual(pkt(0x31, str('s/t'), [...b('body')]));
  });

  it('omits the topic when the subscriber has the alias, and keeps the expiry when not overridden', () => {
    const n = put(source);
    hot.decodeAt(input, n, 5);
    const len = hot.encodePublishFrom(out, 4096, 5, { qos: 0, topicAlias: 1, omitTopic: true });
    const r = codec.decode(wasm.u8.slice(out, out + len), 5);
    expect(r.status).toBe('packet');
    const p = (r as { packet: PublishPacket }).packet;
    expect(p.topic).toBe('');
    expect(p.properties?.topicAlias).toBe(1);
    expect(p.properties?.messageExpiryInterval).toBe(30);
    expect(p.properties?.userProperties).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('reports the size needed when the output is too small, and -1 for an invalid override', () => {
    const n = put(source);
    hot.decodeAt(input, n, 5);
    const need = hot.encodePublishFrom(out, 4096, 5, { qos: 1, packetId: 3 });
    expect(hot.encodePublishFrom(out, need - 1, 5, { qos: 1, packetId: 3 })).toBe(-need);
    expect(hot.encodePublishFrom(out, 4096, 5, { qos: 1 })).toBe(-1);
    expect(hot.forwardErrorReason()).toMatch(/packet_id/);
    expect(hot.encodePublishFrom(out, 4096, 5, { qos: 0, subscriptionIdentifiers: [0] })).toBe(-1);
  });

  it('[MQTT-3.1.1 4.7.3-1] refuses to forward with an empty topic to a 3.1.1 subscriber', () => {
    const n = put(source);
    hot.decodeAt(input, n, 5);
    expect(hot.encodePublishFrom(out, 4096, 4, { qos: 0, topicAlias: 1, omitTopic: true })).toBe(-1);
    expect(hot.forwardErrorReason()).toMatch(/empty topic/);
    expect(hot.encodePublishFrom(out, 4096, 5, { qos: 0, omitTopic: true })).toBe(-1);
  });

  it('[MQTT-3.1.1 3.3.1-2] [MQTT-5.0 3.3.1-2] refuses DUP on a QoS 0 forward', () => {
    const n = put(source);
    hot.decodeAt(input, n, 5);
    expect(hot.encodePublishFrom(out, 4096, 5, { qos: 0, dup: true })).toBe(-1);
    expect(hot.forwardErrorReason()).toMatch(/DUP/);
  });

  it('never traps on an address outside the memory', () => {
    expect(hot.decodeAt(wasm.u8.length - 2, 10, 5)).toBe(-0x80);
    expect(hot.errorReason()).toMatch(/not inside the WASM memory/);
  });

  it('answers "need more" with the exact total once the fixed header is complete', () => {
    const n = put(source);
    expect(hot.decodeAt(input, 1, 5)).toBe(0);
    expect(hot.view.needed).toBe(2);
    expect(hot.decodeAt(input, 5, 5)).toBe(0);
    expect(hot.view.needed).toBe(n);
  });
});
