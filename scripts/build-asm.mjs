// Compiles asm/ to build/weir.wasm (release) and build/weir.debug.wasm (with asserts and names).
// The module imports a shared memory (env.memory) so that the rings the main thread writes live
// in the same memory that the codec and matcher read: bytes are never copied into WASM.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(root, 'build'), { recursive: true });

const common = [
  'asm/index.ts',
  '--runtime',
  'stub',
  '--enable',
  'threads',
  '--importMemory',
  '--sharedMemory',
  // Defaults only: the JS loader always passes its own Memory (initial == maximum).
  '--initialMemory',
  '16',
  '--maximumMemory',
  '65536',
  '--bindings',
  'raw',
];
const targets = {
  release: ['-O3', '--noAssert', '--outFile', 'build/weir.wasm'],
  debug: ['--debug', '--outFile', 'build/weir.debug.wasm', '--textFile', 'build/weir.debug.wat'],
};

for (const [name, flags] of Object.entries(targets)) {
  const t0 = performance.now();
  try {
    execFileSync(process.execPath, [asc, ...common, ...flags], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build-asm: the ${name} build of asm/ failed; the compiler's messages are above.`);
    process.exit(1);
  }
  const file = flags[flags.indexOf('--outFile') + 1];
  const ms = (performance.now() - t0).toFixed(0);
  console.log(`build-asm: ${file} ${statSync(join(root, file)).size} bytes in ${ms} ms`);
}
