// The subscription index: topic filters → entries (subscriber handle, options, subscription
// identifier, shared-group id), matched against a Topic Name without allocating.
//
// ## Shape
// A trie with one node per filter level. A node's children are of three kinds:
//   - literal levels, found by a hash of (parent node, level bytes) in one open-addressing table
//     shared by every node and every index (tables.ts): no per-node child maps to grow;
//   - the `+` child, held directly on the node (`plus`);
//   - `#` never gets a node: a filter `a/#` keeps its entries on node `a` in a second list
//     (`multi`), next to the entries of the filter `a` itself (`exact`).
// Entries live in a contiguous array per list, so a match copies each list as one block.
// A second table (tables.ts) maps (list, handle, group) → position in the array, so that adding,
// replacing and removing one subscription is O(1) even when 100k sessions share one filter.
//
// ## Matching
// The topic is split once into levels (start offsets and hashes in scratch). Then a
// depth-first walk with an explicit stack of (node, level): at each node with levels left, the
// `multi` list matches (it covers the rest of the topic), and the `plus` child and the literal
// child for the next level are pushed. When the levels run out, `exact` and `multi` match
// (`sport/#` matches `sport`, [MQTT-5.0 4.7.1-1] non-normative text). A node is visited at most
// once per topic, so no entry is emitted twice for the same filter; the walk visits at most
// 2^(wildcard depth) nodes, bounded by what the index holds, and the stack never holds more
// than (levels + 2) frames, so a 65,535-level topic cannot overflow it. At the first level a
// topic starting with `$` only follows the literal child: wildcards there do not match it
// [MQTT-5.0 4.7.2-1] [MQTT-3.1.1 4.7.2-1].
//
// ## Removal and memory
// Removing an entry moves the list's last entry into its place; a list left empty is freed, and
// `prune` frees nodes upwards while they hold no entries and no children, so every non-root
// node always leads to at least one entry. Nodes, lists, long keys and tables come from pools
// with free lists (pool.ts): a steady subscribe/unsubscribe load reserves nothing more. When
// memory runs out, an add undoes what it created and returns INDEX_NO_MEMORY; nothing traps.
//
// The byte layout of nodes, entry lists and table slots is drawn in layout.ts; the hash tables
// are in tables.ts, matching in match.ts.

import { reserve } from '../memory';
import {
  A_BYTES,
  A_CAP,
  A_COUNT,
  A_ENTRIES,
  A_KEY,
  HASH,
  INDEX_BAD_ID,
  INDEX_NO_MEMORY,
  INDEX_OUT_OF_BOUNDS,
  INDEX_TOO_MANY,
  INLINE_KEY,
  MAX_INDEXES,
  N_CHILDREN,
  N_EXACT,
  N_HASH,
  N_KEY,
  N_KEYLEN,
  N_KEYPTR,
  N_MULTI,
  N_PARENT,
  N_PLUS,
  PLUS,
  SLASH,
} from './layout';
import { bytesAlloc, bytesFree, CLASS_NODE, poolAlloc, poolFree } from './pool';
import {
  childDelete,
  childHash,
  childInsert,
  childLookup,
  childRoom,
  levelHashOf,
  subDelete,
  subFind,
  subInsert,
  subMask,
  subRoom,
  subTab,
  tablesInit,
} from './tables';
import { inMemory, MAX_TOPIC_BYTES, topicValidateFilter } from './validate';

// Per index id: its root node and its number of entries.
const roots = memory.data(MAX_INDEXES * 4, 16);
const sizes = memory.data(MAX_INDEXES * 4, 16);
let liveNodes: u32 = 0;

// Match scratch, reserved once: level starts and hashes (levels ≤ 65,536) and the walk stack.
const MAX_LEVELS: u32 = MAX_TOPIC_BYTES + 1;
export let levelStart: usize = 0;
export let levelHash: usize = 0;
export let stack: usize = 0;

// ── nodes ──────────────────────────────────────────────────────────────────────────────────

