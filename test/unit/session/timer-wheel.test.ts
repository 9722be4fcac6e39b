import { describe, expect, it } from 'vitest';
import { TimerWheel } from '../../../src/session/timer-wheel.js';

interface T {
  deadline: number;
  name: string;
}

describe('timer wheel', () => {
  it('fires each entry once, at its second, including deadlines beyond one turn of the wheel', () => {
    const wheel = new TimerWheel<T>(1000, 4); // 16 slots
    const fired: Array<[number, string]> = [];
    for (const [deadline, name] of [
      [1001, 'a'],
      [1005, 'b'],
      [1016, 'c'],
      [1017, 'd'],
      [1050, 'e'],
    ] as const) {
      wheel.schedule({ deadline, name });
    }
    for (let t = 1001; t <= 1060; t++) wheel.advance(t, (e) => fired.push([t, e.name]));
    expect(fired).toEqual([
      [1001, 'a'],
      [1005, 'b'],
      [1016, 'c'],
      [1017, 'd'],
      [1050, 'e'],
    ]);
    expect(wheel.size).toBe(0);
  });

  it('fires everything due after a jump of the clock longer than the wheel', () => {
    const wheel = new TimerWheel<T>(0, 4);
    for (let i = 1; i <= 40; i++) wheel.schedule({ deadline: i * 3, name: String(i) });
    const fired: string[] = [];
    wheel.advance(100, (e) => fired.push(e.name));
    expect(fired.sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 33 }, (_, i) => String(i + 1)),
    );
    wheel.advance(120, (e) => fired.push(e.name));
    expect(fired).toHaveLength(40);
  });

  it('lets an owner push its deadline back lazily by scheduling again when fired', () => {
    const wheel = new TimerWheel<T & { lastSeen: number }>(0, 4);
    const conn = { deadline: 15, name: 'keepalive', lastSeen: 0 };
    wheel.schedule(conn);
    const expired: number[] = [];
    const onFire = (t: number) => (e: typeof conn) => {
      const due = e.lastSeen + 15;
      if (due > t) {
        e.deadline = due;
        wheel.schedule(e);
      } else expired.push(t);
    };
    for (let t = 1; t <= 60; t++) {
      if (t === 10) conn.lastSeen = 10; // a packet arrives
      wheel.advance(t, onFire(t));
    }
    expect(expired).toEqual([25]);
  });

  it('fires a deadline already in the past at the next second', () => {
    const wheel = new TimerWheel<T>(50, 4);
    wheel.schedule({ deadline: 10, name: 'late' });
    const fired: string[] = [];
    wheel.advance(51, (e) => fired.push(e.name));
    expect(fired).toEqual(['late']);
  });
});
