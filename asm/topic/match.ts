// Matching a Topic Name against an index (the walk is described in trie.ts), and sorting the
// results for the caller. Nothing here allocates: the split and the stack use the scratch that
// trie.ts reserved when the first index was created.

import { A_COUNT, A_ENTRIES, N_EXACT, N_MULTI, N_PLUS, SLASH } from './layout';
import { childLookup, levelHashOf } from './tables';
import { levelHash, levelStart, rootOf, stack } from './trie';
import { inMemory, MAX_TOPIC_BYTES } from './validate';

/** Copies `count` 16-byte entries: by hand for the usual few (a bulk copy costs a call). */
@inline
function copyEntries(dst: usize, src: usize, count: u32): void {
  if (count > 8) {
    memory.copy(dst, src, <usize>count << 4);
    return;
  }
  for (let k: u32 = 0; k < count; k++) {
    store<u64>(dst, load<u64>(src));
    store<u64>(dst, load<u64>(src, 8), 8);
    dst += 16;
    src += 16;
  }
}

/**
 * Writes every entry of index `id` whose filter matches the Topic Name at (ptr, len) to `out`
 * (16 bytes each: handle, options, subId, group) and returns how many. When more than `cap`
 * match, returns -N (N = the number needed) and `out` holds garbage: call again with room for N.
 * One entry per matching (filter, handle, group): a session subscribed with overlapping filters
 * appears once per filter, and deduplicating is the caller's job. The topic is not validated
 * (the codec did it); an unknown id, an empty or over-long topic matches nothing.
 */
export function topicIndexMatch(id: i32, ptr: usize, len: u32, out: usize, cap: u32): i32 {
  const root = rootOf(id);
  if (root == 0 || len == 0 || len > MAX_TOPIC_BYTES) return 0;
  if (!inMemory(ptr, len) || !inMemory(out, <u64>cap << 4)) return 0;
  // Split into levels: start offsets (plus a sentinel one past the end), then hashes. '/' is
  // found 8 bytes at a time: x = w ^ '////////' has a zero byte where w has '/', and
  // ~(((x & 0x7f…) + 0x7f…) | x) & 0x80… flags exactly those bytes (no borrow across bytes).
  const starts = levelStart;
  const hashes = levelHash;
  let n: usize = 0;
  store<u32>(starts, 0);
  let i: usize = 0;
  const len8 = <usize>len & ~(<usize>7);
  while (i < len8) {
    const x = load<u64>(ptr + i) ^ 0x2f2f2f2f2f2f2f2f;
    let t = ~(((x & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f) | x) & 0x8080808080808080;
    while (t != 0) {
      n++;
      store<u32>(starts + (n << 2), <u32>(i + <usize>(ctz<u64>(t) >> 3)) + 1);
      t &= t - 1;
    }
    i += 8;
  }
  while (i < <usize>len) {
    if (<u32>load<u8>(ptr + i) == SLASH) {
      n++;
      store<u32>(starts + (n << 2), <u32>i + 1);
    }
    i++;
  }
  n++;
  store<u32>(starts + (n << 2), len + 1);
  for (let k: usize = 0; k < n; k++) {
    const s = load<u32>(starts + (k << 2));
    const e = load<u32>(starts + ((k + 1) << 2)) - 1;
    store<u32>(hashes + (k << 2), levelHashOf(ptr + <usize>s, e - s));
  }
  const levels = <u32>n;
  // [MQTT-5.0 4.7.2-1] [MQTT-3.1.1 4.7.2-1]: no wildcard at the first level matches `$…`.
  const dollar = load<u8>(ptr) == 0x24;

  let total: u32 = 0;
  const st = stack;
  store<u32>(st, <u32>root);
  store<u32>(st, 0, 4);
  let sp: usize = 1;
  while (sp > 0) {
    sp--;
    const frame = st + (sp << 3);
    const node = <usize>load<u32>(frame);
    const level = load<u32>(frame, 4);
    const multi = <usize>load<u32>(node + N_MULTI);
    if (level == levels) {
      // The topic ends here: the filter itself, and `filter/#` ("sport/#" matches "sport").
      const exact = <usize>load<u32>(node + N_EXACT);
      if (exact != 0) {
        const c = load<u32>(exact + A_COUNT);
        if (total + c <= cap) copyEntries(out + (<usize>total << 4), exact + A_ENTRIES, c);
        total += c;
      }
      if (multi != 0) {
        const c = load<u32>(multi + A_COUNT);
        if (total + c <= cap) copyEntries(out + (<usize>total << 4), multi + A_ENTRIES, c);
        total += c;
      }
      continue;
    }
    if (level != 0 || !dollar) {
      if (multi != 0) {
        const c = load<u32>(multi + A_COUNT);
        if (total + c <= cap) copyEntries(out + (<usize>total << 4), multi + A_ENTRIES, c);
        total += c;
      }
      const plus = load<u32>(node + N_PLUS);
      if (plus != 0) {
        const f = st + (sp << 3);
        store<u32>(f, plus);
        store<u32>(f, level + 1, 4);
        sp++;
      }
    }
    const s = load<u32>(starts + (<usize>level << 2));
    const e = load<u32>(starts + (<usize>(level + 1) << 2)) - 1;
    const child = childLookup(node, ptr + <usize>s, e - s, load<u32>(hashes + (<usize>level << 2)));
    if (child != 0) {
      const f = st + (sp << 3);
      store<u32>(f, <u32>child);
      store<u32>(f, level + 1, 4);
      sp++;
    }
  }
  return total <= cap ? <i32>total : -(<i32>total);
}


// ── sorting results ────────────────────────────────────────────────────────────────────────

const GAPS = memory.data<u32>([701, 301, 132, 57, 23, 10, 4, 1]);

@inline
function entryKey(e: usize): u64 {
  return ((<u64>load<u32>(e, 12)) << 32) | <u64>load<u32>(e);
}

/**
 * Sorts `count` match results at `out` by (group, handle), in place and without allocating, so
 * that a session's overlapping subscriptions are adjacent (the caller merges each run: highest
 * QoS, every subscription identifier) and each shared group's members are contiguous (the caller
 * picks one per group). Shell sort (Ciura's gaps): no recursion, O(n^1.3) on the usual few.
 */
export function topicSortMatches(out: usize, count: u32): void {
  if (count < 2 || !inMemory(out, <u64>count << 4)) return;
  for (let g: usize = 0; g < 8; g++) {
    const gap = load<u32>(GAPS + (g << 2));
    if (gap >= count) continue;
    for (let i = gap; i < count; i++) {
      const p = out + (<usize>i << 4);
      const a = load<u64>(p);
      const b = load<u64>(p, 8);
      const k = ((b >> 32) << 32) | (a & 0xffffffff);
      let j = i;
      while (j >= gap) {
        const q = out + (<usize>(j - gap) << 4);
        if (entryKey(q) <= k) break;
        const d = out + (<usize>j << 4);
        store<u64>(d, load<u64>(q));
        store<u64>(d, load<u64>(q, 8), 8);
        j -= gap;
      }
      const d = out + (<usize>j << 4);
      store<u64>(d, a);
      store<u64>(d, b, 8);
    }
  }
}