function newNode(parent: usize, keyPtr: usize, keyLen: u32, hash: u32): usize {
  const node = poolAlloc(CLASS_NODE);
  if (node == 0) return 0;
  if (keyLen > INLINE_KEY) {
    const ext = bytesAlloc(keyLen);
    if (ext == 0) {
      poolFree(CLASS_NODE, node);
      return 0;
    }
    memory.copy(ext, keyPtr, keyLen);
    store<u32>(node + N_KEYPTR, <u32>ext);
  } else {
    memory.copy(node + N_KEY, keyPtr, keyLen);
    store<u32>(node + N_KEYPTR, 0);
  }
  store<u32>(node + N_PARENT, <u32>parent);
  store<u32>(node + N_HASH, hash);
  store<u32>(node + N_KEYLEN, keyLen);
  store<u32>(node + N_PLUS, 0);
  store<u32>(node + N_CHILDREN, 0);
  store<u32>(node + N_EXACT, 0);
  store<u32>(node + N_MULTI, 0);
  liveNodes++;
  return node;
}

// ── set-up ─────────────────────────────────────────────────────────────────────────────────

function init(): bool {
  if (stack != 0) return true;
  // levelStart needs MAX_LEVELS + 1 slots (a sentinel), the stack MAX_LEVELS + 2 frames.
  const scratch = reserve(<usize>(MAX_LEVELS + 4) * 16);
  if (scratch == 0) return false;
  if (!tablesInit()) return false;
  levelStart = scratch;
  levelHash = scratch + <usize>(MAX_LEVELS + 4) * 4;
  stack = scratch + <usize>(MAX_LEVELS + 4) * 8;
  return true;
}

@inline
export function rootOf(id: i32): usize {
  if (id <= 0 || id >= MAX_INDEXES) return 0;
  return <usize>load<u32>(roots + (<usize>id << 2));
}


/** Creates an empty index. Returns its id (≥ 1) or a negated INDEX_* code. */
export function topicIndexCreate(): i32 {
  if (!init()) return -INDEX_NO_MEMORY;
  for (let id = 1; id < MAX_INDEXES; id++) {
    if (load<u32>(roots + (<usize>id << 2)) != 0) continue;
    const root = newNode(0, 0, 0, 0);
    if (root == 0) return -INDEX_NO_MEMORY;
    store<u32>(roots + (<usize>id << 2), <u32>root);
    store<u32>(sizes + (<usize>id << 2), 0);
    return id;
  }
  return -INDEX_TOO_MANY;
}

/** Number of entries in an index (0 for an unknown id). */
export function topicIndexSize(id: i32): u32 {
  if (rootOf(id) == 0) return 0;
  return load<u32>(sizes + (<usize>id << 2));
}

/** Live trie nodes, all indexes (roots included): tests check pruning with it. */
export function topicNodeCount(): u32 {
  return liveNodes;
}

// ── add / remove ───────────────────────────────────────────────────────────────────────────

/** Frees empty nodes from `node` up to (not including) its root. */
function prune(node: usize): void {
  while (true) {
    const parent = <usize>load<u32>(node + N_PARENT);
    if (parent == 0) return;
    if (
      (load<u32>(node + N_PLUS) |
        load<u32>(node + N_CHILDREN) |
        load<u32>(node + N_EXACT) |
        load<u32>(node + N_MULTI)) !=
      0
    ) {
      return;
    }
    if (<usize>load<u32>(parent + N_PLUS) == node) {
      store<u32>(parent + N_PLUS, 0);
    } else {
      childDelete(node);
      store<u32>(parent + N_CHILDREN, load<u32>(parent + N_CHILDREN) - 1);
    }
    const keyLen = load<u32>(node + N_KEYLEN);
    if (keyLen > INLINE_KEY) bytesFree(<usize>load<u32>(node + N_KEYPTR), keyLen);
    poolFree(CLASS_NODE, node);
    liveNodes--;
    node = parent;
  }
}

// Set by walk(): the node reached and whether the filter ended with `#`.
let walkNode: usize = 0;
let walkMulti: bool = false;

