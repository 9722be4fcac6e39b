// Paired rounds: the same mqload run against several broker commands, in a new random order
// every round, and each one's p50 and p99 divided by a reference's in the same round. On a shared,
// noisy host two runs of one build differ by several times in lat-10k's p99; the median of
// per-round ratios is the statistic such noise disturbs least (bench/HISTORY.md uses it for every
// A/B of a latency change).
//
//   node bench/scaling/paired.mjs ROUNDS NAME='COMMAND using $PORT' ...
//   node bench/scaling/paired.mjs 12 \
//     mosq='mosquitto -p $PORT' \
//     old='node /tmp/old/bin/weir.js --host 127.0.0.1 --port $PORT --ws-port 0 --http-port 0 --durability memory' \
//     new='node bin/weir.js --host 127.0.0.1 --port $PORT --ws-port 0 --http-port 0 --durability memory'
//
// Environment: REF (the reference name; default the first), ALL_PAIRS=1 (ratios between every
// pair, not only to REF), DURATION (4 s measured per run), WARMUP (1), MQLOAD_ARGS (default
// lat-10k: 50 × 50 pairs, QoS 0, 64 B, 10k msg/s), MQLOAD (the binary; by default built from
// bench/e2e/mqload.c as bench:e2e builds it).
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildMqload, canConnect, freePort, median } from '../e2e/common.mjs';

const env = process.env;
const ARGS = (env.MQLOAD_ARGS ?? '--mode pairs --pubs 50 --subs 50 --qos 0 --size 64 --rate 10000').split(
  /\s+/,
);

function die(message) {
  process.stderr.write(`paired: ${message}\n`);
  process.exit(2);
}

const rounds = Number(process.argv[2]);
const specs = process.argv.slice(3).map((arg) => {
  const at = arg.indexOf('=');
  if (at <= 0) die(`"${arg}" is not NAME=COMMAND`);
  return { name: arg.slice(0, at), command: arg.slice(at + 1) };
});
if (!(rounds >= 1) || specs.length < 2)
  die('usage: node bench/scaling/paired.mjs ROUNDS NAME=COMMAND NAME=COMMAND ...');
let MQLOAD = env.MQLOAD;
try {
  MQLOAD ??= buildMqload((m) => process.stderr.write(`paired: ${m}\n`));
} catch (error) {
  die(error.message);
}
const ref = env.REF ?? specs[0].name;
if (!specs.some((s) => s.name === ref)) die(`REF=${ref} is none of the names given`);

/** Starts and later stops a process, reading its standard output. */
function start(file, args, extraEnv = {}) {
  const child = spawn(file, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve) => child.once('close', () => resolve(out)));
  return { child, done };
}

/** One broker, one mqload run: {p50, p99, cpu, lost} or undefined when the run failed. */
async function once({ command }) {
  const port = await freePort();
  const broker = start('bash', ['-c', `exec ${command}`], { PORT: String(port) });
  for (let i = 0; i < 100 && !(await canConnect(port)); i++) await sleep(50);
  await sleep(300);
  const timing = ['--duration', env.DURATION ?? '4', '--warmup', env.WARMUP ?? '1'];
  const mq = start(MQLOAD, [
    '--port',
    String(port),
    ...ARGS,
    ...timing,
    '--watch-pid',
    String(broker.child.pid),
  ]);
  const timer = setTimeout(() => mq.child.kill('SIGKILL'), 120_000);
  const out = await mq.done;
  clearTimeout(timer);
  broker.child.kill('SIGTERM');
  await broker.done;
  try {
    const d = JSON.parse(out);
    return { p50: d.lat_p50_us, p99: d.lat_p99_us, cpu: d.broker_cpu_pct ?? 0, lost: d.lost };
  } catch {
    return undefined;
  }
}

const results = new Map(specs.map((s) => [s.name, []]));
for (let r = 0; r < rounds; r++) {
  const order = [...specs].sort(() => Math.random() - 0.5);
  for (const spec of order) {
    const got = await once(spec);
    if (!got) {
      console.log(`r${r} ${spec.name}: no result`);
      continue;
    }
    results.get(spec.name)[r] = got;
    console.log(
      `r${r} ${spec.name.padEnd(8)} p50 ${got.p50.toFixed(0).padStart(6)} p99 ${got.p99.toFixed(0).padStart(6)} µs  cpu ${got.cpu} %  lost ${got.lost}`,
    );
  }
}

console.log(`\nmedians over rounds; "÷ X" is the median of the per-round ratios to X [lowest, highest]`);
for (const { name } of specs) {
  const mine = results.get(name).flatMap((x, r) => (x ? [{ ...x, r }] : []));
  if (mine.length === 0) continue;
  const line = [
    `${name.padEnd(8)} n=${mine.length}`,
    `p50 ${median(mine.map((x) => x.p50)).toFixed(0)} p99 ${median(mine.map((x) => x.p99)).toFixed(0)} µs`,
    `cpu ${median(mine.map((x) => x.cpu)).toFixed(1)} %`,
  ];
  for (const other of specs) {
    if (other.name === name || (other.name !== ref && !env.ALL_PAIRS)) continue;
    const theirs = results.get(other.name);
    const both = mine.filter((x) => theirs[x.r]);
    const ratios = (k) => both.map((x) => x[k] / theirs[x.r][k]);
    const p99 = ratios('p99');
    if (p99.length === 0) continue;
    const range = `[${Math.min(...p99).toFixed(2)}, ${Math.max(...p99).toFixed(2)}]`;
    line.push(
      `p99 ÷ ${other.name} ${median(p99).toFixed(2)}× ${range}, lower in ${p99.filter((x) => x < 1).length}` +
        ` (p50 ${median(ratios('p50')).toFixed(2)}×)`,
    );
  }
  console.log(line.join('  '));
}
