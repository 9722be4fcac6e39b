// Memory layout of the subscription index (asm/topic/trie.ts), with named offsets. All fields
// are u32 little-endian; pointers are addresses in the WASM memory.
//
//   Node, 48 bytes (pool class 0)
//   ┌────────┬──────┬────────┬────────┬──────┬──────────┬───────┬───────┬──────────────────┐
//   │ parent │ hash │ keyLen │ keyPtr │ plus │ children │ exact │ multi │ key (≤ 16 bytes) │
//   └────────┴──────┴────────┴────────┴──────┴──────────┴───────┴───────┴──────────────────┘
//    0        4      8        12       16     20         24      28      32
//   parent = 0 marks a root. Keys longer than 16 bytes live in a pool block at keyPtr.
//   children counts literal children in the child table (the plus child is `plus`).
//
//   Entry array (power-of-two pool block)
//   ┌───────┬─────┬─────┬───────┬──────────────────────────────────────────────┐
//   │ count │ cap │ key │ bytes │ entry 0 … entry count-1 (16 bytes each)      │
//   └───────┴─────┴─────┴───────┴──────────────────────────────────────────────┘
//   entry = handle, options, subId, group — the same 16 bytes that a match writes out.
//   key = node | 1 for a multi (`#`) list, node for an exact list.
//
//   Child table slot, 8 bytes: hash(parent, level), node (0 = empty). Linear probing,
//   backward-shift deletion (no tombstones), load ≤ 1/2 (grown by doubling).
//   Sub table slot, 16 bytes: key, handle, group, position in the entry array (key 0 = empty).
//   Both tables are shared by all indexes of the instance (node addresses are unique) and never
//   shrink; an entry array keeps its capacity until its last entry goes (then it is freed).
//
// ## Cost
//   add/remove: O(levels) hash probes + O(1) for the entry; match: O(levels) for the split, one
//   probe per visited (node, level), one block copy per matching list; nothing is allocated.
//   Memory: 48 bytes per node (+ a pool block for levels over 16 bytes), 32 bytes per list of one
//   entry (16 more per extra entry, rounded up to a power of two), ~16 bytes per child-table
//   slot pair and ~32 per sub-table entry at load 1/2. 1M fleet subscriptions: ~216 MiB.

import { TOPIC_OUT_OF_BOUNDS } from './validate';

// Error codes of the index operations, returned negated (mirrored by src/protocol/topic.ts).
// 1..9 are the TOPIC_* codes of validate.ts (an invalid filter).
export const INDEX_NO_MEMORY: i32 = 100;
export const INDEX_BAD_ID: i32 = 101;
export const INDEX_OUT_OF_BOUNDS: i32 = TOPIC_OUT_OF_BOUNDS;
export const INDEX_TOO_MANY: i32 = 103;

/** Indexes per instance (ids 1 … MAX_INDEXES-1). */
export const MAX_INDEXES: i32 = 1024;
/** One entry, in a list and in match output: handle, options, subId, group. */
export const ENTRY_BYTES: u32 = 16;

// Node
export const N_PARENT: usize = 0;
export const N_HASH: usize = 4;
export const N_KEYLEN: usize = 8;
export const N_KEYPTR: usize = 12;
export const N_PLUS: usize = 16;
export const N_CHILDREN: usize = 20;
export const N_EXACT: usize = 24;
export const N_MULTI: usize = 28;
export const N_KEY: usize = 32;
/** Keys up to this many bytes live in the node. */
export const INLINE_KEY: u32 = 16;

// Entry array
export const A_COUNT: usize = 0;
export const A_CAP: usize = 4;
export const A_KEY: usize = 8;
export const A_BYTES: usize = 12;
export const A_ENTRIES: usize = 16;

export const SLASH: u32 = 0x2f;
export const PLUS: u32 = 0x2b;
export const HASH: u32 = 0x23;

/** Where a node's key bytes are. */
@inline
export function keyAddr(node: usize): usize {
  return load<u32>(node + N_KEYLEN) > INLINE_KEY ? <usize>load<u32>(node + N_KEYPTR) : node + N_KEY;
}
