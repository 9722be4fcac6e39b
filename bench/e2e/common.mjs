// What the end-to-end scripts share (bench/e2e/run.mjs, bench/scaling/paired.mjs,
// bench/scaling/subs-memory.mjs): building the C programs of bench/e2e, loopback ports, medians.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

/**
 * A C program of bench/e2e, built once into node_modules/.cache/weir-bench (rebuilt when the
 * source is newer). Returns the binary; throws with the remedy when the compiler fails.
 */
export function buildC(name, libs, say = () => {}) {
  const src = path.join(HERE, `${name}.c`);
  const base = existsSync(path.join(ROOT, 'node_modules'))
    ? path.join(ROOT, 'node_modules/.cache')
    : os.tmpdir();
  const dir = path.join(base, 'weir-bench');
  const bin = path.join(dir, name);
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(dir, { recursive: true });
  const cc = process.env.CC || 'cc';
  const args = ['-O2', '-o', bin, src, ...libs];
  say(`building ${name}: ${cc} ${args.join(' ')}`);
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    throw new Error(
      `could not build ${name} with ${cc}${r.error ? ` (${r.error.message})` : ''}; install a C compiler (apt-get install gcc)`,
    );
  }
  return bin;
}

export const buildMqload = (say) => buildC('mqload', ['-lpthread'], say);

/** A loopback port nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on the loopback port (1 s at most). */
export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** The median of the numbers in `a` (NaN and non-numbers left out); undefined when there are none. */
export function median(a) {
  const s = a.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((x, y) => x - y);
  if (!s.length) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
