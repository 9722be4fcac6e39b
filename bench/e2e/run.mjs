#!/usr/bin/env node
// bench/e2e/run.mjs: `npm run bench:e2e [-- scenario...]`, the end-to-end benchmark.
//
// Starts Weir, aedes (a devDependency, through bench/e2e/aedes-broker.mjs) and Mosquitto (when
// `mosquitto` is on PATH) in turn and runs the same scenarios against each with mqload, a C
// epoll load generator sending pre-encoded packets (bench/e2e/mqload.c, built here with `cc`).
// The scenarios and the way CPU and memory are read are those of the team's peerbench tool
// (shared/peerbench/run-peers.sh and report.mjs), so the figures compare with its tables; nothing
// outside this project is used at run time.
//
// Each (round, scenario, broker) starts a fresh broker on a free 127.0.0.1 port, reads its RSS
// and CPU time from /proc (the process and its descendants), runs one mqload, reads its peak RSS
// (VmHWM) and CPU time again, then stops it by PID (SIGTERM, SIGKILL after 5 s). Brokers
// alternate per round (A B C, then C B A, ...). Before each run it waits (at most QUIET_WAIT s)
// for the rest of the machine to be idle. Every run is bounded in time.
//
//   npm run bench:e2e                               all scenarios, 3 rounds of 8 s
//   npm run bench:e2e -- qos0-pairs qos1-pairs      some scenarios
//   ROUNDS=1 DURATION=2 BROKERS=weir,mosquitto npm run bench:e2e -- lat-10k
//
// Environment:
//   ROUNDS (3), DURATION (8, seconds measured per run), WARMUP (2), THREADS (mqload threads, 1)
//   BROKERS        subset of "weir mosquitto aedes floor node1 node2" (space or comma separated;
//                  default the first three). floor is bench/e2e/floor-broker.c: framing and QoS 0
//                  forwarding with nothing else, the floor any broker can reach with this
//                  generator here; node1 and node2 are bench/e2e/node-floor.mjs, the same
//                  forwarding on Node.js in one thread, and in Weir's two done plainly
//                  (lat-10k, conn-10k only)
//   NODELAY=1      TCP_NODELAY in Mosquitto and aedes too (default: theirs, Nagle on; Weir always
//                  sets TCP_NODELAY and batches its own writes)
//   WEIR_NODE_ARGS node options for the Weir process, e.g. "--max-semi-space-size=2"
//   WEIR_E2E_ARGS  extra `weir` options, e.g. "--shards 2" or "--durability flush" (a flush or
//                  interval run gets a fresh --data-dir per run unless one is given)
//   MQLOAD_ARGS    extra mqload options for every run
//   OUTDIR         where results.jsonl, table.txt, table.md and the logs go (default: a new
//                  directory under the system temp dir)
//   QUIET_WAIT (60), QUIET_PCT (15): wait up to QUIET_WAIT s until other processes use less
//                  than QUIET_PCT % of one core (0 = don't wait)
//   CC             C compiler for mqload (default cc)
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildC, buildMqload, canConnect, freePort, median } from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const env = process.env;

function intEnv(name, def, min) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) die(`${name}=${raw}: expected an integer >= ${min}`);
  return v;
}
function words(s) {
  return (s ?? '').split(/[\s,]+/).filter(Boolean);
}
function die(msg) {
  process.stderr.write(`bench:e2e: ${msg}\n`);
  process.exit(2);
}
function say(msg) {
  process.stderr.write(`bench:e2e: ${msg}\n`);
}
function buildOrDie(build) {
  try {
    return build();
  } catch (error) {
    die(error.message);
  }
}

