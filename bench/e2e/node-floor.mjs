#!/usr/bin/env node
// bench/e2e/node-floor.mjs PORT THREADS: what a broker built on Node.js, doing nothing but
// forwarding, costs on this machine, for bench:e2e (BROKERS=...,node1,node2), in the two shapes
// that matter to Weir.
//
//   THREADS 1: one thread reads, routes and writes (the shape of aedes, or of any one-thread
//              Node broker): a message wakes one Node thread. The floor for any Node broker.
//   THREADS 2: Weir's shape, done plainly: the main thread reads and frames, hands whole packets
//              to a worker over a SharedArrayBuffer ring (Atomics.waitAsync / notify when it
//              sleeps), and the worker routes them and writes the subscribers' sockets itself
//              (fs.writeSync on the descriptor, as Weir's direct writes do): a message wakes two
//              Node threads. Without Weir's batching rules (a gathered Buffer per connection, one
//              wake-up per batch and loop turn on both sides), so it is the cost of the shape
//              rather than a bound Weir cannot pass.
//
// It answers CONNECT, SUBSCRIBE and PINGREQ and forwards QoS 0 PUBLISH packets, unchanged, to
// the connections subscribed to exactly their topic, or to a filter "prefix/#"; nothing else (no
// sessions, QoS 1/2, keep-alive, backpressure: it is for the latency and connection scenarios,
// lat-10k and conn-10k, where nothing queues). What a Node broker of that shape costs beyond
// the C floor (floor-broker.c) is Node's own share; what Weir costs beyond this, Weir's. Sockets
// of clients that leave are left open until the process exits (a measurement tool runs for
// seconds; it keeps a descriptor from being reused under the worker's writes).
//
//   node bench/e2e/node-floor.mjs 18830 2     (listens on 127.0.0.1)
import { writeSync } from 'node:fs';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const CONNACK = Uint8Array.of(0x20, 2, 0, 0);
const PINGRESP = Uint8Array.of(0xd0, 0);

/** The routing of both shapes: calls out(conn, bytes, start, end) for every packet to send. */
function makeRouter(out) {
  const exact = new Map(); // topic → connection ids
  const prefixes = []; // [prefix, connection id] for "prefix/#"
  return function packet(conn, p, s, e) {
    const type = p[s] & 0xf0;
    let i = s + 1;
    while (p[i] & 0x80) i++;
    i++;
    if (type === 0x10) out(conn, CONNACK, 0, 4);
    else if (type === 0x30) {
      const topic = latin1(p, i + 2, i + 2 + ((p[i] << 8) | p[i + 1]));
      for (const c of exact.get(topic) ?? []) out(c, p, s, e);
      for (const [prefix, c] of prefixes) if (topic.startsWith(prefix)) out(c, p, s, e);
    } else if (type === 0x80) {
      const id = (p[i] << 8) | p[i + 1];
      const filter = latin1(p, i + 4, i + 4 + ((p[i + 2] << 8) | p[i + 3]));
      if (filter.endsWith('#')) prefixes.push([filter.slice(0, -1), conn]);
      else if (exact.has(filter)) exact.get(filter).push(conn);
      else exact.set(filter, [conn]);
      out(conn, Uint8Array.of(0x90, 3, id >> 8, id & 0xff, 0), 0, 5);
    } else if (type === 0xc0) out(conn, PINGRESP, 0, 2);
  };
}

function latin1(p, start, end) {
  return Buffer.from(p.buffer, p.byteOffset + start, end - start).toString('latin1');
}

/** Packets going out, gathered per connection and written once per connection per batch. */
function makeOutbox(write) {
  const pending = new Map();
  return {
    add(conn, bytes, start, end) {
      const list = pending.get(conn);
      const copy = Buffer.from(bytes.subarray(start, end));
      if (list) list.push(copy);
      else pending.set(conn, [copy]);
    },
    flush() {
      for (const [conn, list] of pending) write(conn, list.length === 1 ? list[0] : Buffer.concat(list));
      pending.clear();
    },
  };
}

// The ring (main → worker): Int32 [0] head, [1] tail, [2] worker sleeping, [3] bell; records of
// [length u32, connection u32, descriptor + 1 u32, bytes] from byte 64, 4-byte aligned, never split.
const RING = 1 << 22;
const ringOf = (sab) => ({
  i32: new Int32Array(sab, 0, 16),
  u8: new Uint8Array(sab, 64, RING),
  dv: new DataView(sab, 64, RING),
});
const WRAP = 0xffffffff;

