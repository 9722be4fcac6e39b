// The two open-addressing hash tables of the subscription index (slots drawn in layout.ts):
//   child table: (parent node, level bytes) → child node, for literal levels;
//   sub table:   (list key, handle, group) → position of the entry in its list.
// Linear probing at load ≤ 1/2, grown by doubling (the old table goes back to its pool), and
// backward-shift deletion: no tombstones, so millions of subscribe/unsubscribe cycles leave the
// probe lengths as they were. Both are shared by every index of the instance: node addresses
// are unique, and one table grows once instead of once per index.

import { keyAddr, N_HASH, N_KEYLEN, N_PARENT } from './layout';
import { bytesAlloc, bytesFree } from './pool';

export let childTab: usize = 0;
export let childMask: u32 = 0;
let childCount: u32 = 0;
export let subTab: usize = 0;
export let subMask: u32 = 0;
let subCount: u32 = 0;

/** Creates both tables (1024 slots each) once; false when the memory is full. */
export function tablesInit(): bool {
  if (childTab == 0 && !childGrow(1024)) return false;
  if (subTab == 0 && !subGrow(1024)) return false;
  return true;
}

// ── hashing ────────────────────────────────────────────────────────────────────────────────

@inline
function fmix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** Hash of a level's bytes, 4 bytes at a time (the same in add, remove and match). */
@inline
export function levelHashOf(ptr: usize, len: u32): u32 {
  let h: u32 = 0x27d4eb2f ^ (len * 0x9e3779b1);
  let p = ptr;
  let n = len;
  while (n >= 4) {
    h = rotl<u32>((h ^ load<u32>(p)) * 0x85ebca6b, 13);
    p += 4;
    n -= 4;
  }
  if (n != 0) {
    let tail: u32 = <u32>load<u8>(p);
    if (n > 1) tail |= (<u32>load<u8>(p, 1)) << 8;
    if (n > 2) tail |= (<u32>load<u8>(p, 2)) << 16;
    h = (h ^ tail) * 0xc2b2ae35;
  }
  return h;
}

@inline
export function childHash(parent: usize, lh: u32): u32 {
  return fmix(lh ^ (<u32>parent * 0x9e3779b1));
}

@inline
function subHash(key: u32, handle: u32, group: u32): u32 {
  let h = key * 0x9e3779b1;
  h = (h ^ handle) * 0x85ebca6b;
  h = (h ^ group) * 0xc2b2ae35;
  return fmix(h);
}


function bytesEqual(a: usize, b: usize, len: u32): bool {
  let n = <usize>len;
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}


// ── child table ────────────────────────────────────────────────────────────────────────────

export function childLookup(parent: usize, ptr: usize, len: u32, lh: u32): usize {
  const h = childHash(parent, lh);
  const mask = childMask;
  const tab = childTab;
  let i = h & mask;
  while (true) {
    const slot = tab + (<usize>i << 3);
    const node = <usize>load<u32>(slot, 4);
    if (node == 0) return 0;
    if (
      load<u32>(slot) == h &&
      load<u32>(node + N_PARENT) == <u32>parent &&
      load<u32>(node + N_KEYLEN) == len &&
      bytesEqual(keyAddr(node), ptr, len)
    ) {
      return node;
    }
    i = (i + 1) & mask;
  }
  return 0;
}

function childPlace(tab: usize, mask: u32, hash: u32, node: u32): void {
  let i = hash & mask;
  while (load<u32>(tab + (<usize>i << 3), 4) != 0) i = (i + 1) & mask;
  store<u32>(tab + (<usize>i << 3), hash);
  store<u32>(tab + (<usize>i << 3), node, 4);
}

function childGrow(slots: u32): bool {
  const bytes = slots << 3;
  const tab = bytesAlloc(bytes);
  if (tab == 0) return false;
  memory.fill(tab, 0, bytes);
  const mask = slots - 1;
  if (childTab != 0) {
    const old = childTab;
    const oldSlots = childMask + 1;
    for (let i: u32 = 0; i < oldSlots; i++) {
      const slot = old + (<usize>i << 3);
      const node = load<u32>(slot, 4);
      if (node != 0) childPlace(tab, mask, load<u32>(slot), node);
    }
    bytesFree(old, oldSlots << 3);
  }
  childTab = tab;
  childMask = mask;
  return true;
}