const ROUNDS = intEnv('ROUNDS', 3, 1);
const DURATION = intEnv('DURATION', 8, 1);
const WARMUP = intEnv('WARMUP', 2, 0);
const THREADS = intEnv('THREADS', 1, 1);
const QUIET_WAIT = intEnv('QUIET_WAIT', 60, 0);
const QUIET_PCT = intEnv('QUIET_PCT', 15, 1);
const NODELAY = env.NODELAY === '1';
const MQLOAD_ARGS = words(env.MQLOAD_ARGS);
const WEIR_ARGS = words(env.WEIR_E2E_ARGS);
const CONN_HOLD = 5; // seconds conn-10k holds its connections (as run-peers.sh)
const DRAIN = 3;
const GEN_BUSY_PCT = 85; // mqload CPU (per thread) from which a row is flagged
const OTHER_BUSY_PCT = 25; // other processes' CPU from which a row is flagged as noisy

// The scenarios of shared/peerbench/run-peers.sh, same parameters.
const SCENARIOS = {
  'qos0-pairs': {
    what: '50 × 50 pairs, QoS 0, 64 B',
    args: '--mode pairs --pubs 50 --subs 50 --qos 0 --size 64',
  },
  'qos0-fanin': {
    what: '100 → 1 (`#`), QoS 0, 64 B',
    args: '--mode fanin --pubs 100 --subs 1 --qos 0 --size 64',
  },
  'qos0-fanout': {
    what: '1 → 500, QoS 0, 64 B (deliveries/s)',
    args: '--mode fanout --pubs 1 --subs 500 --qos 0 --size 64',
  },
  'qos1-pairs': {
    what: '50 × 50 pairs, QoS 1, 256 B',
    args: '--mode pairs --pubs 50 --subs 50 --qos 1 --size 256',
  },
  'qos2-pairs': {
    what: '20 × 20 pairs, QoS 2, 64 B',
    args: '--mode pairs --pubs 20 --subs 20 --qos 2 --size 64',
  },
  wildcard: {
    what: '1000 × 1000 pairs + 10 non-matching wildcard filters each',
    args: '--mode pairs --pubs 1000 --subs 1000 --wildcard-subs 10 --qos 0 --size 64',
  },
  'lat-10k': {
    what: 'fixed 10k msg/s, 50 × 50, QoS 0 (p99 latency)',
    args: '--mode pairs --pubs 50 --subs 50 --qos 0 --size 64 --rate 10000',
    latency: true,
  },
  shared: {
    what: 'MQTT 5 `$share`, 10 pubs, 10 subs, 10 topics, QoS 1',
    args: '--mode shared --v5 --pubs 10 --subs 10 --topics 10 --qos 1 --size 64',
    v5: true,
  },
  'conn-10k': {
    what: '10,000 connections (handshake rate, memory per idle connection)',
    args: '--mode conn --conns 10000',
    conn: true,
  },
};

function mqloadArgs(sc) {
  const s = SCENARIOS[sc];
  const common = s.conn
    ? ['--duration', String(CONN_HOLD), '--threads', String(THREADS)]
    : [
        '--warmup',
        String(WARMUP),
        '--duration',
        String(DURATION),
        '--drain',
        String(DRAIN),
        '--threads',
        String(THREADS),
      ];
  return [...s.args.split(' '), ...common, ...MQLOAD_ARGS];
}

// ---------- command line ----------
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  const head = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const end = head.findIndex((l) => l.startsWith('import'));
  process.stdout.write(
    head
      .slice(1, end)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n') + `\nScenarios: ${Object.keys(SCENARIOS).join(' ')}\n`,
  );
  process.exit(0);
}
for (const a of argv) {
  if (!SCENARIOS[a]) die(`unknown scenario "${a}"; scenarios: ${Object.keys(SCENARIOS).join(' ')}`);
}
const scenarios = argv.length ? [...new Set(argv)] : Object.keys(SCENARIOS);
const ALL_BROKERS = ['weir', 'mosquitto', 'aedes', 'floor', 'node1', 'node2'];
// an opt-in broker (the floors) runs only when BROKERS names it
const OPT_IN = ['floor', 'node1', 'node2'];
const wanted = words(env.BROKERS).length
  ? [...new Set(words(env.BROKERS))]
  : ALL_BROKERS.filter((b) => !OPT_IN.includes(b));
