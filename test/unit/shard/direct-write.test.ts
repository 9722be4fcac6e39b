// A shard's outbound ring that writes small batches to sockets itself (src/shard/direct-write.ts),
// against real TCP sockets; the test plays the gateway: it drains the ring and writes what it
// finds through its own socket, closing the connection's write slot while it has bytes queued.
import { writevSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ringBytes } from '../../../src/ring/layout.js';
import { makeTag, RecordKind, tagConnection, tagKind } from '../../../src/ring/records.js';
import { initRing, RingConsumer, type RingRef } from '../../../src/ring/spsc-ring.js';
import { WriteSlots } from '../../../src/ring/write-slots.js';
import { DirectOutbound } from '../../../src/shard/direct-write.js';

interface Pair {
  /** The broker's end: its descriptor is what the shard writes to. */
  server: Socket;
  client: Socket;
  received: () => Buffer;
  /** Resolves once the client has `n` bytes. */
  bytes: (n: number) => Promise<Buffer>;
}

const pairs: Pair[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) {
    p.client.destroy();
    p.server.destroy();
  }
});

async function socketPair(): Promise<Pair> {
  const listener = createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => listener.once('connection', r));
  const client = connect((listener.address() as { port: number }).port, '127.0.0.1');
  const server = await accepted;
  listener.close();
  let got = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  client.on('data', (d) => {
    got = Buffer.concat([got, d]);
    waiter?.();
  });
  const pair: Pair = {
    server,
    client,
    received: () => got,
    bytes: async (n) => {
      const until = Date.now() + 10_000;
      while (got.length < n && Date.now() < until)
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 50);
        });
      return got;
    },
  };
  pairs.push(pair);
  return pair;
}

function setup(capacity = 1 << 20): {
  ring: RingRef;
  out: DirectOutbound;
  gateway: RingConsumer;
  slots: WriteSlots;
} {
  const ring = { buffer: new SharedArrayBuffer(64 + ringBytes(capacity)), base: 64, capacity };
  initRing(ring);
  const slots = new WriteSlots();
  return {
    ring,
    out: new DirectOutbound(ring, new WriteSlots(slots.buffer)),
    gateway: new RingConsumer(ring),
    slots,
  };
}

const fdOf = (s: Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;

/** A socket pair whose server end connection `conn` may write to (its slot open), and the TOKEN. */
async function lent(slots: WriteSlots, conn: number): Promise<Pair & { token: number }> {
  const pair = await socketPair();
  return { ...pair, token: slots.open(conn, fdOf(pair.server)) };
}
const data = (conn: number, text: string) => [makeTag(RecordKind.DATA, conn), Buffer.from(text)] as const;

/** Every record the gateway would get now: [kind, conn, text]. */
function drain(c: RingConsumer): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  for (let len = c.next(); len >= 0; len = c.next())
    out.push([
      tagKind(c.tag),
      tagConnection(c.tag),
      Buffer.from(c.u8.subarray(c.offset, c.offset + len)).toString(),
    ]);
  c.release();
  return out;
}

