// A small tmpfs for full-disk tests: a store on it can be made to fail for want of space. Mounting
// needs root (as in CI); where it is refused the tests that need it skip.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly path: string;
  unmount(): void;
}

/** Mount a tmpfs of `size` (e.g. "2m") under the temp directory; undefined when it cannot be mounted. */
export function mountTmpfs(name: string, size: string): Tmpfs | undefined {
  const path = join(tmpdir(), `${name}-${process.pid}`);
  try {
    mkdirSync(path, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    rmSync(path, { recursive: true, force: true });
    return undefined;
  }
  return {
    path,
    unmount() {
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
