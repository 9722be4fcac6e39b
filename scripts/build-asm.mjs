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

// `--entry asm/x.ts --name x` builds a private module (build/x.wasm) from another entry, so that
// work on one part of asm/ can be compiled and tested while another part is mid-edit. Tests load
// it with WEIR_WASM=build/x.wasm.
const argv = process.argv.slice(2);
const arg = (flag, fallback) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
const entry = arg('--entry', 'asm/index.ts');
const name = arg('--name', 'weir');

const common = [
  entry,
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
  release: ['-O3', '--noAssert', '--outFile', `build/${name}.wasm`],
  debug: ['--debug', '--outFile', `build/${name}.debug.wasm`, '--textFile', `build/${name}.debug.wat`],
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
