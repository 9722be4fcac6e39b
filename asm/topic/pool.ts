// Memory pools of the topic matcher: size classes with free lists, refilled from `reserve()`.
//
// `reserve()` (asm/memory.ts) is a bump allocator with no free, so everything that the index
// creates and destroys over its life (trie nodes, entry arrays, long level keys, hash tables)
// comes from here instead. A class hands out blocks of one size:
//
//   class 0          48-byte trie nodes (see trie.ts)
//   class k (1..27)  power-of-two blocks of 16 << (k-1) bytes: 16, 32, 64 … 1 GiB
//
// A freed block goes on its class's free list (the link is the block's first u32), and the next
// allocation of that class takes it back, so a workload that subscribes and unsubscribes in a
// loop reaches a steady state and reserves nothing more. Blocks below CHUNK bytes are carved
// from CHUNK-byte reservations; bigger ones are reserved one by one. Memory that a class holds is
// never returned to another class: a pool only grows to its high-water mark.
//
// Every allocation can fail (the instance's memory is full): `poolAlloc` returns 0 and the
// callers undo what they did and return an error code. Nothing here traps.

import { reserve } from '../memory';

/** Size of a trie node (class 0). */
export const NODE_BYTES: u32 = 48;
/** Refill size for small classes. */
const CHUNK: u32 = 64 * 1024;
export const CLASS_NODE: i32 = 0;
const CLASSES: i32 = 28;
/** The biggest block: 1 GiB (class 27). */
const MAX_BLOCK: u32 = 1 << 30;

// Per class: free-list head, bump cursor, bump end (u32 each).
const freeHead = memory.data(CLASSES * 4, 16);
const bumpCur = memory.data(CLASSES * 4, 16);
const bumpEnd = memory.data(CLASSES * 4, 16);

/** Bytes handed out and not yet freed, all classes (for tests and stats). */
let liveBytes: u64 = 0;

@inline
export function classBytes(cls: i32): u32 {
  return cls == CLASS_NODE ? NODE_BYTES : (<u32>16) << (<u32>(cls - 1));
}

/** The power-of-two class that holds `size` bytes (size ≥ 1), or -1 when too big. */
export function classFor(size: u32): i32 {
  if (size > MAX_BLOCK) return -1;
  if (size <= 16) return 1;
  // ceil(log2(size)) - 3 : 17..32 → 2, 33..64 → 3, …
  return <i32>(32 - clz<u32>(size - 1)) - 3;
}

/** A block of class `cls`, or 0 when the memory is full. Contents are not cleared. */
export function poolAlloc(cls: i32): usize {
  const slot = <usize>(cls << 2);
  const head = load<u32>(freeHead + slot);
  const bytes = classBytes(cls);
  if (head != 0) {
    store<u32>(freeHead + slot, load<u32>(<usize>head));
    liveBytes += bytes;
    return <usize>head;
  }
  let cur = load<u32>(bumpCur + slot);
  const end = load<u32>(bumpEnd + slot);
  if (cur == 0 || <u64>cur + bytes > <u64>end) {
    const want: u32 = bytes >= CHUNK ? bytes : CHUNK;
    const chunk = reserve(<usize>want);
    if (chunk == 0) return 0;
    cur = <u32>chunk;
    store<u32>(bumpEnd + slot, cur + want);
  }
  store<u32>(bumpCur + slot, cur + bytes);
  liveBytes += bytes;
  return <usize>cur;
}

/** Return a block to its class. */
export function poolFree(cls: i32, ptr: usize): void {
  if (ptr == 0) return;
  const slot = <usize>(cls << 2);
  store<u32>(ptr, load<u32>(freeHead + slot));
  store<u32>(freeHead + slot, <u32>ptr);
  liveBytes -= classBytes(cls);
}

/** Allocate at least `size` bytes (power-of-two class); 0 when full or too big. */
export function bytesAlloc(size: u32): usize {
  const cls = classFor(size);
  if (cls < 0) return 0;
  return poolAlloc(cls);
}

/** Free a block obtained from `bytesAlloc(size)` with the same `size`. */
export function bytesFree(ptr: usize, size: u32): void {
  const cls = classFor(size);
  if (cls >= 0) poolFree(cls, ptr);
}

/** Bytes currently handed out by the pools (not counting free-listed blocks). */
export function poolLiveBytes(): u64 {
  return liveBytes;
}
