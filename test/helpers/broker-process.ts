// The real broker as a child process (`node bin/weir.js`), for the durability tests: start it on a
// free loopback port with its own data directory, kill it (SIGKILL) or stop it (SIGTERM), and
// start it again on the same directory and port. Its stdout and stderr are kept for failure
// messages. `useBrokerProcesses()` kills every process a test left running and removes its data
// directory; a process still alive when the test worker exits is killed then.
//
// Below the process handling: traffic helpers the durability tests share (client IDs placed on a
// given shard, a publisher that keeps a window of QoS 1/2 messages in flight, a receiver that
// acknowledges what it gets). Every wait is bounded in time and every loop in count.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, onTestFailed } from 'vitest';
import type { shardOf as shardOfType } from '../../src/net/gateway.js';
import type { Packet, Properties, PublishPacket, QoS } from '../../src/protocol/packets.js';
import { distModule } from './dist.js';
import { MAX_WAIT, type RawClient, destroyAll, sleep } from './raw-client.js';
import { freePort } from './ports.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'weir.js');

/** How long the broker may take to accept TCP connections after it is spawned. */
export const START_TIMEOUT = 10_000;
/** How long a SIGTERM (graceful close, store flushed) may take before it counts as a hang. */
export const STOP_TIMEOUT = 15_000;
/** Output kept per process (the tail), for failure messages. */
const OUTPUT_LIMIT = 64 * 1024;

export { freePort };

export interface BrokerProcessOptions {
  /** `--shards` (default 2). */
  shards?: number;
  /** More flags, e.g. `['--durability', 'memory']` or `['--max-queued', '10']`. */
  args?: string[];
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every broker process not yet disposed, for the clean-up hooks. */
const live = new Set<BrokerProcess>();

export class BrokerProcess {
  /** The store's directory: the same for every run of this broker. */
  readonly dataDir: string;
  readonly shards: number;
  /** The MQTT/TCP port: picked at the first start, kept for every restart. */
  port = 0;
  /** How many times the broker was started. */
  runs = 0;
  /** The flags after the helper's own, for the next run (a test may change them between runs). */
  args: string[];
  private child: ChildProcess | undefined;
  private exit: Promise<Exit> | undefined;
  /** Set while we are the ones ending the process, so its exit is not reported as a crash. */
  private ending = false;
  private log = '';
  private unexpected: string | undefined;