/**
 * Follows `filter` from `root`, creating missing nodes when `create`. Returns false when a node
 * is missing (create = false) or memory ran out (create = true; what was created is pruned).
 */
function walk(root: usize, ptr: usize, len: u32, create: bool): bool {
  let node = root;
  let multi = false;
  const end = ptr + <usize>len;
  let p = ptr;
  while (true) {
    let e = p;
    while (e < end && <u32>load<u8>(e) != SLASH) e++;
    const levelLen = <u32>(e - p);
    const c = levelLen == 1 ? <u32>load<u8>(p) : 0;
    if (c == HASH) {
      multi = true; // validation put it last
      break;
    }
    let child: usize;
    if (c == PLUS) {
      child = <usize>load<u32>(node + N_PLUS);
      if (child == 0) {
        if (!create) return false;
        child = newNode(node, p, 1, 0);
        if (child == 0) {
          prune(node);
          return false;
        }
        store<u32>(node + N_PLUS, <u32>child);
      }
    } else {
      const lh = levelHashOf(p, levelLen);
      child = childLookup(node, p, levelLen, lh);
      if (child == 0) {
        if (!create) return false;
        const h = childHash(node, lh);
        if (!childRoom()) {
          prune(node);
          return false;
        }
        child = newNode(node, p, levelLen, h);
        if (child == 0) {
          prune(node);
          return false;
        }
        childInsert(h, child);
        store<u32>(node + N_CHILDREN, load<u32>(node + N_CHILDREN) + 1);
      }
    }
    node = child;
    if (e >= end) break;
    p = e + 1; // a trailing '/' leads to one more, empty, level
  }
  walkNode = node;
  walkMulti = multi;
  return true;
}

/**
 * Adds (filter → handle, options, subId, group) to index `id`. The same filter, handle and group
 * replace the options and identifier of the existing entry [MQTT-5.0 3.8.4-3]. Returns 0 when
 * added, 1 when replaced, or a negated TOPIC_* / INDEX_* code.
 */
export function topicIndexAdd(
  id: i32,
  ptr: usize,
  len: u32,
  handle: u32,
  options: u32,
  subId: u32,
  group: u32,
): i32 {
  const root = rootOf(id);
  if (root == 0) return -INDEX_BAD_ID;
  if (!inMemory(ptr, len)) return -INDEX_OUT_OF_BOUNDS;
  const rc = topicValidateFilter(ptr, len);
  if (rc != 0) return -rc;
  if (!subRoom()) return -INDEX_NO_MEMORY;
  if (!walk(root, ptr, len, true)) return -INDEX_NO_MEMORY;
  const node = walkNode;
  const field = node + (walkMulti ? N_MULTI : N_EXACT);
  const key = <u32>node | (walkMulti ? 1 : 0);
  const slot = subFind(key, handle, group);
  let arr = <usize>load<u32>(field);
  if (slot != 0) {
    const e = arr + A_ENTRIES + (<usize>load<u32>(slot, 12) << 4);
    store<u32>(e, options, 4);
    store<u32>(e, subId, 8);
    return 1;
  }
  let count: u32 = 0;
  if (arr == 0) {
    arr = bytesAlloc(32);
    if (arr == 0) {
      prune(node);
      return -INDEX_NO_MEMORY;
    }
    store<u32>(arr + A_COUNT, 0);
    store<u32>(arr + A_CAP, 1);
    store<u32>(arr + A_KEY, key);
    store<u32>(arr + A_BYTES, 32);
    store<u32>(field, <u32>arr);
  } else {
    count = load<u32>(arr + A_COUNT);
    if (count == load<u32>(arr + A_CAP)) {
      const bytes = load<u32>(arr + A_BYTES);
      const bigger = bytes < (<u32>1 << 30) ? bytesAlloc(bytes << 1) : 0;
      if (bigger == 0) return -INDEX_NO_MEMORY; // the list is not empty: nothing to prune
      memory.copy(bigger, arr, bytes);
      store<u32>(bigger + A_CAP, ((bytes << 1) - <u32>A_ENTRIES) >> 4);
      store<u32>(bigger + A_BYTES, bytes << 1);
      bytesFree(arr, bytes);
      arr = bigger;
      store<u32>(field, <u32>arr);
    }
  }
  const e = arr + A_ENTRIES + (<usize>count << 4);
  store<u32>(e, handle);
  store<u32>(e, options, 4);
  store<u32>(e, subId, 8);
  store<u32>(e, group, 12);
  store<u32>(arr + A_COUNT, count + 1);
  subInsert(key, handle, group, count);
  store<u32>(sizes + (<usize>id << 2), load<u32>(sizes + (<usize>id << 2)) + 1);
  return 0;
}

