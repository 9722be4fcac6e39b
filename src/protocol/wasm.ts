// Loads build/weir.wasm: compiled once per thread (or handed over as a WebAssembly.Module, which
// structured-clones to workers), instantiated on a shared WebAssembly.Memory that the caller may
// supply. One instance per Memory: re-instantiating re-applies the data segments and would wipe
// the heap pointer of the instance already using it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeirError } from '../errors.js';

const PAGE = 65536;
/** Default memory for an instance: 256 MiB, reserved virtually; pages are committed on first touch. */
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;

/** The exports every layer relies on. Layers (codec, topic) declare their own typed views. */
export interface CoreExports {
  reserve(size: number): number;
  memoryFree(): number;
}

export interface WasmInstance {
  readonly memory: WebAssembly.Memory;
  readonly exports: CoreExports & Record<string, unknown>;
  /** Views over the whole memory; valid for the life of the instance (initial == maximum). */
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** Reserve a long-lived region; throws WeirError ERR_WASM_MEMORY when the memory is full. */
  reserve(size: number, what: string): number;
}

export interface InstantiateOptions {
  /** A compiled module (e.g. received from the main thread); compiled here when absent. */
  module?: WebAssembly.Module;
  /** A shared memory to run on (e.g. one that holds rings); created when absent. */
  memory?: WebAssembly.Memory;
  /** Size of the memory created when `memory` is absent. */
  memoryBytes?: number;
}

let cachedModule: WebAssembly.Module | undefined;

/** The path of build/weir.wasm (or $WEIR_WASM), found by walking up from this file (src/ in tests, dist/src/ when built). */
export function wasmPath(): string {
  // WEIR_WASM names another build (scripts/build-asm.mjs --name), e.g. the debug build.
  if (process.env.WEIR_WASM) return process.env.WEIR_WASM;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'build', 'weir.wasm');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new WeirError(
    'ERR_WASM_MISSING',
    'build/weir.wasm was not found above ' +
      dirname(fileURLToPath(import.meta.url)) +
      '; run `npm run build` to compile asm/.',
  );
}

/** Compile build/weir.wasm once per thread and cache it. */
export function compileModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(readFileSync(wasmPath()));
  return cachedModule;
}

export function createMemory(bytes = DEFAULT_MEMORY_BYTES): WebAssembly.Memory {
  const pages = Math.ceil(bytes / PAGE);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

export function instantiate(options: InstantiateOptions = {}): WasmInstance {
  const module = options.module ?? compileModule();
  const memory = options.memory ?? createMemory(options.memoryBytes);
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      // Only reachable in the debug build (asserts); the release build is compiled with --noAssert.
      abort(_msg: number, _file: number, line: number, column: number): never {
        throw new WeirError('ERR_WASM_ABORT', `weir.wasm aborted at ${line}:${column}`);
      },
    },
  });
  const exports = instance.exports as unknown as CoreExports & Record<string, unknown>;
  const buffer = memory.buffer as unknown as ArrayBuffer;
  return {
    memory,
    exports,
    u8: new Uint8Array(buffer),
    view: new DataView(buffer),
    reserve(size: number, what: string): number {
      const ptr = exports.reserve(size);
      if (ptr === 0) {
        throw new WeirError(
          'ERR_WASM_MEMORY',
          `cannot reserve ${size} bytes for ${what}: only ${exports.memoryFree()} of ${memory.buffer.byteLength} bytes ` +
            'of WASM memory are left; give the instance more memory (memoryBytes).',
        );
      }
      return ptr;
    },
  };
}
