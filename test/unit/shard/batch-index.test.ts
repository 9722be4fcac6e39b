// The per-batch index the direct writer chains a connection's records with (src/shard/batch-index.ts).
import { describe, expect, it } from 'vitest';
import { BatchIndex } from '../../../src/shard/batch-index.js';

describe('BatchIndex', () => {
  it('answers the record last set for a key in this batch, and -1 for a key not seen', () => {
    const index = new BatchIndex(8);
    expect(index.swap(7, 0)).toBe(-1);
    expect(index.swap(9, 1)).toBe(-1);
    expect(index.swap(7, 2)).toBe(0);
    expect(index.swap(7, 3)).toBe(2);
    expect(index.swap(9, 4)).toBe(1);
    expect(index.swap(0, 5)).toBe(-1);
    expect(index.swap(0, 6)).toBe(5);
  });

  it('forgets every key at reset, and reuses the slots', () => {
    const index = new BatchIndex(4);
    for (let round = 0; round < 1000; round++) {
      index.reset();
      for (let k = 0; k < 4; k++) expect(index.swap(round * 4 + k, k)).toBe(-1);
      for (let k = 0; k < 4; k++) expect(index.swap(round * 4 + k, 10 + k)).toBe(k);
    }
  });

  it('holds its full capacity of keys that collide, with a Map as the reference', () => {
    const capacity = 1024;
    const index = new BatchIndex(capacity);
    // Multiples of a power of two: the same low bits, and many the same slot in a small table.
    const keys = Array.from({ length: capacity }, (_, k) => (k * 4096) | 0);
    for (let batch = 0; batch < 3; batch++) {
      index.reset();
      const reference = new Map<number, number>();
      for (let i = 0; i < 4 * capacity; i++) {
        const key = keys[(i * 7 + batch) % capacity]!;
        expect(index.swap(key, i)).toBe(reference.get(key) ?? -1);
        reference.set(key, i);
      }
    }
  });

  it('says so when a batch has more keys than it was made for, instead of looping', () => {
    const index = new BatchIndex(2);
    index.swap(1, 0);
    index.swap(2, 1);
    expect(index.swap(2, 2)).toBe(1);
    expect(() => index.swap(3, 3)).toThrow(/more than 2 keys in a batch/);
  });

  it('takes negative keys and keys past 2^31 as int32', () => {
    const index = new BatchIndex(4);
    expect(index.swap(-5, 0)).toBe(-1);
    expect(index.swap(-5, 1)).toBe(0);
    expect(index.swap(0x7fffffff, 2)).toBe(-1);
    expect(index.swap(0x7fffffff, 3)).toBe(2);
  });
});