  constructor(options: BrokerProcessOptions = {}) {
    this.shards = options.shards ?? 2;
    this.args = options.args ?? [];
    this.dataDir = mkdtempSync(join(tmpdir(), 'weir-durability-'));
    live.add(this);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The command line of the next run. */
  get argv(): string[] {
    return [
      bin,
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--ws-port',
      '0',
      '--http-port',
      '0',
      '--sys-interval',
      '0',
      '--data-dir',
      this.dataDir,
      '--shards',
      String(this.shards),
      ...this.args,
    ];
  }

  /** What the broker printed in every run so far (the last 64 KiB), for failure messages. */
  output(): string {
    return this.log.length > 0 ? this.log : '(no output)';
  }

  /**
   * Start the broker and wait until it accepts TCP connections (at most START_TIMEOUT). The first
   * start picks a free port (another with a fresh one if it was taken meanwhile); later starts use
   * the same port (retrying a few times while the old socket is released).
   */
  async start(): Promise<void> {
    if (!existsSync(join(root, 'dist', 'src', 'cli.js')))
      throw new Error('dist/src/cli.js is missing: run `npm run build` before the durability tests');
    if (this.child) throw new Error(`the broker (run ${this.runs}) is still running`);
    const samePort = this.port !== 0;
    for (let attempt = 1; ; attempt++) {
      if (!samePort) this.port = await freePort();
      const failure = await this.spawnOnce();
      if (failure === undefined) return;
      const inUse = /EADDRINUSE|in use/i.test(failure);
      if (!inUse || attempt >= 10) {
        throw new Error(
          `the broker did not start (run ${this.runs}, port ${this.port}): ${failure}\n${this.output()}`,
        );
      }
      await sleep(samePort ? 300 : 20);
    }
  }

  /** SIGKILL: the process ends at once (a crash); resolves when it has exited. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGTERM: the broker closes cleanly; throws unless it exits with code 0 within STOP_TIMEOUT. */
  async stop(): Promise<void> {
    const exit = await this.end('SIGTERM');
    if (exit && exit.code !== 0) {
      throw new Error(
        `the broker exited with ${exit.code ?? exit.signal} after SIGTERM (expected 0)\n${this.output()}`,
      );
    }
  }

  /** Kill (SIGKILL) or stop (SIGTERM) the broker, then start it again on the same directory and port. */
  async restart(how: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    if (how === 'SIGKILL') await this.kill();
    else await this.stop();
    await this.start();
  }

  /** Throws if the broker exited without being told to (its output in the message). */
  assertNoCrash(): void {
    if (this.unexpected) throw new Error(this.unexpected);
  }

  /** Kill the process if it runs and remove the data directory. */
  async dispose(): Promise<void> {
    if (this.child) await this.end('SIGKILL');
    live.delete(this);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Synchronous last resort (the worker is exiting). */
  disposeSync(): void {
    this.child?.kill('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** One spawn; undefined once it accepts connections, or why it did not. */
  private async spawnOnce(): Promise<string | undefined> {
    this.runs++;
    this.log += `── run ${this.runs}: node ${this.argv.slice(1).join(' ')}\n`;
    // Only the flags configure it (a WEIR_* option in the environment would override nothing, but
    // could add settings the test did not ask for); WEIR_WASM, which picks the module, passes.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('WEIR_') || k === 'WEIR_WASM'),
    );
    const child = spawn(process.execPath, this.argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.ending = false;
    const run = this.runs;
    const append = (stream: string) => (chunk: Buffer) => {
      this.log += chunk
        .toString()
        .split('\n')
        .filter((line, i, all) => line !== '' || i < all.length - 1)
        .map((line) => `[${run} ${stream}] ${line}\n`)
        .join('');
      if (this.log.length > OUTPUT_LIMIT) this.log = this.log.slice(-OUTPUT_LIMIT);
    };
    child.stdout!.on('data', append('out'));
    child.stderr!.on('data', append('err'));
    let exited: Exit | undefined;
    this.exit = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        if (this.child === child) this.child = undefined;
        if (!this.ending && this.unexpected === undefined && run === this.runs) {
          this.unexpected = `the broker (run ${run}) exited on its own with ${code ?? signal}\n${this.output()}`;
        }
        resolve(exited);
      });
    });
    child.once('error', (err) => {
      this.log += `[${run} spawn] ${err.message}\n`;
    });
    const deadline = Date.now() + START_TIMEOUT;
    for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
      if (exited) {
        this.unexpected = undefined; // a failed start is reported by start(), not as a crash
        await sleep(50); // let the last stderr chunk arrive
        return `it exited with ${exited.code ?? exited.signal} before accepting connections`;
      }
      if (await accepts(this.port)) return undefined;
      await sleep(50);
    }
    await this.end('SIGKILL');
    return `it did not accept TCP connections on 127.0.0.1:${this.port} within ${START_TIMEOUT} ms`;
  }

  /** Send `signal` and wait for the exit (SIGKILL after STOP_TIMEOUT, then throw). */
  private async end(signal: 'SIGKILL' | 'SIGTERM'): Promise<Exit | undefined> {
    const child = this.child;
    if (!child || !this.exit) return undefined;
    this.ending = true;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT);
    });
    const result = await Promise.race([this.exit, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await this.exit;
      throw new Error(`the broker did not exit within ${STOP_TIMEOUT} ms of ${signal}\n${this.output()}`);
    }
    return result;
  }
}

/** True when a TCP connection to 127.0.0.1:port opens (it is closed again at once). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Start a broker process (inside a test): its output is printed if the test fails, and
 * `useBrokerProcesses()` disposes of it after the test.
 */
export async function spawnBroker(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const broker = new BrokerProcess(options);
  try {
    onTestFailed(() => {
      process.stderr.write(`\n── broker output (${broker.dataDir}) ──\n${broker.output()}\n`);
    });
  } catch {
    /* not inside a test: no failure hook */
  }
  await broker.start();
  return broker;
}

/** Kill every broker process still running, remove their data directories. */
export async function cleanupBrokers(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((b) => b.dispose()));
}

/**
 * For a test file: after each test, destroy the raw clients, then check that no broker crashed on
 * its own, kill every broker process and remove its data directory.
 */
export function useBrokerProcesses(): void {
  afterEach(async () => {
    destroyAll();
    const crashed = [...live].map((b) => {
      try {
        b.assertNoCrash();
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    });
    await cleanupBrokers();
    const first = crashed.find((m) => m !== undefined);
    if (first) throw new Error(first);
  });
  afterAll(async () => {
    destroyAll();
    await cleanupBrokers();
  });
}

process.once('exit', () => {
  for (const b of live) b.disposeSync();
});

// ── clients on a chosen shard ─────────────────────────────────────────────────────────────────

const { shardOf } = (await import(distModule('src/net/gateway.ts'))) as { shardOf: typeof shardOfType };

let seq = 0;

/** A fresh client ID that the gateway hashes to `shard` of `shards`. */
export function idOn(shard: number, shards: number, prefix: string): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `${prefix}-${process.pid}-${++seq}`;
    if (shardOf(id, shards) === shard) return id;
  }
  throw new Error(`no client ID for shard ${shard} of ${shards}`);
}

