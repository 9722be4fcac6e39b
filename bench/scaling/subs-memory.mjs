#!/usr/bin/env node
// bench/scaling/subs-memory.mjs: how a broker's memory grows with subscriptions. For each broker
// it starts a fresh process, connects CLIENTS MQTT 3.1.1 clients, has them subscribe (in
// SUBSCRIBE packets of 1,000 filters, each waiting for its SUBACK) until the total reaches each
// step of STEPS, and reads the broker's RSS (VmRSS of the process and its children) at each step.
// A refused filter (SUBACK 0x80 or above) is counted and left out of the bytes per subscription.
// The filters are distinct and half are wildcards (`fleet/{n}/+/state`, `fleet/{n}/cmd/#`), the
// shape a device fleet's back end subscribes with.
//
//   npm run build && node bench/scaling/subs-memory.mjs
//   STEPS="100000" BROKERS="weir mosquitto" node bench/scaling/subs-memory.mjs
//
// Environment: STEPS ("100000 1000000"), CLIENTS (100), BROKERS ("weir mosquitto aedes"; a
// broker that is not installed is skipped), WEIR_ARGS (extra weir options).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../e2e/common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..', '..');
const env = process.env;
const STEPS = (env.STEPS ?? '100000 1000000')
  .split(/[\s,]+/)
  .filter(Boolean)
  .map(Number);
const CLIENTS = Number(env.CLIENTS ?? 100);
const BROKERS = (env.BROKERS ?? 'weir mosquitto aedes').split(/[\s,]+/).filter(Boolean);
const PER_PACKET = 1000;

const commands = {
  weir: (port) => [
    process.execPath,
    [path.join(ROOT, 'bin/weir.js'), '--port', String(port), '--ws-port', '0', '--http-port', '0'].concat(
      (env.WEIR_ARGS ?? '--shards 1 --durability memory').split(' ').filter(Boolean),
    ),
  ],
  mosquitto: (port) => ['mosquitto', ['-p', String(port)]],
  aedes: (port) => [process.execPath, [path.join(ROOT, 'bench/e2e/aedes-broker.mjs'), String(port)]],
};

function installed(name) {
  if (name !== 'mosquitto') return true;
  return spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' }).status === 0;
}

function rssKb(pid) {
  let total = 0;
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      const status = readFileSync(`/proc/${pids[i]}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      for (const t of readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, 'utf8').split(' ')) {
        if (t.trim()) pids.push(Number(t));
      }
    } catch {
      // the process ended
    }
  }
  return total;
}

async function waitListening(port, deadline) {
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`broker did not listen on ${port} within the deadline`);
}

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

function packet(type, body) {
  return Buffer.concat([Buffer.from([type, ...varint(body.length)]), body]);
}

function str(s) {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

/** A client that sends packets and resolves each SUBACK in order. */
function client(port, id) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const waiters = [];
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('close', () => {
      const err = new Error(`client ${id} was disconnected by the broker`);
      reject(err);
      for (const w of waiters.splice(0)) w(err);
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length < 2) return;
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length; i++) {
          len += (buf[i] & 127) * mul;
          mul *= 128;
          if ((buf[i] & 128) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const type = buf[0] >> 4;
        const body = buf.subarray(i + 1, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (type === 2) resolve({ sock, waiters });
        else if (type === 9) waiters.shift()?.(null, body.subarray(2).filter((code) => code >= 0x80).length);
      }
    });
    const body = Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 0]), str(id)]);
    sock.write(packet(0x10, body));
  });
}

function subscribe(c, pid, filters) {
  const parts = [Buffer.from([pid >> 8, pid & 255])];
  for (const f of filters) parts.push(str(f), Buffer.from([0]));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SUBACK within 60 s')), 60_000);
    c.waiters.push((err, refused) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(refused);
    });
    c.sock.write(packet(0x82, Buffer.concat(parts)));
  });
}

async function measure(name) {
  const port = await freePort();
  const [cmd, args] = commands[name](port);
  const child = spawn(cmd, args, {
    stdio: ['ignore', env.VERBOSE ? 'inherit' : 'ignore', env.VERBOSE ? 'inherit' : 'ignore'],
  });
  try {
    await waitListening(port, Date.now() + 20_000);
    const clients = [];
    for (let k = 0; k < CLIENTS; k++) clients.push(await client(port, `subs-memory-${k}`));
    await new Promise((r) => setTimeout(r, 500));
    const base = rssKb(child.pid);
    const rows = [];
    let done = 0;
    let refused = 0;
    let pid = 1;
    for (const step of STEPS) {
      while (done < step) {
        // One packet per client at a time, all clients in parallel.
        const round = clients.map((c, k) => {
          const filters = [];
          for (let j = 0; j < PER_PACKET && done + k * PER_PACKET + j < step; j++) {
            const n = done + k * PER_PACKET + j;
            filters.push(n % 2 ? `fleet/${n}/+/state` : `fleet/${n}/cmd/#`);
          }
          return filters.length ? subscribe(c, pid, filters) : undefined;
        });
        const sent = round.filter(Boolean).length;
        for (const n of await Promise.all(round)) refused += n ?? 0;
        pid = (pid % 65535) + 1;
        done = Math.min(step, done + sent * PER_PACKET);
        if (env.VERBOSE)
          process.stderr.write(
            `subs-memory: ${name} ${done} subscriptions, ${(rssKb(child.pid) / 1024).toFixed(0)} MB\n`,
          );
      }
      await new Promise((r) => setTimeout(r, 1000));
      const rss = rssKb(child.pid);
      rows.push({ step, mb: rss / 1024, perSub: ((rss - base) * 1024) / (step - refused), refused });
    }
    for (const c of clients) c.sock.destroy();
    return { base: base / 1024, rows };
  } finally {
    child.kill('SIGKILL');
  }
}

const lines = [
  `memory with subscriptions: ${CLIENTS} clients, ${PER_PACKET} filters per SUBSCRIBE, ${os.availableParallelism()} cores`,
  '',
  `| broker | RSS with ${CLIENTS} clients | ${STEPS.map((s) => `${s.toLocaleString('en')} subscriptions`).join(' | ')} |`,
  `|---|---|${STEPS.map(() => '---').join('|')}|`,
];
for (const name of BROKERS) {
  if (!installed(name)) {
    process.stderr.write(`subs-memory: ${name} is not installed, skipped\n`);
    continue;
  }
  process.stderr.write(`subs-memory: ${name}\n`);
  const r = await measure(name);
  const cells = r.rows.map(
    (x) =>
      `${x.mb.toFixed(0)} MB (${x.perSub.toFixed(0)} B/sub${x.refused ? `; ${x.refused.toLocaleString('en')} refused` : ''})`,
  );
  lines.push(`| ${name} | ${r.base.toFixed(0)} MB | ${cells.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
