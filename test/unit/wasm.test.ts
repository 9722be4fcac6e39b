import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { compileModule, createMemory, instantiate } from '../../src/protocol/wasm.js';

describe('weir.wasm loader', () => {
  it('instantiates on a shared memory and reserves aligned, disjoint regions', () => {
    const wasm = instantiate({ memoryBytes: 1 << 20 });
    expect(wasm.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const a = wasm.reserve(100, 'a');
    const b = wasm.reserve(1, 'b');
    expect(a % 16).toBe(0);
    expect(b).toBe(a + 112);
  });

  it('reports a full memory with ERR_WASM_MEMORY instead of trapping', () => {
    const wasm = instantiate({ memory: createMemory(1 << 20), module: compileModule() });
    let error: unknown;
    try {
      wasm.reserve(2 << 20, 'a test region');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('ERR_WASM_MEMORY');
    expect((error as WeirError).message).toMatch(/a test region/);
  });
});
