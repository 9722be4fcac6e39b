import { afterEach, describe, expect, it } from 'vitest';
import type { ShardLink, ShardPool as ShardPoolType } from '../../../src/net/shard-pool.js';
import { makeTag, RecordKind } from '../../../src/ring/records.js';
import { distModule } from '../../helpers/dist.js';

// The pool starts worker threads, which run compiled code: import the compiled pool.
const { ShardPool } = (await import(distModule('src/net/shard-pool.ts'))) as {
  ShardPool: typeof ShardPoolType;
};
const echoLogic = new URL('../../fixtures/echo-logic.mjs', import.meta.url).href;

interface Echo {
  shard: number;
  generation: number;
  conn: number;
  text: string;
}

function makePool(shards: number, logic = echoLogic) {
  const received: Echo[] = [];
  const waiters: Array<() => void> = [];
  const pool = new ShardPool({
    shards,
    logic,
    memoryBytes: 8 << 20,
    ringCapacity: 1 << 16,
    onRecord(link, kind, conn, offset, len) {
      if (kind !== RecordKind.DATA) return;
      const text = Buffer.from(link.u8.subarray(offset, offset + len)).toString();
      received.push({ shard: link.index, generation: link.generation, conn, text });
      for (const w of waiters.splice(0)) w();
    },
  });
  const until = async (predicate: () => boolean) => {
    while (!predicate()) await new Promise<void>((r) => waiters.push(r));
  };
  return { pool, received, until };
}

function send(link: ShardLink, conn: number, text: string): void {
  expect(link.inbound.write(makeTag(RecordKind.DATA, conn), Buffer.from(text))).toBe(true);
  link.inbound.flush();
}

const pools: ShardPoolType[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('shard pool', () => {
  it('runs each shard on its own memory and carries records both ways', async () => {
    const { pool, received, until } = makePool(2);
    pools.push(pool);
    await pool.start();
    expect(pool.link(0)!.memory).not.toBe(pool.link(1)!.memory);
    send(pool.link(0)!, 11, 'to zero');
    send(pool.link(1)!, 22, 'to one');
    await until(() => received.length === 2);
    expect(received).toEqual(
      expect.arrayContaining([
        { shard: 0, generation: 1, conn: 11, text: 'to zero' },
        { shard: 1, generation: 1, conn: 22, text: 'to one' },
      ]),
    );
  });

  it('restarts a shard that crashes on a fresh memory, while the other keeps serving', async () => {
    const { pool, received, until } = makePool(2);
    pools.push(pool);
    await pool.start();
    const exits: Array<[number, string]> = [];
    pool.on('exit', (index, error) => exits.push([index, error.message]));
    const restarted = new Promise<ShardLink>((r) => pool.once('ready', r));
    const oldMemory = pool.link(1)!.memory;
    send(pool.link(1)!, 1, 'crash');
    const link = await restarted;
    expect(exits).toEqual([[1, 'shard 1 crashed on purpose']]);
    expect(link).toMatchObject({ index: 1, generation: 2 });
    expect(link.memory).not.toBe(oldMemory);
    send(pool.link(0)!, 5, 'still here');
    send(link, 6, 'back again');
    await until(() => received.length === 2);
    expect(received.map((e) => [e.shard, e.generation, e.text])).toEqual(
      expect.arrayContaining([
        [0, 1, 'still here'],
        [1, 2, 'back again'],
      ]),
    );
  });

  it('announces a restarted shard only once every other shard can write to it', async () => {
    const { pool, received, until } = makePool(2);
    pools.push(pool);
    await pool.start();
    // The gateway routes clients to a shard from this moment: a shard that could not reach it yet
    // would drop its forwards to them (messages it acknowledged to their publishers).
    const asked = new Promise<void>((resolve) =>
      pool.once('ready', () => {
        send(pool.link(0)!, 9, 'PEERS');
        resolve();
      }),
    );
    send(pool.link(1)!, 1, 'crash');
    await asked;
    await until(() => received.some((e) => e.text.startsWith('PEERS')));
    expect(received.find((e) => e.text.startsWith('PEERS'))).toMatchObject({ shard: 0, text: 'PEERS 1\n' });
  });

  it('restarts a shard whose thread calls process.exit or is killed', async () => {
    const { pool, received, until } = makePool(1);
    pools.push(pool);
    await pool.start();
    let ready = new Promise<ShardLink>((r) => pool.once('ready', r));
    send(pool.link(0)!, 1, 'exit');
    expect((await ready).generation).toBe(2);
    ready = new Promise<ShardLink>((r) => pool.once('ready', r));
    pool.kill(0);
    const link = await ready;
    expect(link.generation).toBe(3);
    send(link, 2, 'alive');
    await until(() => received.length === 1);
    expect(received[0]).toMatchObject({ generation: 3, text: 'alive' });
  });

  it('reports a shard that cannot start instead of restarting it in a loop', async () => {
    const { pool } = makePool(1, new URL('../../fixtures/no-such-logic.mjs', import.meta.url).href);
    const exits: number[] = [];
    pool.on('exit', (index) => exits.push(index));
    await expect(pool.start()).rejects.toThrow(/no-such-logic/);
    await new Promise((r) => setTimeout(r, 100));
    expect(exits).toEqual([0]);
    await pool.close();
  });
});