describe('direct writes from a shard', () => {
  it('writes a small batch to the socket and takes it out of the ring', async () => {
    const { out, gateway, slots } = setup();
    const a = await lent(slots, 3);
    out.write(...data(3, 'CONNACK;'));
    out.write(...data(3, 'PUBLISH;'));
    out.flush();
    expect(drain(gateway)).toEqual([]);
    expect((await a.bytes(16)).toString()).toBe('CONNACK;PUBLISH;');
    expect(out.bytes).toBe(16);
  });

  it('leaves to the gateway, in order, what it may not write: other connections, control records and what follows them', async () => {
    const { out, gateway, slots } = setup();
    const a = await lent(slots, 3);
    await lent(slots, 4);
    slots.close(4); // the gateway has bytes of its own queued on connection 4
    out.write(...data(3, 'a1;'));
    out.write(...data(4, 'b1;'));
    out.write(makeTag(RecordKind.CLOSE, 3), new Uint8Array(0));
    out.write(...data(3, 'a2;'));
    out.flush();
    expect(drain(gateway)).toEqual([
      [RecordKind.DATA, 4, 'b1;'],
      [RecordKind.CLOSE, 3, ''],
      [RecordKind.DATA, 3, 'a2;'],
    ]);
    expect((await a.bytes(3)).toString()).toBe('a1;');
  });

  it('writes nothing itself while the gateway still holds records of its', async () => {
    const { out, gateway, slots } = setup();
    const a = await lent(slots, 3);
    slots.close(3);
    out.write(...data(3, 'first;'));
    out.flush(); // published: the gateway has it and has not released it
    slots.reopen(3, slots.open(3, fdOf(a.server)));
    gateway.next();
    out.write(...data(3, 'second;'));
    out.flush();
    expect(gateway.next()).toBeGreaterThan(0); // "second;" went to the gateway too
    gateway.release();
    expect(a.received().length).toBe(0);
    // Caught up again: the next small batch goes straight to the socket.
    out.write(...data(3, 'third;'));
    out.flush();
    expect((await a.bytes(6)).toString()).toBe('third;');
  });

  it('is not held back by records of other connections that the gateway still holds', async () => {
    const { out, gateway, slots } = setup();
    const b = await lent(slots, 4);
    const a = await lent(slots, 3);
    slots.close(4);
    out.write(...data(4, 'b1;'));
    out.flush(); // connection 4's record is with the gateway, not released
    slots.reopen(4, b.token);
    out.write(...data(3, 'a1;'));
    out.write(...data(4, 'b2;'));
    out.flush();
    expect((await a.bytes(3)).toString()).toBe('a1;');
    expect(drain(gateway)).toEqual([
      [RecordKind.DATA, 4, 'b1;'],
      [RecordKind.DATA, 4, 'b2;'],
    ]);
    expect(b.received().length).toBe(0);
  });

  it.each([
    ['more records than it writes itself (1,024)', 1100, 2],
    ['more bytes than it writes itself (64 KiB)', 40, 2048],
  ])(
    'leaves a large batch to the gateway (%s), and writes nothing itself until the gateway has released it',
    async (_what, count, size) => {
      const { out, gateway, slots } = setup();
      await lent(slots, 3);
      const b = await lent(slots, 4);
      for (let i = 0; i < count; i++) out.write(makeTag(RecordKind.DATA, 3), Buffer.alloc(size, 0x61));
      out.flush();
      // A small batch for another connection: the large one's records were not looked at one by
      // one, so every connection waits for it.
      out.write(...data(4, 'b1;'));
      out.flush();
      expect(out.bytes).toBe(0);
      expect(drain(gateway)).toHaveLength(count + 1);
      out.write(...data(4, 'b2;'));
      out.flush();
      expect((await b.bytes(3)).toString()).toBe('b2;');
    },
  );

  it("writes each connection's records of a batch with one call, in order", async () => {
    const { ring, slots, gateway } = setup();
    const calls: number[][] = [];
    const out = new DirectOutbound(ring, new WriteSlots(slots.buffer), (fd, u8, offsets, lengths) => {
      calls.push([...lengths]);
      return writevSync(
        fd,
        offsets.map((o, i) => u8.subarray(o, o + lengths[i]!)),
      );
    });
    const a = await lent(slots, 3);
    const b = await lent(slots, 4);
    out.write(...data(3, 'a1;'));
    out.write(...data(4, 'b1;'));
    out.write(...data(3, 'a2;'));
    out.write(...data(3, 'a3;'));
    out.write(...data(4, 'b2;'));
    out.flush();
    expect(calls).toEqual([
      [3, 3, 3],
      [3, 3],
    ]);
    expect(drain(gateway)).toEqual([]);
    expect((await a.bytes(9)).toString()).toBe('a1;a2;a3;');
    expect((await b.bytes(6)).toString()).toBe('b1;b2;');
  });

  it('leaves to the gateway the rest of a gathered write that came back short, and what follows it', async () => {
    const { ring, slots, gateway } = setup();
    // The socket took 5 bytes: "a1;" and "a2" of "a2;".
    const out = new DirectOutbound(ring, new WriteSlots(slots.buffer), () => 5);
    await lent(slots, 3);
    out.write(...data(3, 'a1;'));
    out.write(...data(3, 'a2;'));
    out.write(...data(3, 'a3;'));
    out.flush();
    expect(drain(gateway)).toEqual([
      [RecordKind.DATA, 3, ';'],
      [RecordKind.DATA, 3, 'a3;'],
    ]);
    expect(out.bytes).toBe(5);
  });

  it('leaves the whole batch to the gateway when the write fails (a full socket buffer)', async () => {
    const { ring, slots, gateway } = setup();
    let calls = 0;
    const out = new DirectOutbound(ring, new WriteSlots(slots.buffer), () => {
      calls++;
      throw Object.assign(new Error('EAGAIN: resource temporarily unavailable, write'), { code: 'EAGAIN' });
    });
    await lent(slots, 3);
    out.write(...data(3, 'a1;'));
    out.write(...data(3, 'a2;'));
    out.flush();
    // The connection now waits for the gateway: its next record goes the same way, untried.
    out.write(...data(3, 'a3;'));
    out.flush();
    expect(calls).toBe(1);
    expect(drain(gateway)).toEqual([
      [RecordKind.DATA, 3, 'a1;'],
      [RecordKind.DATA, 3, 'a2;'],
      [RecordKind.DATA, 3, 'a3;'],
    ]);
    expect(out.bytes).toBe(0);
  });

  it("keeps a connection's bytes in order when its socket fills: the rest of a record goes to the gateway, which queues it", async () => {
    const { out, gateway, slots } = setup(4 << 20);
    const a = await lent(slots, 3);
    a.client.pause(); // a slow reader: the kernel's buffers fill, writes come back short
    const record = (i: number) => {
      const b = Buffer.alloc(16 * 1024, 0x41 + (i % 26));
      b.writeUInt32BE(i, 0);
      return b;
    };
    const total = 600;
    let queued = 0;
    let trimmed = 0;
    let viaGateway = 0;
    // Three records a batch: the shard writes them in one gathered call, which the full buffer
    // cuts anywhere (before, inside or after any of the three).
    for (let i = 0; i < total; i += 3) {
      for (let k = i; k < i + 3; k++) out.write(makeTag(RecordKind.DATA, 3), record(k));
      out.flush();
      // The gateway's turn: what the shard left goes out through libuv, with the slot closed
      // until libuv has written all of it (as src/net/tcp-handle.ts does).
      for (let len = gateway.next(); len >= 0; len = gateway.next()) {
        viaGateway++;
        if (len < 16 * 1024) trimmed++;
        slots.close(3);
        queued++;
        a.server.write(Buffer.from(gateway.u8.subarray(gateway.offset, gateway.offset + len)), () => {
          if (--queued === 0) slots.reopen(3, a.token);
        });
      }
      gateway.release();
      if (i === total / 2) a.client.resume();
      if (i % 48 === 0) await new Promise((r) => setImmediate(r));
    }
    a.client.resume();
    const got = await a.bytes(total * 16 * 1024);
    const expected = Buffer.concat(Array.from({ length: total }, (_, i) => record(i)));
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
    // Both paths carried bytes: the shard's own writes, and the gateway's.
    expect(out.bytes).toBeGreaterThan(0);
    expect(viaGateway).toBeGreaterThan(0);
    expect(out.bytes).toBeLessThan(expected.length);
    // And the socket filled in the middle of a record at least once: its rest went by the gateway.
    expect(trimmed).toBeGreaterThan(0);
  });
});
