// Topic matching: Weir's WASM subscription index against qlobber (configured as aedes uses it),
// same process, same run, same subscriptions and topics.
//
// Workload: a device fleet. For N subscriptions, N/100 tenants of 100 devices; filters are
//   60% tenant/{t}/device/{d}/telemetry   (exact)
//   20% tenant/{t}/+/{d}/#
//   19% tenant/{t}/device/{d}/#
//    1% tenant/{t}/device/+/telemetry     (a tenant-wide dashboard)
// and topics are tenant/{t}/device/{d}/telemetry (70%), …/status (20%), tenant/{t}/gateway/{d}/
// telemetry (10%) for random t, d: about 1.5 matches per topic. Each task iteration matches a
// batch of 1024 topics and reads every result's handle; matches/s = topics matched per second.
//   weir matchAt  the hot path: topics already in WASM memory (as when decoded from a ring)
//   weir match    the readable path: a JS string in, SubscriptionEntry objects out
//   qlobber       Qlobber.match(topic) → array of values
// add+remove: each iteration adds 1000 new subscriptions to the index of N and removes them.
import { createRequire } from 'node:module';
import { Bench } from 'tinybench';
import { type SubscriptionEntry, SubscriptionIndex } from '../src/protocol/topic.js';
import { instantiate } from '../src/protocol/wasm.js';

interface QlobberLike {
  add(topic: string, value: number): QlobberLike;
  remove(topic: string, value?: number): QlobberLike;
  match(topic: string): number[];
}
interface QlobberOptions {
  separator: string;
  wildcard_one: string;
  wildcard_some: string;
  match_empty_levels: boolean;
}
const require = createRequire(import.meta.url);
const { Qlobber } = require('qlobber') as { Qlobber: new (options: QlobberOptions) => QlobberLike };
const aedesOptions: QlobberOptions = {
  separator: '/',
  wildcard_one: '+',
  wildcard_some: '#',
  match_empty_levels: true,
};

const BATCH = 1024;
const CHURN = 1000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filterFor(rnd: () => number, tenants: number): string {
  const t = Math.floor(rnd() * tenants);
  const d = Math.floor(rnd() * 100);
  const k = rnd();
  if (k < 0.6) return `tenant/${t}/device/${d}/telemetry`;
  if (k < 0.8) return `tenant/${t}/+/${d}/#`;
  if (k < 0.99) return `tenant/${t}/device/${d}/#`;
  return `tenant/${t}/device/+/telemetry`;
}

function topicFor(rnd: () => number, tenants: number): string {
  const t = Math.floor(rnd() * tenants);
  const d = Math.floor(rnd() * 100);
  const k = rnd();
  if (k < 0.7) return `tenant/${t}/device/${d}/telemetry`;
  if (k < 0.9) return `tenant/${t}/device/${d}/status`;
  return `tenant/${t}/gateway/${d}/telemetry`;
}

interface Row {
  subs: string;
  task: string;
  rate: number;
  unit: string;
  rme: number;
  vs: string;
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function entry(handle: number): SubscriptionEntry {
  return { handle, qos: 1, nl: false, rap: false, rh: 0, subId: 0, group: null };
}

async function scale(n: number, rows: Row[]): Promise<void> {
  const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
  const tenants = Math.max(1, Math.floor(n / 100));
  const rnd = prng(n);
  const filters: string[] = new Array(n);
  for (let i = 0; i < n; i++) filters[i] = filterFor(rnd, tenants);
  const topics: string[] = [];
  for (let i = 0; i < BATCH; i++) topics.push(topicFor(rnd, tenants));

  const wasm = instantiate({ memoryBytes: n >= 1e6 ? 1 << 30 : 256 << 20 });
  const idx = new SubscriptionIndex(wasm);
  const q = new Qlobber(aedesOptions);

  let t0 = performance.now();
  for (let i = 0; i < n; i++) idx.add(filters[i]!, entry(i));
  const weirBuild = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < n; i++) q.add(filters[i]!, i);
  const qBuild = performance.now() - t0;
  rows.push({
    subs: label,
    task: 'build: weir add',
    rate: n / (weirBuild / 1000),
    unit: 'adds/s',
    rme: 0,
    vs: '',
  });
  rows.push({
    subs: label,
    task: 'build: qlobber add',
    rate: n / (qBuild / 1000),
    unit: 'adds/s',
    rme: 0,
    vs: '',
  });

  // The topics in WASM memory, as a decoded PUBLISH would leave them.
  const enc = new TextEncoder();
  const region = wasm.reserve(BATCH * 64, 'bench topics');
  const ptrs = new Int32Array(BATCH);
  const lens = new Int32Array(BATCH);
  let at = region;
  for (let i = 0; i < BATCH; i++) {
    const { written } = enc.encodeInto(topics[i]!, wasm.u8.subarray(at, at + 64));
    ptrs[i] = at;
    lens[i] = written;
    at += 64;
  }

