// The `weir` command as a user runs it: node bin/weir.js with flags, in a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/broker.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weir.js');
const dataDir = mkdtempSync(join(tmpdir(), 'weir-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** A pattern or test of stdout: once met, the CLI gets `signal`. */
  until?: RegExp | ((stdout: string) => boolean);
  signal?: NodeJS.Signals;
  /** Flags for node itself, before the script. */
  nodeFlags?: string[];
  /** Gets the child as soon as it is spawned (to stop it from outside). */
  started?: (child: ChildProcess) => void;
}

/** Run the CLI, bounded to 20 s. */
function run(
  args: string[],
  { until, signal = 'SIGTERM', nodeFlags = [], started }: RunOptions = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [...nodeFlags, bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started?.(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until && (typeof until === 'function' ? until(stdout) : until.test(stdout))) {
        until = undefined;
        child.kill(signal);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const common = async () => [
  '--host',
  '127.0.0.1',
  '--port',
  String(await freePort()),
  '--ws-port',
  '0',
  '--http-port',
  '0',
  '--data-dir',
  dataDir,
  '--shards',
  '1',
];

describe('the weir command', () => {
  it('prints its options with --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--port <n>/);
    expect(r.stdout).toMatch(/--durability <text>/);
  });

  it('refuses a bad option value with exit code 2, saying what was wrong', async () => {
    const r = await run(['--port', 'seventy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/port must be a whole number from 0 to 65535, got "seventy"/);
  });

  it('says which port is in use and exits 1', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', () => r()));
    try {
      const args = await common();
      args[3] = String(port);
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`port ${port} is in use by another program`));
    } finally {
      taken.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`listens, then closes cleanly on ${signal} (exit 0)`, async () => {
      const r = await run(await common(), { until: /listening on/, signal });
      expect(r.stdout).toMatch(/weir: listening on mqtt:\/\/127\.0\.0\.1:\d+ \(1 shard; /);
      expect(r.stdout).toContain(`weir: ${signal}, closing`);
      expect(r.code).toBe(0);
    });
  }

  // --trace-gc prints every collection, each line led by its isolate's address; the memory
  // reducer's are marked "(reduce)". Its first timer, brought forward from 8 s to 2 s, finds an idle
  // broker and starts them: with on, in the main thread's isolate and the shard's; with off, the
  // shard's isolate prints none until a second after (the main thread's isolate keeps what node
  // started with).
  it('--memory-reducer off: a shard runs no memory-reducing collections; on: it does', async () => {
    const trace = ['--trace-gc', '--gc-memory-reducer-start-delay-ms=2000'];
    const isolates = (stdout: string, only?: RegExp) =>
      new Set(
        stdout
          .split('\n')
          .filter((line) => !only || only.test(line))
          .map((line) => /^\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1])
          .filter(Boolean),
      );
    const reduce = /Mark-Compact \(reduce\)/;
    let offChild: ChildProcess | undefined;
    const off = run([...(await common()), '--memory-reducer', 'off'], {
      nodeFlags: trace,
      started: (c) => (offChild = c),
    });
    const on = await run([...(await common()), '--memory-reducer', 'on'], {
      until: (stdout) => isolates(stdout, reduce).size >= 2,
      nodeFlags: trace,
    });
    setTimeout(() => offChild!.kill('SIGTERM'), 1000);
    const offRun = await off;
    expect(isolates(on.stdout, reduce).size).toBe(2);
    expect(offRun.stdout).toMatch(/weir: listening on/);
    expect(isolates(offRun.stdout).size).toBe(2);
    expect(isolates(offRun.stdout, reduce).size).toBeLessThanOrEqual(1);
    expect(offRun.code).toBe(0);
  }, 30_000);
});
