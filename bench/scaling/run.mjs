#!/usr/bin/env node
// bench/scaling/run.mjs: how Weir's throughput changes with the number of shards and of
// connections. It runs bench/e2e/run.mjs (the same mqload, the same broker start-up, the same
// /proc readings) once per cell of the grid and prints one table:
//
//   rows:    --shards 1, 2, 4 (Mosquitto once per column, as the single-threaded reference)
//   columns: qos0-pairs with 5+5, 500+500 and 5000+5000 connections (10, 1k and 10k)
//
//   npm run build && node bench/scaling/run.mjs
//   SHARDS="1 2" CONNS="10 1000" DURATION=4 ROUNDS=1 node bench/scaling/run.mjs
//
// Environment: SHARDS ("1 2 4"), CONNS ("10 1000 10000", total connections, half publishers),
// SCENARIO (qos0-pairs), ROUNDS (1), DURATION (5), PEERS ("mosquitto"; "" for none). Each cell
// is the median of ROUNDS runs. Results go to OUTDIR (a new temporary directory by default).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E = path.join(HERE, '..', 'e2e', 'run.mjs');
const env = process.env;
const list = (v, d) => (v ?? d).split(/[\s,]+/).filter(Boolean);
const SHARDS = list(env.SHARDS, '1 2 4').map(Number);
const CONNS = list(env.CONNS, '10 1000 10000').map(Number);
const PEERS = list(env.PEERS, 'mosquitto');
const SCENARIO = env.SCENARIO ?? 'qos0-pairs';
const ROUNDS = env.ROUNDS ?? '1';
const DURATION = env.DURATION ?? '5';
const OUTDIR = env.OUTDIR ? path.resolve(env.OUTDIR) : mkdtempSync(path.join(os.tmpdir(), 'weir-scaling-'));
mkdirSync(OUTDIR, { recursive: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/** One bench:e2e run of SCENARIO for one broker; returns the median row figures. */
function cell(broker, conns, shards) {
  const half = Math.max(1, Math.round(conns / 2));
  const dir = path.join(OUTDIR, `${broker}-${shards ?? 0}-${conns}`);
  const res = spawnSync(process.execPath, [E2E, SCENARIO], {
    env: {
      ...env,
      OUTDIR: dir,
      BROKERS: broker,
      ROUNDS,
      DURATION,
      WEIR_E2E_ARGS: `${env.WEIR_E2E_ARGS ?? ''} --shards ${shards ?? 1}`.trim(),
      MQLOAD_ARGS: `${env.MQLOAD_ARGS ?? ''} --pubs ${half} --subs ${half}`.trim(),
    },
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  });
  if (res.status !== 0) process.stderr.write(`run failed for ${dir}:\n${res.stderr}\n`);
  let rows;
  try {
    rows = readFileSync(path.join(dir, 'results.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => r.broker === broker);
  } catch {
    return undefined;
  }
  const cpu = rows.map((r) => (100 * r.broker_cpu_s) / r.wall_s);
  return {
    rate: median(rows.map((r) => r.recv_rate ?? 0)),
    p99: median(rows.map((r) => r.lat_p99_us ?? NaN)),
    cpu: median(cpu),
    rssMb: median(rows.map((r) => r.broker_hwm_kb / 1024)),
    lost: rows.reduce((a, r) => a + (r.lost ?? 0) + (r.dup ?? 0), 0),
  };
}

const fmt = (c) =>
  c
    ? `${Math.round(c.rate).toLocaleString('en')} msg/s, p99 ${Math.round(c.p99)} µs, ${c.rssMb.toFixed(0)} MB${c.lost ? `, ${c.lost} lost/dup` : ''}`
    : 'failed';

const table = [];
for (const shards of SHARDS) {
  const row = [`weir --shards ${shards}`];
  for (const conns of CONNS) {
    process.stderr.write(`scaling: weir --shards ${shards}, ${conns} connections\n`);
    row.push(fmt(cell('weir', conns, shards)));
  }
  table.push(row);
}
for (const peer of PEERS) {
  const row = [peer];
  for (const conns of CONNS) {
    process.stderr.write(`scaling: ${peer}, ${conns} connections\n`);
    row.push(fmt(cell(peer, conns)));
  }
  table.push(row);
}

const head = ['broker', ...CONNS.map((n) => `${n.toLocaleString('en')} connections`)];
const md = [
  `${SCENARIO}, ${os.availableParallelism()} cores, ROUNDS=${ROUNDS} (medians), ${DURATION} s per run`,
  '',
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...table.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
writeFileSync(path.join(OUTDIR, 'scaling.md'), `${md}\n`);
process.stdout.write(`${md}\n\nscaling: results in ${OUTDIR}\n`);