/**
 * Removes the entry (filter, handle, group) from index `id`; prunes nodes left empty. Returns 1
 * when it existed, 0 when not, or a negated TOPIC_* / INDEX_* code.
 */
export function topicIndexRemove(id: i32, ptr: usize, len: u32, handle: u32, group: u32): i32 {
  const root = rootOf(id);
  if (root == 0) return -INDEX_BAD_ID;
  if (!inMemory(ptr, len)) return -INDEX_OUT_OF_BOUNDS;
  const rc = topicValidateFilter(ptr, len);
  if (rc != 0) return -rc;
  if (!walk(root, ptr, len, false)) return 0;
  const key = <u32>walkNode | (walkMulti ? 1 : 0);
  const slot = subFind(key, handle, group);
  if (slot == 0) return 0;
  removeEntry(id, slot);
  return 1;
}

/** Removes the entry of sub-table `slot` from its list (swap with the last) and prunes. */
function removeEntry(id: i32, slot: usize): void {
  const key = load<u32>(slot);
  const node = <usize>(key & ~(<u32>1));
  const field = node + ((key & 1) != 0 ? N_MULTI : N_EXACT);
  const pos = load<u32>(slot, 12);
  subDelete(slot);
  const arr = <usize>load<u32>(field);
  const last = load<u32>(arr + A_COUNT) - 1;
  if (pos != last) {
    const from = arr + A_ENTRIES + (<usize>last << 4);
    const to = arr + A_ENTRIES + (<usize>pos << 4);
    memory.copy(to, from, 16);
    const moved = subFind(key, load<u32>(to), load<u32>(to, 12));
    if (moved != 0) store<u32>(moved, pos, 12);
  }
  store<u32>(arr + A_COUNT, last);
  if (last == 0) {
    bytesFree(arr, load<u32>(arr + A_BYTES));
    store<u32>(field, 0);
    prune(node);
  }
  store<u32>(sizes + (<usize>id << 2), load<u32>(sizes + (<usize>id << 2)) - 1);
}

/**
 * Destroys index `id`: removes all its entries (nodes are pruned as their lists empty) and frees
 * its root and id. O(sub-table size × depth): for shutdown and tests, not for a hot path.
 * Returns 0, or -INDEX_BAD_ID.
 */
export function topicIndexDestroy(id: i32): i32 {
  const root = rootOf(id);
  if (root == 0) return -INDEX_BAD_ID;
  // Deleting a slot shifts later slots back into it, so a slot is examined again after a
  // deletion. Slots that wrap around from the start were already examined and kept.
  let i: u32 = 0;
  while (i <= subMask) {
    const slot = subTab + (<usize>i << 4);
    const key = load<u32>(slot);
    if (key != 0) {
      let n = <usize>(key & ~(<u32>1));
      while (load<u32>(n + N_PARENT) != 0) n = <usize>load<u32>(n + N_PARENT);
      if (n == root) {
        removeEntry(id, slot);
        continue;
      }
    }
    i++;
  }
  poolFree(CLASS_NODE, root);
  liveNodes--;
  store<u32>(roots + (<usize>id << 2), 0);
  store<u32>(sizes + (<usize>id << 2), 0);
  return 0;
}

