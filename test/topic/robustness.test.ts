import { describe, expect, it } from 'vitest';
import { SubscriptionIndex, TopicStatus } from '../../src/protocol/topic.js';
import { instantiate } from '../../src/protocol/wasm.js';
import { prng } from '../helpers/prng.js';

// The raw exports, as a shard calls them. A trap would surface here as a WebAssembly.RuntimeError.
interface Raw {
  topicValidateName(ptr: number, len: number): number;
  topicValidateFilter(ptr: number, len: number): number;
  topicParseShared(ptr: number, len: number): number;
  topicIndexAdd(id: number, ptr: number, len: number, h: number, o: number, s: number, g: number): number;
  topicIndexRemove(id: number, ptr: number, len: number, h: number, g: number): number;
  topicIndexMatch(id: number, ptr: number, len: number, out: number, cap: number): number;
  topicAlloc(size: number): number;
}

describe('topic matcher robustness (never traps)', () => {
  const bytes = 16 << 20;
  const wasm = instantiate({ memoryBytes: bytes });
  const x = wasm.exports as unknown as Raw;
  const idx = new SubscriptionIndex(wasm);
  const buf = x.topicAlloc(1 << 17);
  const out = x.topicAlloc(1 << 16);

  it('reports bytes outside the memory instead of trapping', () => {
    for (const [ptr, len] of [
      [bytes - 4, 8],
      [bytes, 1],
      [0xffffffff, 65535],
      [bytes - 1, 65535],
    ] as const) {
      expect(x.topicValidateName(ptr, len)).toBe(TopicStatus.OUT_OF_BOUNDS);
      expect(x.topicValidateFilter(ptr, len)).toBe(TopicStatus.OUT_OF_BOUNDS);
      expect(x.topicParseShared(ptr, len)).toBe(-TopicStatus.OUT_OF_BOUNDS);
      expect(x.topicIndexAdd(idx.id, ptr, len, 1, 0, 0, 0)).toBe(-TopicStatus.OUT_OF_BOUNDS);
      expect(x.topicIndexRemove(idx.id, ptr, len, 1, 0)).toBe(-TopicStatus.OUT_OF_BOUNDS);
      expect(x.topicIndexMatch(idx.id, ptr, len, out, 16)).toBe(0);
    }
    expect(x.topicIndexMatch(idx.id, buf, 1, bytes - 8, 16)).toBe(0); // output outside
    expect(x.topicIndexAdd(0, buf, 1, 1, 0, 0, 0)).toBe(-TopicStatus.BAD_ID);
    expect(x.topicIndexAdd(99999, buf, 1, 1, 0, 0, 0)).toBe(-TopicStatus.BAD_ID);
    expect(x.topicIndexMatch(-1, buf, 1, out, 16)).toBe(0);
    (x as unknown as { topicFree(p: number, s: number): void }).topicFree(0xfffffff0, 64); // ignored
    (x as unknown as { topicSortMatches(p: number, n: number): void }).topicSortMatches(bytes - 16, 2); // ignored
  });

  it('survives random bytes as names, filters and topics', () => {
    const rnd = prng(42);
    const alphabet = [0x2f, 0x2f, 0x2b, 0x23, 0x24, 0x00, 0x61, 0x62, 0x2e, 0xc2, 0xaf, 0xff];
    let added = 0;
    for (let round = 0; round < 3000; round++) {
      const len = Math.floor(rnd() ** 3 * 300);
      for (let i = 0; i < len; i++) {
        wasm.u8[buf + i] =
          rnd() < 0.8 ? alphabet[Math.floor(rnd() * alphabet.length)]! : Math.floor(rnd() * 256);
      }
      x.topicValidateName(buf, len);
      x.topicParseShared(buf, len);
      const v = x.topicValidateFilter(buf, len);
      const a = x.topicIndexAdd(idx.id, buf, len, round, 0, 0, 0);
      expect(a < 0).toBe(v !== 0);
      if (a === 0) added++;
      const m = x.topicIndexMatch(idx.id, buf, len, out, 4096);
      expect(m).toBeGreaterThanOrEqual(0);
      if (round % 2 === 0 && a >= 0) expect(x.topicIndexRemove(idx.id, buf, len, round, 0)).toBe(1);
      else if (a === 0) added--;
    }
    expect(added).toBeGreaterThanOrEqual(0);
  });
});

describe('topic matcher out of memory', () => {
  it('leaves nothing half-added when memory runs out, and recovers after removals', () => {
    const wasm = instantiate({ memoryBytes: 3 << 20 });
    const x = wasm.exports as unknown as { topicNodeCount(): number };
    const idx = new SubscriptionIndex(wasm);
    const nodes0 = x.topicNodeCount();
    const rnd = prng(3);
    const added: [string, number][] = [];
    let failures = 0;
    for (let i = 0; i < 200_000 && failures < 200; i++) {
      const depth = 1 + Math.floor(rnd() * 6);
      const levels: string[] = [];
      for (let d = 0; d < depth; d++) {
        const r = rnd();
        levels.push(
          r < 0.15 ? '+' : r < 0.3 ? 'x'.repeat(1 + Math.floor(rnd() * 40)) : `l${Math.floor(rnd() * 1000)}`,
        );
      }
      const filter = levels.join('/');
      try {
        if (!idx.add(filter, { handle: i, qos: 1, nl: false, rap: false, rh: 0, subId: 0, group: null })) {
          added.push([filter, i]);
        }
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ERR_WASM_MEMORY');
        failures++;
        // The failed filter is not in the index.
        expect(idx.remove(filter, i)).toBe(false);
      }
    }
    expect(failures).toBeGreaterThan(0);
    expect(idx.size).toBe(added.length);
    for (const [filter, handle] of added) {
      const topic = filter.replaceAll('+', 'p');
      expect(idx.match(topic).some((e) => e.handle === handle)).toBe(true);
    }
    for (const [filter, handle] of added) expect(idx.remove(filter, handle)).toBe(true);
    expect(idx.size).toBe(0);
    expect(x.topicNodeCount()).toBe(nodes0);
    // Room again.
    expect(idx.add('a/b', { handle: 1, qos: 0, nl: false, rap: false, rh: 0, subId: 0, group: null })).toBe(
      false,
    );
  });
});