if (isMainThread) {
  const port = Number(process.argv[2] ?? 18830);
  const threads = Number(process.argv[3] ?? 1);
  const { TCP, constants } = process.binding('tcp_wrap');
  const { WriteWrap, streamBaseState, kReadBytesOrError } = process.binding('stream_wrap');
  const readInto = new Uint8Array(64 * 1024);
  const handles = [];
  const partial = []; // a packet cut by the end of a read, per connection
  const done = () => {};
  const writeTo = (conn, bytes) => {
    const req = new WriteWrap();
    req.handle = handles[conn];
    req.oncomplete = done;
    req.async = false;
    handles[conn].writeBuffer(req, bytes);
  };

  let onPackets; // (conn, bytes, start, end) for a run of whole packets
  if (threads === 1) {
    const outbox = makeOutbox(writeTo);
    const route = makeRouter((c, b, s, e) => outbox.add(c, b, s, e));
    let scheduled = false;
    onPackets = (conn, p, start, end) => {
      for (let s = start; s < end;) {
        const e = s + packetSize(p, s);
        route(conn, p, s, e);
        s = e;
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          outbox.flush();
        });
      }
    };
  } else {
    const sab = new SharedArrayBuffer(64 + RING);
    const ring = ringOf(sab);
    const worker = new Worker(new URL(import.meta.url), { workerData: { sab } });
    worker.on('error', (e) => {
      process.stderr.write(`node-floor: worker failed: ${e.stack}\n`);
      process.exit(1);
    });
    let dirty = false;
    onPackets = (conn, p, start, end) => {
      const len = end - start;
      let head = Atomics.load(ring.i32, 0);
      const need = (12 + len + 3) & ~3;
      if (RING - ((head - Atomics.load(ring.i32, 1)) >>> 0) < 2 * need) {
        process.stderr.write('node-floor: the ring is full; this tool is for lat-10k and conn-10k only\n');
        process.exit(1);
      }
      let at = head % RING;
      if (at + need > RING) {
        ring.dv.setUint32(at, WRAP, true);
        head = (head + RING - at) >>> 0;
        at = 0;
      }
      ring.dv.setUint32(at, len, true);
      ring.dv.setUint32(at + 4, conn, true);
      ring.dv.setUint32(at + 8, handles[conn].fd + 1, true);
      ring.u8.set(p.subarray(start, end), at + 12);
      Atomics.store(ring.i32, 0, (head + need) | 0);
      if (!dirty) {
        dirty = true;
        setImmediate(() => {
          dirty = false;
          if (Atomics.load(ring.i32, 2) === 1) {
            Atomics.add(ring.i32, 3, 1);
            Atomics.notify(ring.i32, 3);
          }
        });
      }
    };
  }

  function onRead() {
    const n = streamBaseState[kReadBytesOrError];
    if (n <= 0) {
      if (n < 0) this.readStop(); // closed: kept open until exit (see the top of the file)
      return;
    }
    const conn = this.conn;
    let p = readInto;
    let end = n;
    if (partial[conn]) {
      p = Buffer.concat([partial[conn], readInto.subarray(0, n)]);
      end = p.length;
      partial[conn] = undefined;
    }
    let whole = 0;
    for (;;) {
      const size = packetSize(p, whole, end);
      if (size === 0 || whole + size > end) break;
      whole += size;
    }
    if (whole > 0) onPackets(conn, p, 0, whole);
    if (whole < end) partial[conn] = Buffer.from(p.subarray(whole, end));
  }

  const server = new TCP(constants.SERVER);
  if (server.bind('127.0.0.1', port) || server.listen(511)) {
    process.stderr.write(`node-floor: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
  server.onconnection = (status, handle) => {
    if (status) return;
    handle.setNoDelay(true);
    handle.conn = handles.length;
    handles.push(handle);
    handle.onread = onRead;
    handle.useUserBuffer(readInto);
    handle.readStart();
  };
  setInterval(() => {}, 1 << 30);
} else {
  const ring = ringOf(workerData.sab);
  const fds = [];
  const outbox = makeOutbox((conn, bytes) => {
    try {
      writeSync(fds[conn], bytes);
    } catch {
      // a client that left (its descriptor is still open, see the top of the file)
    }
  });
  const route = makeRouter((c, b, s, e) => outbox.add(c, b, s, e));
  const keepAlive = setInterval(() => {}, 1 << 30);
  const drain = () => {
    let tail = Atomics.load(ring.i32, 1);
    const head = Atomics.load(ring.i32, 0);
    while (tail !== head) {
      let at = tail % RING;
      if (ring.dv.getUint32(at, true) === WRAP) {
        tail = (tail + RING - at) >>> 0;
        at = 0;
      }
      const len = ring.dv.getUint32(at, true);
      const conn = ring.dv.getUint32(at + 4, true);
      fds[conn] = ring.dv.getUint32(at + 8, true) - 1;
      for (let s = at + 12; s < at + 12 + len;) {
        const e = s + packetSize(ring.u8, s);
        route(conn, ring.u8, s, e);
        s = e;
      }
      tail = (tail + ((12 + len + 3) & ~3)) >>> 0;
    }
    Atomics.store(ring.i32, 1, tail | 0);
    outbox.flush();
  };
  (async () => {
    for (;;) {
      drain();
      Atomics.store(ring.i32, 2, 1);
      const bell = Atomics.load(ring.i32, 3);
      if (Atomics.load(ring.i32, 0) === Atomics.load(ring.i32, 1)) {
        const wait = Atomics.waitAsync(ring.i32, 3, bell);
        if (wait.async) await wait.value;
      }
      Atomics.store(ring.i32, 2, 0);
    }
  })();
  keepAlive.ref();
}

/** Size of the packet at p[at] (0 when its fixed header is not all there, if `end` is given). */
function packetSize(p, at, end = Infinity) {
  let value = 0;
  for (let i = at + 1, shift = 0; i < at + 5; i++, shift += 7) {
    if (i >= end) return 0;
    value += (p[i] & 0x7f) * 2 ** shift;
    if ((p[i] & 0x80) === 0) return i + 1 - at + value;
  }
  return 0;
}
