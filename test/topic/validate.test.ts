import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { parseShared, validateTopicFilter, validateTopicName } from '../../src/protocol/topic.js';
import { instantiate } from '../../src/protocol/wasm.js';

const wasm = instantiate({ memoryBytes: 64 << 20 });
const name = (t: string) => validateTopicName(t, wasm);
const filter = (f: string) => validateTopicFilter(f, wasm);
const shared = (f: string) => parseShared(f, wasm);

describe('Topic Names', () => {
  it('[MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.3-1] must be at least one character long', () => {
    expect(name('')).toMatch(/at least one character/);
    expect(name('a')).toBeNull();
  });

  it('[MQTT-5.0 4.7.0-1] [MQTT-3.1.1 4.7.1-1] must not contain wildcards', () => {
    for (const t of ['+', '#', 'a/+', 'a/#', 'a+b', 'sport/tennis#', '+/x']) {
      expect(name(t), t).toMatch(/wildcards/);
    }
  });

  it('[MQTT-5.0 4.7.3-2] [MQTT-3.1.1 4.7.3-2] must not contain U+0000', () => {
    expect(name('a\u0000b')).toMatch(/null character/);
    expect(name('\u0000')).toMatch(/null character/);
  });

  it('[MQTT-5.0 4.7.3-3] [MQTT-3.1.1 4.7.3-3] must not be longer than 65535 bytes', () => {
    expect(name('a'.repeat(65535))).toBeNull();
    expect(name('a'.repeat(65536))).toMatch(/65535/);
    // 21846 × 3 bytes = 65538 bytes of UTF-8 from a 21846-unit string.
    expect(name('€'.repeat(21846))).toMatch(/65535/);
    expect(name('€'.repeat(21845))).toBeNull();
  });

  it('accepts empty levels, spaces, $ topics and any UTF-8 [MQTT-5.0 4.7.3-4]', () => {
    for (const t of ['/', '//', '/a', 'a/', 'a//b', 'Accounts payable', '$SYS/x', 'ü/日本/🙂']) {
      expect(name(t), t).toBeNull();
    }
  });
});

describe('Topic Filters', () => {
  it('[MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.3-1] must be at least one character long', () => {
    expect(filter('')).toMatch(/at least one character/);
  });

  it('[MQTT-5.0 4.7.1-1] [MQTT-3.1.1 4.7.1-2] "#" alone in the last level', () => {
    for (const f of ['#', 'a/#', '/#', '+/#', 'a//#']) expect(filter(f), f).toBeNull();
    for (const f of ['a#', 'a/#/b', '#/', '##', 'a/b#', '#a', 'a/#/']) {
      expect(filter(f), f).toMatch(/"#"/);
    }
  });

  it('[MQTT-5.0 4.7.1-2] [MQTT-3.1.1 4.7.1-3] "+" occupies a whole level', () => {
    for (const f of ['+', '+/+', '/+', '+/', 'a/+/b', '+/tennis/#']) expect(filter(f), f).toBeNull();
    for (const f of ['a+', '+a', 'a/b+/c', '++', 'sport+', '+a/b']) expect(filter(f), f).toMatch(/"\+"/);
  });

  it('[MQTT-5.0 4.7.3-2] [MQTT-3.1.1 4.7.3-2] must not contain U+0000', () => {
    expect(filter('a/\u0000')).toMatch(/null character/);
  });

  it('[MQTT-5.0 4.7.3-3] [MQTT-3.1.1 4.7.3-3] must not be longer than 65535 bytes', () => {
    expect(filter(`${'a/'.repeat(32766)}#`)).toBeNull(); // 65533 bytes, 32767 levels
    expect(filter('+/'.repeat(32768))).toMatch(/65535/);
  });
});

describe('$share parsing', () => {
  it('returns null for non-shared filters', () => {
    for (const f of ['a/b', '$share', '$sharex/g/f', '$SHARE/g/f', '#']) expect(shared(f), f).toBeNull();
  });

  it('[MQTT-5.0 4.8.2-1] [MQTT-5.0 4.8.2-2] splits the ShareName and the filter', () => {
    expect(shared('$share/consumer1/sport/tennis/+')).toEqual({
      group: 'consumer1',
      filter: 'sport/tennis/+',
    });
    expect(shared('$share/consumer1//finance')).toEqual({ group: 'consumer1', filter: '/finance' });
    expect(shared('$share/g/#')).toEqual({ group: 'g', filter: '#' });
    expect(shared('$share/日本/a')).toEqual({ group: '日本', filter: 'a' });
  });

  it('[MQTT-5.0 4.8.2-1] the ShareName is at least one character long', () => {
    for (const f of ['$share/', '$share//a']) expect(() => shared(f), f).toThrow(/at least one character/);
  });

  it('[MQTT-5.0 4.8.2-2] the ShareName has no "+" or "#"', () => {
    for (const f of ['$share/a+/x', '$share/+/x', '$share/#/x', '$share/g#']) {
      expect(() => shared(f), f).toThrow(/must not contain "\+" or "#"/);
    }
  });

  it('[MQTT-5.0 4.8.2-2] the ShareName is followed by "/" and a Topic Filter', () => {
    for (const f of ['$share/g', '$share/g/']) expect(() => shared(f), f).toThrow(/followed by "\/"/);
  });

  it('[MQTT-5.0 4.7.1-1] [MQTT-5.0 4.7.1-2] the filter after the ShareName is validated', () => {
    expect(() => shared('$share/g/a#')).toThrow(/"#"/);
    expect(() => shared('$share/g/a+')).toThrow(/"\+"/);
  });

  it('throws WeirError ERR_TOPIC', () => {
    try {
      shared('$share//x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WeirError);
      expect((e as WeirError).code).toBe('ERR_TOPIC');
    }
  });
});