  // Same answers (as sets of handles), or the comparison means nothing.
  let total = 0;
  for (const t of topics) {
    const a = idx
      .match(t)
      .map((e) => e.handle)
      .sort((x, y) => x - y);
    const b = [...q.match(t)].sort((x, y) => x - y);
    if (a.join() !== b.join()) throw new Error(`weir and qlobber disagree on ${t}: ${a} vs ${b}`);
    total += a.length;
  }

  let sink = 0;
  const bench = new Bench({ time: 600, warmupTime: 150, throws: true });
  bench.add('weir matchAt', () => {
    for (let i = 0; i < BATCH; i++) {
      const c = idx.matchAt(ptrs[i]!, lens[i]!);
      for (let k = 0; k < c; k++) sink += idx.handleAt(k);
    }
  });
  bench.add('weir match', () => {
    for (let i = 0; i < BATCH; i++) {
      const r = idx.match(topics[i]!);
      for (let k = 0; k < r.length; k++) sink += r[k]!.handle;
    }
  });
  bench.add('qlobber match', () => {
    for (let i = 0; i < BATCH; i++) {
      const r = q.match(topics[i]!);
      for (let k = 0; k < r.length; k++) sink += r[k]!;
    }
  });
  const churn: string[] = [];
  for (let i = 0; i < CHURN; i++) churn.push(`churn/${i}/${filterFor(rnd, tenants)}`);
  bench.add('weir add+remove', () => {
    for (let i = 0; i < CHURN; i++) idx.add(churn[i]!, entry(n + i));
    for (let i = 0; i < CHURN; i++) idx.remove(churn[i]!, n + i);
  });
  bench.add('qlobber add+remove', () => {
    for (let i = 0; i < CHURN; i++) q.add(churn[i]!, n + i);
    for (let i = 0; i < CHURN; i++) q.remove(churn[i]!, n + i);
  });
  await bench.run();
  if (sink === -1) console.log(sink);

  const perSec = (name: string, ops: number): { rate: number; rme: number } => {
    const task = bench.getTask(name);
    const r = task?.result;
    if (!r || !('period' in r)) throw new Error(`${name} did not complete`);
    return { rate: (ops * 1000) / r.period, rme: r.latency.rme };
  };
  const hot = perSec('weir matchAt', BATCH);
  const readable = perSec('weir match', BATCH);
  const ql = perSec('qlobber match', BATCH);
  const wChurn = perSec('weir add+remove', 2 * CHURN);
  const qChurn = perSec('qlobber add+remove', 2 * CHURN);
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  rows.push({ subs: label, task: 'weir matchAt (hot)', unit: 'matches/s', ...hot, vs: x(hot.rate, ql.rate) });
  rows.push({
    subs: label,
    task: 'weir match (readable)',
    unit: 'matches/s',
    ...readable,
    vs: x(readable.rate, ql.rate),
  });
  rows.push({ subs: label, task: 'qlobber match', unit: 'matches/s', ...ql, vs: '1.0×' });
  rows.push({
    subs: label,
    task: 'weir add+remove',
    unit: 'ops/s',
    ...wChurn,
    vs: x(wChurn.rate, qChurn.rate),
  });
  rows.push({ subs: label, task: 'qlobber add+remove', unit: 'ops/s', ...qChurn, vs: '1.0×' });
  rows.push({
    subs: label,
    task: `(${(total / BATCH).toFixed(2)} results/topic; weir WASM ${((wasm.memory.buffer.byteLength - wasm.exports.memoryFree()) / 2 ** 20).toFixed(0)} MiB reserved)`,
    rate: Number.NaN,
    unit: '',
    rme: Number.NaN,
    vs: '',
  });
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  for (const n of [1_000, 100_000, 1_000_000]) {
    await scale(n, rows);
    (globalThis as { gc?: () => void }).gc?.();
  }
  console.log('| subs | task | rate | unit | ±rme | vs qlobber |');
  console.log('|---:|---|---:|---|---:|---:|');
  for (const r of rows) {
    const rate = Number.isNaN(r.rate) ? '' : fmt(r.rate);
    const rme = Number.isNaN(r.rme) || r.rme === 0 ? '' : `${r.rme.toFixed(1)}%`;
    console.log(`| ${r.subs} | ${r.task} | ${rate} | ${r.unit} | ${rme} | ${r.vs} |`);
  }
  console.log(
    `\nNode ${process.version}; batch of ${BATCH} topics per iteration; rates are per topic or per op.`,
  );
}
