// What the operator hears of a store that cannot write (src/shard/store-health.ts): on a nearly full
// disk the store flips between failing and writing, and the log must not flip with it.
import { describe, expect, it } from 'vitest';
import { WeirError } from '../../../src/errors.js';
import { storeHealthReport } from '../../../src/shard/store-health.js';

describe('the store health report', () => {
  it('tells a failure at most once a minute, with the count of the rest, and recovery only after a told failure', () => {
    let clock = 0;
    const told: string[] = [];
    const report = storeHealthReport(
      '/data',
      (m) => told.push(m),
      () => clock,
    );
    const full = new WeirError('ERR_STORE', 'cannot write to the store at /data: the disk is full');

    report(null); // healthy from the start: nothing to say
    report(full);
    report(null);
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      report(full);
      report(null);
    }
    expect(told).toEqual([
      expect.stringMatching(
        /^cannot write to the store at \/data: the disk is full; until then, what needs the store is refused/,
      ),
      'the store at /data writes again',
    ]);

    clock += 60_000;
    report(full);
    report(null);
    expect(told.slice(2)).toEqual([
      expect.stringMatching(/the disk is full \(5 more failures since the last report\); until then/),
      'the store at /data writes again',
    ]);
  });
});
