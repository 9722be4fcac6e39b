import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { type SubscriptionEntry, SubscriptionIndex } from '../../src/protocol/topic.js';
import { instantiate } from '../../src/protocol/wasm.js';
import { prng } from '../helpers/prng.js';

/** The reference: split on '/' and compare level by level. */
function refMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-5.0 4.7.2-1]
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // also when t.length === i ("sport/#" matches "sport")
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const key = (e: SubscriptionEntry) => `${e.handle}|${e.qos}|${e.nl}|${e.rap}|${e.rh}|${e.subId}|${e.group}`;

function entry(handle: number, extra: Partial<SubscriptionEntry> = {}): SubscriptionEntry {
  return { handle, qos: 0, nl: false, rap: false, rh: 0, subId: 0, group: null, ...extra };
}

const sorted = (a: SubscriptionEntry[]) => a.map(key).sort();
const pick3 = (rnd: () => number) => ['g1', 'g2', 'g3'][Math.floor(rnd() * 3)]!;

describe('SubscriptionIndex', () => {
  const wasm = instantiate({ memoryBytes: 256 << 20 });

  it('matches the MQTT examples [MQTT-5.0 4.7.1-1] [MQTT-5.0 4.7.1-2]', () => {
    const idx = new SubscriptionIndex(wasm);
    const filters = ['sport/tennis/player1/#', 'sport/#', '#', 'sport/tennis/#', '+', '+/+', '/+', 'sport/+'];
    filters.forEach((f, i) => {
      idx.add(f, entry(i + 1));
    });
    const handles = (t: string) =>
      idx
        .match(t)
        .map((e) => filters[e.handle - 1])
        .sort();
    expect(handles('sport/tennis/player1')).toEqual(
      ['#', 'sport/#', 'sport/tennis/#', 'sport/tennis/player1/#'].sort(),
    );
    expect(handles('sport/tennis/player1/ranking')).toEqual(
      ['#', 'sport/#', 'sport/tennis/#', 'sport/tennis/player1/#'].sort(),
    );
    // "sport/#" matches "sport"; "sport/+" does not match "sport" but matches "sport/".
    expect(handles('sport')).toEqual(['#', '+', 'sport/#'].sort());
    expect(handles('sport/')).toEqual(['#', '+/+', 'sport/#', 'sport/+'].sort());
    // "+" matches an empty level; "/finance" has two levels.
    expect(handles('/finance')).toEqual(['#', '+/+', '/+'].sort());
  });

  it('[MQTT-5.0 4.7.2-1] [MQTT-3.1.1 4.7.2-1] wildcards at the first level do not match $ topics', () => {
    const idx = new SubscriptionIndex(wasm);
    idx.add('#', entry(1));
    idx.add('+/monitor/Clients', entry(2));
    idx.add('$SYS/#', entry(3));
    idx.add('$SYS/monitor/+', entry(4));
    idx.add('+', entry(5));
    expect(
      idx
        .match('$SYS/monitor/Clients')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([3, 4]);
    expect(idx.match('$SYS').map((e) => e.handle)).toEqual([3]);
    expect(idx.match('$')).toEqual([]);
    expect(
      idx
        .match('a/monitor/Clients')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('treats empty levels as real levels', () => {
    const idx = new SubscriptionIndex(wasm);
    idx.add('a//b', entry(1));
    idx.add('/a', entry(2));
    idx.add('a/', entry(3));
    idx.add('a/+/b', entry(4));
    idx.add('+/+', entry(5));
    expect(
      idx
        .match('a//b')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([1, 4]);
    expect(
      idx
        .match('/a')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([2, 5]);
    expect(
      idx
        .match('a/')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([3, 5]);
    expect(idx.match('a/b').map((e) => e.handle)).toEqual([5]);
    expect(idx.match('a')).toEqual([]);
  });

  it('[MQTT-5.0 3.8.4-3] the same filter, handle and group replace options and identifier', () => {
    const idx = new SubscriptionIndex(wasm);
    expect(idx.add('a/+', entry(7, { qos: 0, subId: 1 }))).toBe(false);
    expect(idx.add('a/+', entry(7, { qos: 2, nl: true, rap: true, rh: 2, subId: 9 }))).toBe(true);
    expect(idx.size).toBe(1);
    expect(idx.match('a/b')).toEqual([entry(7, { qos: 2, nl: true, rap: true, rh: 2, subId: 9 })]);
    // Another group, or another handle, or another filter: a new entry.
    expect(idx.add('a/+', entry(7, { group: 'g1' }))).toBe(false);
    expect(idx.add('a/+', entry(8))).toBe(false);
    expect(idx.add('a/#', entry(7))).toBe(false);
    expect(idx.size).toBe(4);
    expect(idx.add('a/+', entry(7, { group: 'g1', qos: 1 }))).toBe(true);
    expect(sorted(idx.match('a/b'))).toEqual(
      sorted([
        entry(7, { qos: 2, nl: true, rap: true, rh: 2, subId: 9 }),
        entry(7, { group: 'g1', qos: 1 }),
        entry(8),
        entry(7),
      ]),
    );
  });

  it('removes by (filter, handle, group) and says whether it existed', () => {
    const idx = new SubscriptionIndex(wasm);
    idx.add('a/b', entry(1));
    idx.add('a/b', entry(1, { group: 'g' }));
    idx.add('a/b', entry(2));
    expect(idx.remove('a/b', 3)).toBe(false);
    expect(idx.remove('a/c', 1)).toBe(false);
    expect(idx.remove('a/b', 1, 'other')).toBe(false);
    expect(idx.remove('a/b', 1, 'g')).toBe(true);
    expect(idx.remove('a/b', 1, 'g')).toBe(false);
    expect(
      idx
        .match('a/b')
        .map((e) => e.handle)
        .sort(),
    ).toEqual([1, 2]);
    expect(idx.remove('a/b', 1)).toBe(true);
    expect(idx.match('a/b').map((e) => e.handle)).toEqual([2]);
    expect(idx.size).toBe(1);
  });

  it('prunes nodes left empty', () => {
    const idx = new SubscriptionIndex(wasm);
    const x = wasm.exports as unknown as { topicNodeCount(): number };
    const before = x.topicNodeCount();
    idx.add('a/b/c/d', entry(1));
    idx.add('a/+/c/#', entry(1));
    idx.add('a/b', entry(2));
    idx.add(`x/${'long-level-'.repeat(10)}/y`, entry(3));
    expect(x.topicNodeCount()).toBe(before + 9);
    idx.remove('a/b/c/d', 1);
    expect(x.topicNodeCount()).toBe(before + 7); // a, b, +, +/c, x, long, y
    idx.remove('a/+/c/#', 1);
    expect(x.topicNodeCount()).toBe(before + 5);
    idx.remove('a/b', 2);
    idx.remove(`x/${'long-level-'.repeat(10)}/y`, 3);
    expect(x.topicNodeCount()).toBe(before);
    expect(idx.size).toBe(0);
    expect(idx.match('a/b/c/d')).toEqual([]);
  });

  it('keeps several indexes apart', () => {
    const a = new SubscriptionIndex(wasm);
    const b = new SubscriptionIndex(wasm);
    a.add('t/+', entry(1, { group: 'g' }));
    b.add('t/+', entry(2, { group: 'h' }));
    b.add('t/#', entry(3));
    expect(a.match('t/x')).toEqual([entry(1, { group: 'g' })]);
    expect(sorted(b.match('t/x'))).toEqual(sorted([entry(2, { group: 'h' }), entry(3)]));
    expect(a.remove('t/#', 3)).toBe(false);
    expect(b.remove('t/#', 3)).toBe(true);
    expect(a.size).toBe(1);
    expect(b.size).toBe(1);
  });

  it('destroys an index, freeing its nodes and id, and leaves the others alone', () => {
    const x = wasm.exports as unknown as { topicNodeCount(): number; topicLiveBytes(): number };
    const keep = new SubscriptionIndex(wasm);
    keep.add('k/+/x', entry(1));
    const nodes = x.topicNodeCount();
    const fillAndDestroy = () => {
      const gone = new SubscriptionIndex(wasm);
      for (let i = 0; i < 3000; i++) {
        gone.add(
          i % 7 ? `k/${i % 50}/+/z${i}` : `k/${i % 50}/z${i}/#`,
          entry(i, { group: i % 3 ? null : 'g' }),
        );
      }
      gone.add('k/+/x', entry(1));
      gone.add('#', entry(2));
      expect(gone.size).toBe(3002);
      gone.destroy();
      expect(x.topicNodeCount()).toBe(nodes);
      return x.topicLiveBytes();
    };
    // The shared hash tables keep the size they grew to; everything else comes back.
    const bytes = fillAndDestroy();
    expect(fillAndDestroy()).toBe(bytes);
    expect(keep.match('k/a/x')).toEqual([entry(1)]);
    // Ids are reused: creating and destroying many indexes does not run out of ids.
    for (let i = 0; i < 2000; i++) new SubscriptionIndex(wasm).destroy();
  });

  it('grows the output region when many entries match', () => {
    const idx = new SubscriptionIndex(wasm);
    for (let i = 0; i < 5000; i++) idx.add(i % 2 ? 'big/+' : 'big/#', entry(i, { subId: i + 1 }));
    const r = idx.match('big/x');
    expect(r.length).toBe(5000);
    expect(new Set(r.map((e) => e.handle)).size).toBe(5000);
    expect(idx.matchAt(idx.outputPtr, 0)).toBe(0);
  });

  it('merges overlapping subscriptions per handle with dedupeByHandle', () => {
    const idx = new SubscriptionIndex(wasm);
    idx.add('d/+', entry(1, { qos: 0, subId: 5 }));
    idx.add('d/#', entry(1, { qos: 2, subId: 6 }));
    idx.add('d/x', entry(2, { qos: 1 }));
    idx.match('d/x');
    const ids: number[][] = [];
    const n = idx.dedupeByHandle(ids);
    expect(n).toBe(2);
    const byHandle = new Map<number, { qos: number; ids: number[] }>();
    for (let i = 0; i < n; i++)
      byHandle.set(idx.handleAt(i), { qos: idx.optionsAt(i) & 3, ids: ids[i]!.sort() });
    expect(byHandle.get(1)).toEqual({ qos: 2, ids: [5, 6] });
    expect(byHandle.get(2)).toEqual({ qos: 1, ids: [] });
  });

  it('[MQTT-5.0 3.8.3-3] merges No Local as "all have it" and Retain As Published as "any has it"', () => {
    const idx = new SubscriptionIndex(wasm);
    // Handles 1 and 3: one subscription with No Local, one without (so the message matches the
    // one without), mirrored so that whichever the merge sees first, one handle has it first.
    idx.add('n/+', entry(1, { nl: true }));
    idx.add('n/#', entry(1, { nl: false, rap: true }));
    idx.add('n/+', entry(3, { nl: false }));
    idx.add('n/#', entry(3, { nl: true, rap: true }));
    // Handle 2: No Local on both.
    idx.add('n/+', entry(2, { nl: true }));
    idx.add('n/x', entry(2, { nl: true }));
    idx.match('n/x');
    const n = idx.dedupeByHandle();
    const byHandle = new Map<number, number>();
    for (let i = 0; i < n; i++) byHandle.set(idx.handleAt(i), idx.optionsAt(i));
    expect(byHandle.get(1)! & 4).toBe(0);
    expect(byHandle.get(3)! & 4).toBe(0);
    expect(byHandle.get(1)! & 8).toBe(8);
    expect(byHandle.get(3)! & 8).toBe(8);
    expect(byHandle.get(2)! & 4).toBe(4);
  });

  it('sorts results by (group, handle) in WASM and merges runs, for any count', () => {
    const rnd = prng(7);
    for (const n of [0, 1, 2, 5, 30, 800, 3000]) {
      const idx = new SubscriptionIndex(wasm);
      const live = new Map<string, { k: string; qos: number; subId: number }>();
      for (let i = 0; i < n; i++) {
        const handle = Math.floor(rnd() * (n / 2 + 1));
        const group = rnd() < 0.3 ? pick3(rnd) : null;
        const qos = Math.floor(rnd() * 3) as 0 | 1 | 2;
        const subId = i + 1;
        // Distinct filters that all match "s/x/y": each (filter, handle, group) is one entry.
        const filter = ['s/x/y', 's/+/y', 's/x/+', 's/#', 's/x/#', '+/x/y', '#', 's/+/+'][i % 8]!;
        idx.add(filter, entry(handle, { qos, subId, group }));
        live.set(`${filter}|${handle}|${group}`, { k: `${handle}|${group}`, qos, subId });
      }
      const want = new Map<string, { qos: number; ids: number[] }>();
      for (const v of live.values()) {
        const w = want.get(v.k) ?? { qos: 0, ids: [] };
        w.qos = Math.max(w.qos, v.qos);
        w.ids.push(v.subId);
        want.set(v.k, w);
      }
      const count = idx.matchAt(0, 0) + idx.match('s/x/y').length;
      idx.sortResults();
      for (let i = 1; i < count; i++) {
        const a = idx.groupIdAt(i - 1) * 2 ** 32 + idx.handleAt(i - 1);
        const b = idx.groupIdAt(i) * 2 ** 32 + idx.handleAt(i);
        expect(a <= b).toBe(true);
      }
      const ids: number[][] = [];
      const kept = idx.dedupeByHandle(ids);
      expect(kept).toBe(want.size);
      for (let i = 0; i < kept; i++) {
        const w = want.get(`${idx.handleAt(i)}|${idx.groupAt(i)}`);
        expect(w).toBeDefined();
        expect(idx.optionsAt(i) & 3).toBe(w!.qos);
        expect(ids[i]!.sort((x, y) => x - y)).toEqual(w!.ids.sort((x, y) => x - y));
      }
    }
  });

  it('rejects invalid filters with ERR_TOPIC', () => {
    const idx = new SubscriptionIndex(wasm);
    for (const f of ['', 'a/#/b', 'a+', 'x\u0000']) {
      expect(() => idx.add(f, entry(1)), f).toThrow(WeirError);
    }
    expect(idx.size).toBe(0);
  });

  it('handles huge topics and filters (65535 bytes, 32768 levels)', () => {
    const idx = new SubscriptionIndex(wasm);
    const deep = `${'+/'.repeat(32767)}+`; // 65535 bytes, 32768 levels
    const deepHash = `${'a/'.repeat(32766)}#`;
    const longLevel = 'L'.repeat(65535);
    idx.add(deep, entry(1));
    idx.add(deepHash, entry(2));
    idx.add(longLevel, entry(3));
    idx.add('#', entry(4));
    const topic = `${'a/'.repeat(32767)}a`; // 32768 levels
    expect(
      idx
        .match(topic)
        .map((e) => e.handle)
        .sort(),
    ).toEqual([1, 2, 4]);
    expect(
      idx
        .match(longLevel)
        .map((e) => e.handle)
        .sort(),
    ).toEqual([3, 4]);
    expect(idx.match('/'.repeat(65535)).map((e) => e.handle)).toEqual([4]);
    expect(idx.match('a'.repeat(65536))).toEqual([]); // too long: nothing
    expect(idx.remove(deep, 1)).toBe(true);
    expect(idx.remove(deepHash, 2)).toBe(true);
    expect(idx.remove(longLevel, 3)).toBe(true);
    expect(idx.match(topic).map((e) => e.handle)).toEqual([4]);
  });

  it('agrees with a brute-force matcher on random filters, topics, adds and removes', () => {
    const rnd = prng(0x5eed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    // '.', '0' and U+00AF (bytes C2 AF) sit next to '/' (0x2f) in ways a word-at-a-time scan
    // could get wrong; the long word crosses 8-byte words and the 16-byte inline key.
    const words = ['a', 'b', 'c', '', '$SYS', '$x', '.', '0', '¯', 'long-level-name-xyz.0¯'];
    const randomTopic = () => {
      const n = 1 + Math.floor(rnd() * 5);
      const levels: string[] = [];
      for (let i = 0; i < n; i++) levels.push(pick(words));
      return levels.join('/') || '/';
    };
    const randomFilter = () => {
      const n = 1 + Math.floor(rnd() * 5);
      const levels: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = rnd();
        levels.push(r < 0.2 ? '+' : pick(words));
      }
      if (rnd() < 0.25) levels.push('#');
      return levels.join('/') || '/';
    };
    for (let round = 0; round < 6; round++) {
      const idx = new SubscriptionIndex(wasm);
      const live = new Map<string, { filter: string; e: SubscriptionEntry }>();
      for (let step = 0; step < 3000; step++) {
        const r = rnd();
        if (r < 0.55 || live.size === 0) {
          const filter = randomFilter();
          const e = entry(Math.floor(rnd() * 20), {
            qos: pick([0, 1, 2] as const),
            nl: rnd() < 0.5,
            rap: rnd() < 0.5,
            rh: pick([0, 1, 2] as const),
            subId: rnd() < 0.5 ? 0 : Math.floor(rnd() * 268435455) + 1,
            group: rnd() < 0.2 ? pick(['g1', 'g2']) : null,
          });
          const k = `${filter}|${e.handle}|${e.group}`;
          expect(idx.add(filter, e)).toBe(live.has(k));
          live.set(k, { filter, e });
        } else if (r < 0.85) {
          const [k, v] = pick([...live.entries()]);
          expect(idx.remove(v.filter, v.e.handle, v.e.group)).toBe(true);
          live.delete(k);
        } else {
          expect(idx.remove(randomFilter(), 99)).toBe(false);
        }
        if (step % 7 === 0) {
          const topic = randomTopic();
          const want = [...live.values()].filter((v) => refMatches(v.filter, topic)).map((v) => v.e);
          expect(sorted(idx.match(topic)), `${topic} round ${round} step ${step}`).toEqual(sorted(want));
        }
      }
      expect(idx.size).toBe(live.size);
      for (const v of live.values()) expect(idx.remove(v.filter, v.e.handle, v.e.group)).toBe(true);
      expect(idx.size).toBe(0);
    }
  });
});

describe('SubscriptionIndex memory', () => {
  it('stays flat over a million subscribe/unsubscribe cycles', () => {
    const wasm = instantiate({ memoryBytes: 64 << 20 });
    const x = wasm.exports as unknown as { topicNodeCount(): number; topicLiveBytes(): number };
    const idx = new SubscriptionIndex(wasm);
    const nodes0 = x.topicNodeCount();
    const cycle = (i: number) => {
      const t = i % 1000;
      const f = i % 3 === 0 ? `tenant/${t}/device/${i % 4999}/telemetry` : `tenant/${t}/+/${i % 97}/#`;
      idx.add(f, entry(i % 5000, { group: i % 5 === 0 ? `g${i % 7}` : null }));
      return f;
    };
    // Warm-up: fill to a steady population of ~20k, then churn.
    // A ring of the last 20k adds: each add past that removes the oldest.
    const ring: ([string, number, string | null] | undefined)[] = new Array(20000);
    const churn = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const old = ring[i % ring.length];
        if (old) idx.remove(old[0], old[1], old[2]);
        ring[i % ring.length] = [cycle(i), i % 5000, i % 5 === 0 ? `g${i % 7}` : null];
      }
    };
    churn(0, 200_000);
    const free = wasm.exports.memoryFree();
    const liveBytes = x.topicLiveBytes();
    churn(200_000, 1_200_000);
    expect(wasm.exports.memoryFree()).toBe(free);
    expect(Math.abs(x.topicLiveBytes() - liveBytes)).toBeLessThan(4 << 20);
    // Still right after the churn: compare a few topics with the brute-force matcher.
    const topics = ring.slice(0, 20).map((r) => r![0].replace('+', 'x').replace('#', 'a/b'));
    const want = new Map<string, Set<string>>(topics.map((t) => [t, new Set<string>()]));
    for (const r of ring) {
      if (!r) continue;
      for (const topic of topics) if (refMatches(r[0], topic)) want.get(topic)!.add(`${r[1]}|${r[2]}`);
    }
    for (const [topic, set] of want) {
      const got = new Set(idx.match(topic).map((e) => `${e.handle}|${e.group}`));
      expect(got, topic).toEqual(set);
    }
    for (const r of ring) if (r) idx.remove(r[0], r[1], r[2]);
    expect(idx.size).toBe(0);
    expect(x.topicNodeCount()).toBe(nodes0);
  });

  it('reports a full memory as WeirError ERR_WASM_MEMORY and stays usable', () => {
    const wasm = instantiate({ memoryBytes: 4 << 20 });
    const idx = new SubscriptionIndex(wasm);
    let error: unknown;
    let added = 0;
    try {
      for (let i = 0; i < 1_000_000; i++) {
        idx.add(`fill/${i}/${'x'.repeat(40)}`, entry(i));
        added++;
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('ERR_WASM_MEMORY');
    expect((error as WeirError).message).toMatch(/give the instance more memory/);
    expect(idx.size).toBe(added);
    expect(idx.match(`fill/0/${'x'.repeat(40)}`).map((e) => e.handle)).toEqual([0]);
    // Removing makes room again.
    for (let i = 0; i < 100; i++) expect(idx.remove(`fill/${i}/${'x'.repeat(40)}`, i)).toBe(true);
    expect(idx.add(`fill/0/${'x'.repeat(40)}`, entry(0))).toBe(false);
  });
});
