// Throughput of the SPSC ring between two threads: the main thread produces records in batches,
// a worker consumes them (sleeping when the ring is empty, as a shard does). Each record's payload
// is copied in, as socket bytes are. Not tinybench: a
// cross-thread stream has no per-iteration function to time, so we time a bounded transfer.
import { Worker } from 'node:worker_threads';
import { ringBytes } from '../src/ring/layout.js';
import { initRing, RingProducer } from '../src/ring/spsc-ring.js';

const consumer = `
import { workerData, parentPort } from 'node:worker_threads';
const { RingConsumer } = await import(workerData.module);
const c = new RingConsumer(workerData.ring);
let count = 0, bytes = 0;
while (count < workerData.total) {
  for (let len = c.next(); len >= 0; len = c.next()) { count++; bytes += c.u8[c.offset]; }
  c.release();
  if (count < workerData.total) { const p = c.wait(); if (p) await p; }
}
c.close();
parentPort.postMessage(bytes);
`;

async function stream(size: number, total: number, batch: number): Promise<number> {
  const capacity = 1 << 20;
  const ring = { buffer: new SharedArrayBuffer(ringBytes(capacity)), base: 0, capacity };
  initRing(ring);
  const module = new URL('../src/ring/spsc-ring.js', import.meta.url).href;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(consumer)}`), {
    workerData: { ring, total, module },
  });
  const done = new Promise((resolve) => worker.once('message', resolve));
  await new Promise((resolve) => worker.once('online', resolve));
  const p = new RingProducer(ring);
  // The gateway copies each socket chunk into the ring once; so does the benchmark.
  const payload = new Uint8Array(size).fill(7);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    let at = p.reserve(size);
    while (at < 0) {
      p.flush();
      await p.waitForSpace();
      at = p.reserve(size);
    }
    p.u8.set(payload, at);
    p.commit(i, size);
    if (i % batch === batch - 1) p.flush();
  }
  p.flush();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  p.close();
  await worker.terminate();
  return total / seconds;
}

export async function run(): Promise<void> {
  const rows: string[] = ['| record | batch | records/s | MB/s |', '|---|---|---|---|'];
  for (const [size, total] of [
    [64, 2_000_000],
    [1024, 500_000],
  ] as const) {
    for (const batch of [1, 64]) {
      const rate = await stream(size, total, batch);
      rows.push(
        `| ${size} B | ${batch} | ${(rate / 1e6).toFixed(2)} M | ${((rate * size) / 1e6).toFixed(0)} |`,
      );
    }
  }
  console.log(rows.join('\n'));
}
