// UTF-8 Encoded Strings as every string field of every packet checks them
// ([MQTT-3.1.1 1.5.3-1/2], [MQTT-5.0 1.5.4-1/2]), exercised through the PUBLISH topic.
import { describe, expect, it } from 'vitest';
import { codec, expectError, MALFORMED } from './helpers.js';
import { pkt, str } from './vectors.js';

const topic = (bytes: number[]) => pkt(0x30, str(bytes));

describe('UTF-8 Encoded Strings', () => {
  it('[MQTT-3.1.1 1.5.3-1] [MQTT-5.0 1.5.4-1] accepts 1- to 4-byte characters at the range edges', () => {
    for (const s of [
      'a',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\uffff',
      '\u{10000}',
      '\u{10ffff}',
      'ü/日本/😀',
    ]) {
      const r = codec.decode(Uint8Array.from(topic([...Buffer.from(s)])), 4);
      expect(r.status === 'packet' && r.packet.cmd === 'publish' && r.packet.topic).toBe(s);
    }
  });
  it('[MQTT-3.1.1 1.5.3-1] [MQTT-5.0 1.5.4-1] rejects overlong encodings', () => {
    expectError(topic([0xc0, 0xaf]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xc1, 0xbf]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xe0, 0x9f, 0xbf]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xf0, 0x8f, 0xbf, 0xbf]), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 1.5.3-1] [MQTT-5.0 1.5.4-1] rejects surrogates U+D800..U+DFFF', () => {
    expectError(topic([0xed, 0xa0, 0x80]), 5, MALFORMED, /UTF-8/);
    expectError(topic([0xed, 0xbf, 0xbf]), 5, MALFORMED, /UTF-8/);
  });
  it('[MQTT-5.0 1.5.4-1] rejects code points above U+10FFFF and bytes F5..FF', () => {
    expectError(topic([0xf4, 0x90, 0x80, 0x80]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xf5, 0x80, 0x80, 0x80]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xff]), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-5.0 1.5.4-1] rejects truncated sequences and stray continuation bytes', () => {
    expectError(topic([0xe2, 0x82]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0x80]), 4, MALFORMED, /UTF-8/);
    expectError(topic([0xe2, 0x28, 0xa1]), 4, MALFORMED, /UTF-8/);
  });
  it('[MQTT-3.1.1 1.5.3-2] [MQTT-5.0 1.5.4-2] rejects U+0000', () => {
    expectError(topic([0x00]), 4, MALFORMED, /U\+0000/);
  });
  it('[MQTT-5.0 1.5.4-1] refuses to encode a string with a lone surrogate', () => {
    expect(() =>
      codec.encode(
        { cmd: 'publish', topic: 'a\ud800', payload: new Uint8Array(0), qos: 0, dup: false, retain: false },
        4,
      ),
    ).toThrow(/lone surrogate/);
  });
});