/** Room for one more child: grow at load 1/2; refuse only past 7/8 when growing failed. */
export function childRoom(): bool {
  const slots = childMask + 1;
  if ((childCount + 1) * 2 <= slots) return true;
  if (slots < (<u32>1 << 28) && childGrow(slots << 1)) return true;
  return (childCount + 1) * 8 <= slots * 7;
}

export function childDelete(node: usize): void {
  const mask = childMask;
  const tab = childTab;
  let i = load<u32>(node + N_HASH) & mask;
  while (load<u32>(tab + (<usize>i << 3), 4) != <u32>node) {
    if (load<u32>(tab + (<usize>i << 3), 4) == 0) return; // not there (cannot happen)
    i = (i + 1) & mask;
  }
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const sj = tab + (<usize>j << 3);
    if (load<u32>(sj, 4) == 0) break;
    const home = load<u32>(sj) & mask;
    // Leave the slot at j alone when its home lies cyclically in (i, j].
    const stays = i <= j ? i < home && home <= j : i < home || home <= j;
    if (stays) continue;
    const si = tab + (<usize>i << 3);
    store<u64>(si, load<u64>(sj));
    i = j;
  }
  store<u64>(tab + (<usize>i << 3), 0);
  childCount--;
}

// ── sub table ──────────────────────────────────────────────────────────────────────────────

export function subFind(key: u32, handle: u32, group: u32): usize {
  const mask = subMask;
  let i = subHash(key, handle, group) & mask;
  while (true) {
    const slot = subTab + (<usize>i << 4);
    const k = load<u32>(slot);
    if (k == 0) return 0;
    if (k == key && load<u32>(slot, 4) == handle && load<u32>(slot, 8) == group) return slot;
    i = (i + 1) & mask;
  }
  return 0;
}

function subPlace(tab: usize, mask: u32, key: u32, handle: u32, group: u32, pos: u32): void {
  let i = subHash(key, handle, group) & mask;
  while (load<u32>(tab + (<usize>i << 4)) != 0) i = (i + 1) & mask;
  const slot = tab + (<usize>i << 4);
  store<u32>(slot, key);
  store<u32>(slot, handle, 4);
  store<u32>(slot, group, 8);
  store<u32>(slot, pos, 12);
}

function subGrow(slots: u32): bool {
  const bytes = slots << 4;
  const tab = bytesAlloc(bytes);
  if (tab == 0) return false;
  memory.fill(tab, 0, bytes);
  const mask = slots - 1;
  if (subTab != 0) {
    const old = subTab;
    const oldSlots = subMask + 1;
    for (let i: u32 = 0; i < oldSlots; i++) {
      const s = old + (<usize>i << 4);
      const key = load<u32>(s);
      if (key != 0) subPlace(tab, mask, key, load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12));
    }
    bytesFree(old, oldSlots << 4);
  }
  subTab = tab;
  subMask = mask;
  return true;
}

export function subRoom(): bool {
  const slots = subMask + 1;
  if ((subCount + 1) * 2 <= slots) return true;
  if (slots < (<u32>1 << 26) && subGrow(slots << 1)) return true;
  return (subCount + 1) * 8 <= slots * 7;
}

export function subDelete(slot: usize): void {
  const mask = subMask;
  const tab = subTab;
  let i = <u32>((slot - tab) >> 4);
  let j = i;
  while (true) {
    j = (j + 1) & mask;
    const sj = tab + (<usize>j << 4);
    const key = load<u32>(sj);
    if (key == 0) break;
    const home = subHash(key, load<u32>(sj, 4), load<u32>(sj, 8)) & mask;
    const stays = i <= j ? i < home && home <= j : i < home || home <= j;
    if (stays) continue;
    const si = tab + (<usize>i << 4);
    store<u64>(si, load<u64>(sj));
    store<u64>(si, load<u64>(sj, 8), 8);
    i = j;
  }
  const si = tab + (<usize>i << 4);
  store<u64>(si, 0);
  store<u64>(si, 0, 8);
  subCount--;
}

/** Inserts `node` (whose N_HASH is `hash`); call childRoom() first. */
export function childInsert(hash: u32, node: usize): void {
  childPlace(childTab, childMask, hash, <u32>node);
  childCount++;
}

/** Inserts a sub-table entry; call subRoom() first. */
export function subInsert(key: u32, handle: u32, group: u32, pos: u32): void {
  subPlace(subTab, subMask, key, handle, group, pos);
  subCount++;
}