for (const b of wanted)
  if (!ALL_BROKERS.includes(b)) die(`unknown broker "${b}" in BROKERS; brokers: ${ALL_BROKERS}`);

// ---------- helpers: processes, /proc ----------
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
// ulimit -n cannot be raised from Node: children start through bash, which raises it and execs.
const ULIMIT = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null';
function spawnLimited(cmd, args, opts) {
  return spawn('bash', ['-c', `${ULIMIT}; exec "$@"`, 'bench-e2e', cmd, ...args], opts);
}
function fdLimit() {
  const r = spawnSync('bash', ['-c', `${ULIMIT}; ulimit -n`], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v);
}
// a command on PATH, or in the sbin directories a non-root PATH lacks (Debian puts mosquitto there)
function findCommand(cmd) {
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = path.join(d, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
const MOSQUITTO = findCommand('mosquitto');
function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}
const running = new Set(); // children to kill if this script is interrupted

// pid and its descendants
function procTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks;
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const c = readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (c) for (const x of c.split(/\s+/)) out.push(Number(x));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}
// utime + stime, in ticks, over a pid list
function cpuTicks(pids) {
  let t = 0;
  for (const p of pids) {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return t;
}
// a /proc/PID/status field (VmRSS, VmHWM), in kB, summed over a pid list
function statusKb(pids, field) {
  let t = 0;
  for (const p of pids) {
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) t += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return t;
}
// user + nice + system + steal of all CPUs (irq/softirq left out, as run-peers.sh does: the
// benchmark's own loopback traffic lands there and is charged to neither side)
function sysBusyTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return Number(f[1]) + Number(f[2]) + Number(f[3]) + Number(f[8] ?? 0);
}
async function waitQuiet() {
  if (QUIET_WAIT <= 0) return;
  const start = Date.now();
  for (;;) {
    const a = sysBusyTicks();
    await sleep(1000);
    const pct = ((sysBusyTicks() - a) * 100) / CLK_TCK;
    if (pct < QUIET_PCT) return;
    if (Date.now() - start >= QUIET_WAIT * 1000) {
      say(`machine still busy (${pct.toFixed(0)} % of a core used by others), running anyway`);
      return;
    }
  }
}
function tail(file, n = 5) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
async function stopChild(child, graceMs = 5000) {
  if (exited(child)) return;
  const tree = procTree(child.pid).slice(1);
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const r = await Promise.race([gone.then(() => 'exit'), sleep(graceMs).then(() => 'timeout')]);
  if (r === 'timeout') {
    child.kill('SIGKILL');
    await gone;
  }
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL'); // a descendant left behind
    } catch {
      /* already gone */
    }
  }
}
function onInterrupt(sig) {
  say(`${sig}: stopping`);
  for (const c of running) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  process.exit(130);
}
process.on('SIGINT', () => onInterrupt('SIGINT'));
process.on('SIGTERM', () => onInterrupt('SIGTERM'));

// ---------- mqload ----------
function runMqload(bin, args, errFile, timeoutMs) {
  return new Promise((resolve) => {
    const errFd = openSync(errFile, 'w');
    const child = spawnLimited(bin, args, { stdio: ['ignore', 'pipe', errFd] });
    closeSync(errFd);
    running.add(child);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    let killTimer;
    const timer = setTimeout(() => {
      say(`mqload still running after ${timeoutMs / 1000} s: stopping it`);
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      running.delete(child);
      const line = out.trim().split('\n').pop() ?? '';
      let json;
      try {
        json = line.startsWith('{') ? JSON.parse(line) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ json, code, signal });
    });
  });
}

// ---------- brokers ----------
function weirVersion() {
  const v = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  const g = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return g.status === 0 ? `${v} (${g.stdout.trim()})` : v;
}
// the last --durability in WEIR_E2E_ARGS wins, as in weir's own parser
function weirOpt(name) {
  let v;
  for (let i = 0; i < WEIR_ARGS.length; i++) {
    const a = WEIR_ARGS[i];
    if (a === `--${name}`) v = WEIR_ARGS[i + 1];
    else if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
  }
  return v;
}
const weirDurability = weirOpt('durability') ?? 'memory';