// ── traffic ───────────────────────────────────────────────────────────────────────────────────

/** DISCONNECT (reason 0: the session stays, the will is dropped) and close. */
export async function disconnect(client: RawClient): Promise<void> {
  client.send({ cmd: 'disconnect' });
  await client.end();
}

/**
 * Publish one QoS 1/2 message and complete its flow as the sender (PUBACK; PUBREC, PUBREL,
 * PUBCOMP); throws unless the broker accepted it (reason code below 0x80). Returns the PUBACK's or
 * PUBREC's reason code (0 in 3.1.1).
 */
export async function publishConfirmed(
  client: RawClient,
  topic: string,
  payload: string | Uint8Array,
  o: { qos: 1 | 2; retain?: boolean; properties?: Properties },
): Promise<number> {
  const id = client.publish(topic, payload, o);
  const ack = await client.expectWhere(o.qos === 1 ? 'puback' : 'pubrec', id, MAX_WAIT);
  const reason = ack.reasonCode ?? 0;
  if (reason >= 0x80) throw new Error(`${ack.cmd} 0x${reason.toString(16)} for a message to ${topic}`);
  if (o.qos === 2) {
    client.send({ cmd: 'pubrel', messageId: id });
    await client.expectWhere('pubcomp', id, MAX_WAIT);
  }
  return reason;
}

/** Sleep until the wall clock reaches `at` (ms since the epoch); bounded to 60 s. */
export async function sleepUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(Math.min(ms, 60_000));
}

export interface WindowedMessage {
  topic: string;
  payload: string | Uint8Array;
  qos: 1 | 2;
  retain?: boolean;
  properties?: Properties;
}

export interface WindowedResult {
  /** PUBLISHes written. */
  sent: number;
  /** Index of every message the broker accepted (PUBACK, or PUBREC, with a code below 0x80), in the order accepted. */
  accepted: number[];
  /** Reason code of every PUBACK/PUBREC, by message index (0 when absent: 3.1.1). */
  reasons: Map<number, number>;
  /** QoS 2 flows with a PUBREC (and our PUBREL) but no PUBCOMP yet: packet identifier → index. */
  awaitingPubcomp: Map<number, number>;
  /** QoS 1/2 PUBLISHes with no answer yet: packet identifier → index. */
  unanswered: Map<number, number>;
  /** The connection closed before every flow completed. */
  closed: boolean;
  /** The time budget ran out first. */
  timedOut: boolean;
  /** Packets other than acks the broker sent (e.g. DISCONNECT). */
  other: Packet[];
}

/**
 * Publish `count` QoS 1/2 messages as fast as a window of `window` unfinished flows allows (a
 * QoS 2 flow is unfinished until its PUBCOMP), completing each flow as a sender. Stops when every
 * flow completed, the connection closed (e.g. the broker was killed), or `timeoutMs` passed.
 * `onAccepted(accepted, unfinished)` runs after every PUBACK/PUBREC accepted.
 */
