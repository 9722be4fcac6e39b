// A shard whose topic matcher has filled its WASM memory refuses further filters in the SUBACK
// (0x97 Quota exceeded in MQTT 5, 0x80 in 3.1.1) and goes on serving: the subscriber stays
// connected, its earlier subscriptions keep delivering, other clients are unaffected, and the
// operator is told which option to raise. Before, the matcher's error ended the shard.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { connected, type RawClient } from '../helpers/raw-client.js';

// The smallest shard memory the pool allows (about 64 MiB for the matcher).
const suite = useBroker({ shardMemoryBytes: 1 });
const warnings: string[] = [];

beforeAll(() => {
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.includes('topic matcher')) {
      warnings.push(text);
      return true;
    }
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

/** Subscribe 1,000 long, distinct filters at a time until a SUBACK refuses some; the codes seen. */
async function fill(c: RawClient, prefix: string): Promise<number[]> {
  for (let round = 0; round < 2000; round++) {
    const filters = Array.from(
      { length: 1000 },
      (_, j) => `${prefix}/${round}/${j}/level/with/many/parts/to/fill/${j % 2 ? '+' : '#'}`,
    );
    const suback = await c.subscribe(filters, 1);
    const refused = suback.granted.filter((g) => g !== 1);
    if (refused.length > 0) return refused;
  }
  throw new Error('the matcher never filled up');
}

describe('a full topic matcher', () => {
  for (const v of [5, 4] as const) {
    const ed = v === 5 ? '5.0' : '3.1.1';
    it(`[MQTT-${ed} 3.9.3-1] refuses further filters with ${v === 5 ? '0x97' : '0x80'} and keeps serving`, async () => {
      const sub = await connected(suite.port, v, `full-sub-${v}`);
      // One subscription made while there was room, to see it still delivers afterwards.
      const early = `early/${v}`;
      expect((await sub.subscribe(early, 1)).granted).toEqual([1]);
      const refused = await fill(sub, `fill${v}`);
      expect(new Set(refused)).toEqual(new Set([v === 5 ? 0x97 : 0x80]));
      expect(sub.closed).toBe(false);

      const pub = await connected(suite.port, v, `full-pub-${v}`);
      await pub.publishAcked(early, 'still here', { qos: 1 });
      const got = await sub.expect('publish');
      expect(got.topic).toBe(early);
      expect(Buffer.from(got.payload).toString()).toBe('still here');
      await sub.ack(got);

      // Freeing room lets new filters in again.
      await sub.end();
      const again = await connected(suite.port, v, `full-again-${v}`);
      expect((await again.subscribe(`again/${v}`, 1)).granted).toEqual([1]);
      await again.end();
    });
  }

  it('tells the operator which option to raise, once a minute at most', async () => {
    await vi.waitFor(() => expect(warnings.length).toBeGreaterThan(0), { timeout: 5000 });
    expect(warnings.join('')).toMatch(/because the topic matcher.s \d+ MiB of shard memory are full/);
    expect(warnings.join('')).toMatch(/--shard-memory-mb/);
    // Two fills of thousands of refusals within a minute: one warning.
    expect(warnings.length).toBe(1);
  });
});