const NODE_ARGS = (env.WEIR_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

let OUTDIR = '';
let floorBin = '';
const BROKERS = {
  weir: {
    check() {
      if (!existsSync(path.join(ROOT, 'dist/src/cli.js'))) return 'dist/ is missing: run `npm run build`';
      return undefined;
    },
    version: weirVersion,
    settings: () => `--durability ${weirDurability}, TCP_NODELAY on (always)`,
    command(port, tag) {
      const args = [
        ...NODE_ARGS,
        path.join(ROOT, 'bin/weir.js'),
        ...['--host', '127.0.0.1', '--port', String(port), '--ws-port', '0', '--http-port', '0'],
        ...['--sys-interval', '0', '--durability', 'memory'],
        ...WEIR_ARGS,
      ];
      // a store per run: sessions left by the previous run must not be restored into this one
      if (weirDurability !== 'memory' && weirOpt('data-dir') === undefined) {
        const dir = path.join(OUTDIR, `weir-data-${tag}`);
        rmSync(dir, { recursive: true, force: true });
        args.push('--data-dir', dir);
      }
      return { cmd: process.execPath, args };
    },
  },
  mosquitto: {
    check: () => (MOSQUITTO ? undefined : 'skipped: apt-get install mosquitto'),
    version() {
      const r = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
      const m = /version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`);
      return m ? m[1] : '?';
    },
    settings: () => `persistence false, set_tcp_nodelay ${NODELAY}`,
    command(port, tag) {
      const conf = path.join(OUTDIR, `mosquitto-${tag}.conf`);
      writeFileSync(
        conf,
        [
          '# generated by bench/e2e/run.mjs (the settings of shared/peerbench/run-peers.sh)',
          `listener ${port} 127.0.0.1`,
          'allow_anonymous true',
          'persistence false',
          'max_queued_messages 1000000',
          'max_connections -1',
          `set_tcp_nodelay ${NODELAY}`,
          'sys_interval 0',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          '',
        ].join('\n'),
      );
      return { cmd: MOSQUITTO, args: ['-c', conf] };
    },
  },
  aedes: {
    check() {
      if (!existsSync(path.join(ROOT, 'node_modules/aedes/package.json')))
        return 'skipped: aedes is missing, run `npm install` (it is a devDependency)';
      return undefined;
    },
    version: () =>
      JSON.parse(readFileSync(path.join(ROOT, 'node_modules/aedes/package.json'), 'utf8')).version,
    settings: () => `in-memory persistence, noDelay ${NODELAY}`,
    unsupported: (sc) => (SCENARIOS[sc].v5 ? 'no MQTT 5' : undefined),
    command(port) {
      return {
        cmd: process.execPath,
        args: [path.join(HERE, 'aedes-broker.mjs'), String(port)],
        env: { BROKER_NODELAY: NODELAY ? '1' : '0' },
      };
    },
  },
  floor: {
    check() {
      floorBin = buildOrDie(() => buildC('floor-broker', [], say));
      return undefined;
    },
    version: () => 'bench/e2e/floor-broker.c',
    settings: () =>
      'QoS 0, exact and prefix/# filters, one write per connection per loop turn, TCP_NODELAY on',
    unsupported: (sc) => (/--qos [12]/.test(SCENARIOS[sc].args) ? 'QoS 0 only' : undefined),
    command(port) {
      return { cmd: floorBin, args: [String(port)] };
    },
  },
  node1: nodeFloor(1),
  node2: nodeFloor(2),
};

/** bench/e2e/node-floor.mjs with one thread, or with Weir's two. */
function nodeFloor(threads) {
  return {
    check: () => undefined,
    version: () => `bench/e2e/node-floor.mjs, ${threads} thread${threads > 1 ? 's' : ''}`,
    settings: () =>
      threads === 1
        ? 'QoS 0, exact and prefix/# filters, one thread, one write per connection per loop turn, TCP_NODELAY on'
        : 'the same on two threads: the main thread reads, a worker routes and writes the sockets itself',
    unsupported: (sc) => (sc === 'lat-10k' || sc === 'conn-10k' ? undefined : 'lat-10k, conn-10k only'),
    command(port) {
      return {
        cmd: process.execPath,
        args: [path.join(HERE, 'node-floor.mjs'), String(port), String(threads)],
      };
    },
  };
}

async function startBroker(name, port, tag, log) {
  const { cmd, args, env: extra } = BROKERS[name].command(port, tag);
  const fd = openSync(log, 'w');
  const child = spawnLimited(cmd, args, { stdio: ['ignore', fd, fd], env: { ...env, ...extra } });
  closeSync(fd);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`${name} exited at start:\n${tail(log)}`);
    if (await canConnect(port)) {
      await sleep(200);
      return child;
    }
    await sleep(50);
  }
  await stopChild(child);
  throw new Error(`${name} did not open port ${port} within 20 s:\n${tail(log)}`);
}

// ---------- one run ----------
function flagsOf(r) {
  const f = [];
  if (r.failed) return [r.failed];
  if (!r.broker_alive) f.push('broker died');
  if (r.mode !== 'conn' && r.gen_cpu_pct / THREADS >= GEN_BUSY_PCT)
    f.push(`gen CPU ${r.gen_cpu_pct.toFixed(0)}%`);
  if (r.mode === 'conn') {
    if (r.connected < r.conns) f.push(`connected ${r.connected}/${r.conns}`);
  } else {
    if (r.lost) f.push(`lost ${r.lost}${r.drained === false ? ' (drain timed out)' : ''}`);
    if (r.rate_target > 0 && r.mode === 'pairs' && r.recv_rate < 0.95 * r.rate_target)
      f.push('below target rate');
  }
  if (r.dup) f.push(`dup ${r.dup}`);
  if (r.errors) f.push(`errors ${r.errors}`);
  const other = otherPct(r);
  if (other >= OTHER_BUSY_PCT) f.push(`other CPU ${other.toFixed(0)}%`);
  return f;
}
function otherPct(r) {
  if (!r.wall_s || r.sys_busy_s === undefined) return NaN;
  return (Math.max(0, r.sys_busy_s - (r.broker_cpu_s || 0) - (r.gen_cpu_total_s || 0)) / r.wall_s) * 100;
}

async function runOne(mqload, name, sc, round, versions) {
  const tag = `${name}-${sc}-r${round}`;
  const log = path.join(OUTDIR, `${tag}.log`);
  const base = { broker: name, broker_version: versions[name], scenario: sc, round };
  await waitQuiet();
  const port = await freePort();
  let child;
  try {
    child = await startBroker(name, port, tag, log);
  } catch (e) {
    say(e.message);
    return { ...base, failed: 'broker did not start' };
  }
  const tree0 = procTree(child.pid);
  const baseRss = statusKb(tree0, 'VmRSS');
  const c0 = cpuTicks(tree0);
  const s0 = sysBusyTicks();
  const t0 = performance.now();
  const args = ['--port', String(port), '--watch-pid', tree0.join(','), ...mqloadArgs(sc)];
  const timeoutMs = (WARMUP + DURATION + DRAIN + 120) * 1000;
  const res = await runMqload(mqload, args, path.join(OUTDIR, `${tag}.mqload.err`), timeoutMs);
  const t1 = performance.now();
  const tree = procTree(child.pid);
  const c1 = cpuTicks(tree);
  const s1 = sysBusyTicks();
  const hwm = statusKb(tree, 'VmHWM');
  const alive = !exited(child);
  await stopChild(child);
  const r = {
    ...base,
    broker_cpu_s: (c1 - c0) / CLK_TCK,
    broker_hwm_kb: hwm,
    broker_base_rss_kb: baseRss,
    broker_alive: alive,
    wall_s: (t1 - t0) / 1000,
    sys_busy_s: (s1 - s0) / CLK_TCK,
    ...(res.json ?? {}),
  };
  if (!res.json) {
    say(
      `mqload failed for ${tag} (exit ${res.code ?? res.signal}; see ${tag}.mqload.err):\n${tail(path.join(OUTDIR, `${tag}.mqload.err`))}`,
    );
    r.failed = 'mqload failed';
  }
  return r;
}

// ---------- tables ----------
const isConn = (r) => SCENARIOS[r.scenario]?.conn === true;
const kbPerConn = (r) => (r.connected ? (r.broker_hwm_kb - r.broker_base_rss_kb) / r.connected : NaN);
function fmt(v, d = 0) {
  if (v === undefined || v === null || Number.isNaN(v)) return '?';
  return Number(v).toFixed(d);
}
const COLS = [
  ['broker', (r) => r.broker],
  ['scenario', (r) => r.label ?? r.scenario],
  ['recv msg/s', (r) => (isConn(r) ? '-' : fmt(r.recv_rate))],
  ['p50 us', (r) => (isConn(r) ? '-' : fmt(r.lat_p50_us))],
  ['p99 us', (r) => (isConn(r) ? '-' : fmt(r.lat_p99_us))],
  ['lost', (r) => (isConn(r) ? '-' : fmt(r.lost))],
  ['dup', (r) => fmt(r.dup)],
  ['errs', (r) => fmt(r.errors)],
  ['conn/s', (r) => (isConn(r) ? fmt(r.connect_rate) : '-')],
  ['KB/conn', (r) => (isConn(r) ? fmt(kbPerConn(r), 1) : '-')],
  ['peak RSS MB', (r) => fmt(r.broker_hwm_kb / 1024, 1)],
  ['broker CPU s', (r) => fmt(r.broker_cpu_s, 2)],
  // mqload's CPU window is the measurement window; in conn-10k that is the idle hold: not shown
  ['broker CPU %', (r) => (isConn(r) ? '-' : r.broker_cpu_pct >= 0 ? fmt(r.broker_cpu_pct) : '?')],
  ['gen CPU %', (r) => (isConn(r) ? '-' : fmt(r.gen_cpu_pct))],
  ['other CPU %', (r) => fmt(otherPct(r))],
  ['flags', (r) => (r.flags?.length ? r.flags.join('; ') : '')],
];
function textTable(head, rows, leftCols = 2) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (x) =>
    x
      .map((c, i) => (i < leftCols || i === x.length - 1 ? c.padEnd(w[i]) : c.padStart(w[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
function mdTable(head, rows) {
  const esc = (c) => c.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((x) => `| ${x.map(esc).join(' | ')} |`),
  ].join('\n');
}
const runTable = (recs) =>
  textTable(
    COLS.map(([h]) => h),
    recs.map((r) => COLS.map(([, f]) => String(f(r)))),
  );

function medians(recs) {
  const groups = new Map();
  for (const r of recs) {
    const k = `${r.scenario}\u0000${r.broker}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const out = [];
  for (const g of groups.values()) {
    const ok = g.filter((r) => !r.failed);
    const m = { ...(ok[0] ?? g[0]), runs: g.length, ok: ok.length };
    for (const key of Object.keys(m)) {
      if (typeof m[key] === 'number' && key !== 'round' && key !== 'runs' && key !== 'ok')
        m[key] = median(ok.map((r) => r[key]));
    }
    m.kb_per_conn = median(ok.map(kbPerConn));
    m.broker_alive = ok.every((r) => r.broker_alive);
    // a flag of any run, with the run's round: "gen CPU 91% (#2)"
    m.flags = g.length > 1 ? g.flatMap((r) => r.flags.map((f) => `${f} (#${r.round})`)) : g[0].flags;
    m.label = ok.length < g.length ? `${m.scenario} (${ok.length}/${g.length} ok)` : m.scenario;
    out.push(m);
  }
  const order = (r) => scenarios.indexOf(r.scenario) * 10 + ALL_BROKERS.indexOf(r.broker);
  return out.sort((a, b) => order(a) - order(b));
}

function ratioRows(meds, present, skipped) {
  const get = (b, sc) => meds.find((m) => m.broker === b && m.scenario === sc && m.ok > 0);
  const peers = peersOf(present);
  const rows = [];
  const metrics = (sc) => {
    const s = SCENARIOS[sc];
    if (s.conn)
      return [
        ['connections/s', (m) => m.connect_rate, 0],
        ['KB per connection (lower is better)', (m) => m.kb_per_conn, 1],
      ];
    if (s.latency) return [['p99 latency us (lower is better)', (m) => m.lat_p99_us, 0]];
    return [[sc === 'qos0-fanout' ? 'deliveries/s' : 'recv msg/s', (m) => m.recv_rate, 0]];
  };
  for (const sc of scenarios) {
    for (const [label, get1, d] of metrics(sc)) {
      const w = get('weir', sc);
      const cells = [sc, label];
      const notes = [];
      const val = (b) => {
        if (!present.includes(b)) return skipped[b] ? 'skipped' : '-';
        const u = BROKERS[b].unsupported?.(sc);
        if (u) return `(${u})`;
        const m = get(b, sc);
        if (!m) return 'failed';
        if (m.flags.length) notes.push(`${b}: ${m.flags.join(', ')}`);
        return fmt(get1(m), d);
      };
      cells.push(val('weir'));
      for (const p of peers) cells.push(val(p));
      for (const p of peers) {
        const m = get(p, sc);
        const a = w && get1(w);
        const b = m && get1(m);
        cells.push(a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '');
      }
      cells.push(notes.join('; '));
      rows.push(cells);
    }
  }
  return rows;
}
// every peer has a column ('skipped' when it could not run), an opt-in one only when it ran
const peersOf = (present) =>
  ALL_BROKERS.filter((b) => b !== 'weir' && (!OPT_IN.includes(b) || present.includes(b)));
const ratioHead = (present) => {
  const peers = peersOf(present);
  return ['scenario', 'metric', 'weir', ...peers, ...peers.map((p) => `weir ÷ ${p}`), 'flags'];
};

function machine() {
  let distro = '';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    /* not Linux? */
  }
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model?.trim() ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${distro || os.type()} (${os.release()}), Node ${process.version}`;
}

// ---------- main ----------
async function main() {
  if (process.platform !== 'linux') die('needs Linux (/proc and epoll)');
  const mqload = buildOrDie(() => buildMqload(say));
  OUTDIR = env.OUTDIR ? path.resolve(env.OUTDIR) : mkdtempSync(path.join(os.tmpdir(), 'weir-bench-e2e-'));
  mkdirSync(OUTDIR, { recursive: true });
  const results = path.join(OUTDIR, 'results.jsonl');
  writeFileSync(results, '');

  const present = [];
  const skipped = {};
  const versions = {};
  for (const b of wanted) {
    const why = BROKERS[b].check();
    if (why) {
      skipped[b] = why;
      say(`${b}: ${why}`);
    } else {
      present.push(b);
      versions[b] = BROKERS[b].version();
    }
  }
  if (!present.length) die('no broker to run');
  if (scenarios.includes('conn-10k')) {
    const lim = fdLimit();
    if (lim < 10100) say(`warning: the fd limit is ${lim} (hard limit); conn-10k needs more than 10,100`);
  }

  const header = [
    `bench:e2e ${new Date().toISOString()}`,
    `machine: ${machine()}`,
    `command: ${[
      ...[
        'ROUNDS',
        'DURATION',
        'WARMUP',
        'THREADS',
        'BROKERS',
        'NODELAY',
        'WEIR_E2E_ARGS',
        'MQLOAD_ARGS',
        'QUIET_WAIT',
      ]
        .filter((k) => env[k])
        .map((k) => `${k}=${/^[\w.,-]+$/.test(env[k]) ? env[k] : `'${env[k]}'`}`),
      'npm run bench:e2e',
      ...(argv.length ? ['--', ...argv] : []),
    ].join(' ')}`,
    `rounds ${ROUNDS}, ${DURATION} s measured per run (+${WARMUP} s warm-up, conn-10k holds ${CONN_HOLD} s), mqload threads ${THREADS}`,
    ...present.map((b) => `${b} ${versions[b]}: ${BROKERS[b].settings()}`),
    ...Object.entries(skipped).map(([b, why]) => `${b}: ${why}`),
  ];
  for (const l of header) say(l);
  say(`output in ${OUTDIR}`);

  const recs = [];
  const total = ROUNDS * scenarios.length * present.length;
  let n = 0;
  let weirLine = '';
  for (let round = 1; round <= ROUNDS; round++) {
    for (const sc of scenarios) {
      const order = round % 2 === 0 ? [...present].reverse() : present;
      for (const b of order) {
        n++;
        const u = BROKERS[b].unsupported?.(sc);
        if (u) {
          say(`[${n}/${total}] ${b} ${sc} round ${round}: skipped (${u})`);
          continue;
        }
        const r = await runOne(mqload, b, sc, round, versions);
        r.flags = flagsOf(r);
        recs.push(r);
        appendFileSync(results, `${JSON.stringify(r)}\n`);
        if (b === 'weir' && !weirLine)
          weirLine =
            /weir: listening on .*$/m.exec(tail(path.join(OUTDIR, `${b}-${sc}-r${round}.log`), 50))?.[0] ??
            '';
        const x = COLS.map(([h, f]) => [h, String(f(r))]).filter(
          ([h, v]) => v !== '-' && v !== '' && h !== 'broker' && h !== 'scenario',
        );
        say(`[${n}/${total}] ${b} ${sc} round ${round}: ${x.map(([h, v]) => `${h} ${v}`).join(', ')}`);
      }
    }
  }

  const meds = medians(recs);
  const out = [
    ...header,
    ...(weirLine ? [`weir said: ${weirLine.replace(/^weir: /, '')}`] : []),
    '',
    `all runs:`,
    runTable(recs.map((r) => ({ ...r, label: `${r.scenario}#${r.round}` }))),
    '',
    ROUNDS > 1
      ? `medians per (broker, scenario) (runs that completed):`
      : 'medians: one round, so the runs above are the figures',
    ...(ROUNDS > 1 ? [runTable(meds), ''] : ['']),
    'ratios of the medians, Weir ÷ peer (recv msg/s: higher is better; latency and KB per connection: lower is better):',
    textTable(ratioHead(present), ratioRows(meds, present, skipped)),
    '',
    `flags: gen CPU ≥ ${GEN_BUSY_PCT}% = mqload itself may limit that row; lost/dup/errors ≠ 0; other CPU ≥ ${OTHER_BUSY_PCT}% = other processes took CPU during the run (noise).`,
    'CPU % columns: 100 = one core, inside the measurement window; KB/conn = (peak RSS after − RSS before) / connections.',
  ].join('\n');
  process.stdout.write(`\n${out}\n`);
  writeFileSync(path.join(OUTDIR, 'table.txt'), `${out}\n`);
  const md = [
    ...header.map((l) => `${l}  `),
    '',
    mdTable(ratioHead(present), ratioRows(meds, present, skipped)),
    '',
    mdTable(
      COLS.map(([h]) => h),
      (ROUNDS > 1 ? meds : recs).map((r) => COLS.map(([, f]) => String(f(r)))),
    ),
    '',
  ].join('\n');
  writeFileSync(path.join(OUTDIR, 'table.md'), md);
  say(`results in ${OUTDIR} (results.jsonl, table.txt, table.md, logs)`);
}

await main();