export async function publishWindowed(
  client: RawClient,
  o: {
    count: number;
    window: number;
    timeoutMs: number;
    message: (i: number) => WindowedMessage;
    onAccepted?: (accepted: number, unfinished: number) => void;
  },
): Promise<WindowedResult> {
  const r: WindowedResult = {
    sent: 0,
    accepted: [],
    reasons: new Map(),
    awaitingPubcomp: new Map(),
    unanswered: new Map(),
    closed: false,
    timedOut: false,
    other: [],
  };
  const deadline = Date.now() + o.timeoutMs;
  let nextId = 1;
  const inUse = () => r.unanswered.size + r.awaitingPubcomp.size;
  const freshId = () => {
    for (let i = 0; i < 65535; i++) {
      const id = nextId;
      nextId = (nextId % 65535) + 1;
      if (!r.unanswered.has(id) && !r.awaitingPubcomp.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  };
  const qosOf = new Map<number, QoS>();
  for (let round = 0; round < 10 * o.count + 1000; round++) {
    if (client.closed) {
      r.closed = inUse() > 0 || r.sent < o.count;
      break;
    }
    if (Date.now() >= deadline) {
      r.timedOut = true;
      break;
    }
    client.socket.cork();
    while (r.sent < o.count && inUse() < o.window) {
      const m = o.message(r.sent);
      const id = freshId();
      client.publish(m.topic, m.payload, {
        qos: m.qos,
        messageId: id,
        ...(m.retain ? { retain: true } : {}),
        ...(m.properties ? { properties: m.properties } : {}),
      });
      r.unanswered.set(id, r.sent);
      qosOf.set(r.sent, m.qos);
      r.sent++;
    }
    client.socket.uncork();
    if (inUse() === 0) break;
    let p: Packet;
    try {
      p = await client.next(Math.max(1, Math.min(MAX_WAIT, deadline - Date.now())));
    } catch (error) {
      if (client.closed) continue;
      if (/no packet within/.test((error as Error).message)) continue;
      throw error;
    }
    if (p.cmd === 'puback' || p.cmd === 'pubrec') {
      const i = r.unanswered.get(p.messageId);
      if (i === undefined || qosOf.get(i) !== (p.cmd === 'puback' ? 1 : 2)) {
        throw new Error(`unexpected ${p.cmd} ${p.messageId} (${JSON.stringify(p)})`);
      }
      r.unanswered.delete(p.messageId);
      const reason = p.reasonCode ?? 0;
      r.reasons.set(i, reason);
      if (reason < 0x80) {
        r.accepted.push(i);
        if (p.cmd === 'pubrec') {
          r.awaitingPubcomp.set(p.messageId, i);
          client.send({ cmd: 'pubrel', messageId: p.messageId });
        }
        o.onAccepted?.(r.accepted.length, inUse());
      }
    } else if (p.cmd === 'pubcomp') {
      r.awaitingPubcomp.delete(p.messageId);
    } else {
      r.other.push(p);
    }
  }
  return r;
}

export interface Receipt {
  /** Every PUBLISH, in arrival order. */
  got: PublishPacket[];
  /** Packet identifiers of the PUBRELs received (each answered with PUBCOMP). */
  pubrels: number[];
  /** Anything else the broker sent. */
  other: Packet[];
  /** The connection closed. */
  closed: boolean;
}

/**
 * Read what the broker sends, acknowledging it as a well-behaved receiver (QoS 1: PUBACK; QoS 2:
 * PUBREC, then PUBCOMP for the PUBREL), until `done(receipt)` holds or `timeoutMs` passed; then
 * keep reading for `settleMs` (default 500) so that late duplicates show.
 */
export async function receiveAcking(
  client: RawClient,
  o: { done: (r: Receipt) => boolean; timeoutMs: number; settleMs?: number; ack?: boolean },
): Promise<Receipt> {
  const r: Receipt = { got: [], pubrels: [], other: [], closed: false };
  const deadline = Date.now() + o.timeoutMs;
  let settleUntil = 0;
  for (let round = 0; round < 10_000_000; round++) {
    const now = Date.now();
    if (settleUntil === 0 && o.done(r)) settleUntil = now + (o.settleMs ?? 500);
    const end = settleUntil !== 0 ? settleUntil : deadline;
    if (now >= end) break;
    let p: Packet;
    try {
      p = await client.next(Math.max(1, Math.min(MAX_WAIT, end - now)));
    } catch (error) {
      if (client.closed) {
        r.closed = true;
        break;
      }
      if (/no packet within/.test((error as Error).message)) continue;
      throw error;
    }
    if (p.cmd === 'publish') {
      r.got.push(p);
      if (o.ack !== false) {
        if (p.qos === 1) client.send({ cmd: 'puback', messageId: p.messageId! });
        if (p.qos === 2) client.send({ cmd: 'pubrec', messageId: p.messageId! });
      }
    } else if (p.cmd === 'pubrel') {
      r.pubrels.push(p.messageId);
      if (o.ack !== false) client.send({ cmd: 'pubcomp', messageId: p.messageId });
    } else {
      r.other.push(p);
    }
  }
  return r;
}

/** The payloads of the PUBLISHes on `topic`, as numbers (payloads are decimal indices). */
export function indices(got: PublishPacket[], topic: string): number[] {
  return got.filter((p) => p.topic === topic).map((p) => Number(Buffer.from(p.payload).toString()));
}

/** The members of `expected` missing from `got`. */
export function missing(expected: Iterable<number>, got: Iterable<number>): number[] {
  const have = new Set(got);
  return [...expected].filter((i) => !have.has(i));
}

/** The values that occur more than once. */
export function duplicates(values: number[]): number[] {
  const seen = new Set<number>();
  const twice = new Set<number>();
  for (const v of values) (seen.has(v) ? twice : seen).add(v);
  return [...twice];
}

/** Each value at its first occurrence, in order (for "in publish order" despite QoS 1 duplicates). */
export function firstOccurrences(values: number[]): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const v of values) {
    if (seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

/** True when strictly increasing. */
export function increasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}
