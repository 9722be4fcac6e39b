// The JS side of the topic matcher (asm/topic/): Topic Name / Topic Filter validation, `$share`
// parsing, and SubscriptionIndex, a filter → subscriber index in WASM memory.
//
// Two paths to match:
//  - match(topic: string) encodes the topic into a per-instance scratch region and returns
//    SubscriptionEntry objects: for tests, tools and cold paths;
//  - matchAt(ptr, len) matches a topic that is already in WASM memory (e.g. a PUBLISH decoded
//    from a ring) and leaves the results in the index's output region, read with handleAt(i),
//    optionsAt(i), subIdAt(i), groupAt(i): no allocation, no copy.
// The results are valid until the next matchAt/match on the same index.
//
// Overlapping subscriptions of one session (`a/+` and `a/#`) give one result each: the broker
// merges them (max QoS, every subscription identifier): dedupeByHandle() does it in one pass
// after sorting in WASM (sortResults() alone groups them, and groups shared-group members).
import { TextDecoder, TextEncoder } from 'node:util';
import { WeirError } from '../errors.js';
import { instantiate, type WasmInstance } from './wasm.js';
import { emptyArray } from './empty.js';

/** Status codes of asm/topic/validate.ts and trie.ts (keep in step). */
export const TopicStatus = {
  OK: 0,
  EMPTY: 1,
  TOO_LONG: 2,
  NULL_CHAR: 3,
  WILDCARD_IN_NAME: 4,
  HASH_NOT_LAST: 5,
  PLUS_NOT_ALONE: 6,
  SHARE_EMPTY_NAME: 7,
  SHARE_BAD_NAME: 8,
  SHARE_NO_FILTER: 9,
  NO_MEMORY: 100,
  BAD_ID: 101,
  OUT_OF_BOUNDS: 102,
  TOO_MANY: 103,
} as const;

const MESSAGES: Record<number, string> = {
  1: 'must be at least one character long [MQTT-5.0 4.7.3-1]',
  2: 'must not be longer than 65535 bytes of UTF-8 [MQTT-5.0 4.7.3-3]',
  3: 'must not contain the null character U+0000 [MQTT-5.0 4.7.3-2]',
  4: 'a Topic Name must not contain the wildcards "+" or "#" [MQTT-5.0 4.7.0-1]',
  5: '"#" must be alone in the last level of a Topic Filter [MQTT-5.0 4.7.1-1]',
  6: '"+" must occupy a whole level of a Topic Filter [MQTT-5.0 4.7.1-2]',
  7: 'the ShareName of a shared subscription must be at least one character long [MQTT-5.0 4.8.2-1]',
  8: 'the ShareName must not contain "+" or "#" [MQTT-5.0 4.8.2-2]',
  9: 'the ShareName must be followed by "/" and a Topic Filter [MQTT-5.0 4.8.2-2]',
  101: 'the index does not exist in this WASM instance',
  102: 'the bytes are outside the WASM memory',
  103: 'too many indexes in this WASM instance (at most 1023)',
};

/** Human-readable text for a TopicStatus code. */
export function topicStatusMessage(code: number): string {
  return MESSAGES[code] ?? `topic status ${code}`;
}

/** Byte layout of one match result (asm/topic/trie.ts). */
export const ENTRY_BYTES = 16;
const MAX_TOPIC_BYTES = 65535;
/** Scratch for one encoded topic: any string of ≤ 65535 UTF-16 units fits in 3 bytes each. */
const SCRATCH_BYTES = 256 * 1024;

interface TopicExports {
  topicValidateName(ptr: number, len: number): number;
  topicValidateFilter(ptr: number, len: number): number;
  topicParseShared(ptr: number, len: number): number;
  topicShareResult(): number;
  topicIndexCreate(): number;
  topicIndexDestroy(id: number): number;
  topicIndexAdd(
    id: number,
    ptr: number,
    len: number,
    handle: number,
    options: number,
    subId: number,
    group: number,
  ): number;
  topicIndexRemove(id: number, ptr: number, len: number, handle: number, group: number): number;
  topicIndexMatch(id: number, ptr: number, len: number, out: number, cap: number): number;
  topicIndexSize(id: number): number;
  topicSortMatches(out: number, count: number): void;
  topicNodeCount(): number;
  topicAlloc(size: number): number;
  topicFree(ptr: number, size: number): void;
  topicLiveBytes(): number;
  memoryFree(): number;
}

/** One WASM instance's matcher: its exports and a scratch region for encoding strings. */
interface Matcher {
  readonly wasm: WasmInstance;
  readonly x: TopicExports;
  readonly scratch: number;
  /** The scratch as a view (made once: subarray() per call would allocate). */
  readonly scratchView: Uint8Array;
  readonly encoder: TextEncoder;
}

const matchers = new WeakMap<WasmInstance, Matcher>();
const decoder = new TextDecoder();
let standalone: WasmInstance | undefined;

function noMemory(what: string, wasm: WasmInstance): WeirError {
  return new WeirError(
    'ERR_WASM_MEMORY',
    `the topic matcher ran out of WASM memory while ${what} (${wasm.exports.memoryFree()} of ` +
      `${wasm.memory.buffer.byteLength} bytes left); give the instance more memory (memoryBytes) ` +
      'or hold fewer subscriptions per instance.',
  );
}

function matcherOf(wasm?: WasmInstance): Matcher {
  if (!wasm) {
    standalone ??= instantiate();
    wasm = standalone;
  }
  let m = matchers.get(wasm);
  if (!m) {
    const x = wasm.exports as unknown as TopicExports;
    if (typeof x.topicIndexMatch !== 'function') {
      throw new WeirError('ERR_WASM_MISSING', 'this WASM module has no topic matcher (topicIndexMatch)');
    }
    const scratch = x.topicAlloc(SCRATCH_BYTES);
    if (scratch === 0) throw noMemory('reserving its topic scratch', wasm);
    const scratchView = wasm.u8.subarray(scratch, scratch + SCRATCH_BYTES);
    m = { wasm, x, scratch, scratchView, encoder: new TextEncoder() };
    matchers.set(wasm, m);
  }
  return m;
}

/** Encodes `s` into the scratch; returns its byte length, or -1 when longer than 65535 bytes. */
function encode(m: Matcher, s: string): number {
  if (s.length > MAX_TOPIC_BYTES) return -1;
  const { written } = m.encoder.encodeInto(s, m.scratchView);
  return written > MAX_TOPIC_BYTES ? -1 : written;
}

/** Checks a Topic Name; null when valid, otherwise what is wrong. */
export function validateTopicName(topic: string, wasm?: WasmInstance): string | null {
  const m = matcherOf(wasm);
  const len = encode(m, topic);
  if (len < 0) return topicStatusMessage(TopicStatus.TOO_LONG);
  const rc = m.x.topicValidateName(m.scratch, len);
  return rc === 0 ? null : topicStatusMessage(rc);
}

/** Checks a Topic Filter (a `$share/...` filter is checked as a plain filter; see parseShared). */
export function validateTopicFilter(filter: string, wasm?: WasmInstance): string | null {
  const m = matcherOf(wasm);
  const len = encode(m, filter);
  if (len < 0) return topicStatusMessage(TopicStatus.TOO_LONG);
  const rc = m.x.topicValidateFilter(m.scratch, len);
  return rc === 0 ? null : topicStatusMessage(rc);
}

/**
 * Splits `$share/{ShareName}/{filter}` (MQTT 5.0 §4.8.2). Returns null when `filter` is not a
 * shared subscription; throws WeirError ERR_TOPIC when it is one but malformed.
 */
export function parseShared(filter: string, wasm?: WasmInstance): { group: string; filter: string } | null {
  const m = matcherOf(wasm);
  const len = encode(m, filter);
  if (len < 0) throw new WeirError('ERR_TOPIC', `invalid topic filter: ${topicStatusMessage(2)}`);
  const rc = m.x.topicParseShared(m.scratch, len);
  if (rc === 0) return null;
  if (rc < 0) throw new WeirError('ERR_TOPIC', `invalid shared subscription: ${topicStatusMessage(-rc)}`);
  const r = m.x.topicShareResult();
  const v = m.wasm.view;
  // TextDecoder refuses views of a SharedArrayBuffer: copy the (short) spans out.
  const gs = v.getUint32(r, true);
  const gl = v.getUint32(r + 4, true);
  const fs = v.getUint32(r + 8, true);
  const fl = v.getUint32(r + 12, true);
  const u8 = m.wasm.u8;
  return {
    group: decoder.decode(u8.slice(m.scratch + gs, m.scratch + gs + gl)),
    filter: decoder.decode(u8.slice(m.scratch + fs, m.scratch + fs + fl)),
  };
}

export interface SubscriptionEntry {
  /** The subscriber (session) handle, a u32 chosen by the broker. */
  handle: number;
  qos: 0 | 1 | 2;
  /** No Local. */
  nl: boolean;
  /** Retain As Published. */
  rap: boolean;
  /** Retain Handling. */
  rh: 0 | 1 | 2;
  /** Subscription Identifier, 0 = none. */
  subId: number;
  /** The ShareName of a shared subscription, null when not shared. */
  group: string | null;
}

/** Packs options as the MQTT 5.0 Subscription Options byte (§3.8.3.1). */
export function packOptions(e: Pick<SubscriptionEntry, 'qos' | 'nl' | 'rap' | 'rh'>): number {
  return (e.qos & 3) | (e.nl ? 4 : 0) | (e.rap ? 8 : 0) | ((e.rh & 3) << 4);
}

/** The options fields of a Subscription Options byte. */
export function unpackOptions(o: number): Pick<SubscriptionEntry, 'qos' | 'nl' | 'rap' | 'rh'> {
  return {
    qos: (o & 3) as 0 | 1 | 2,
    nl: (o & 4) !== 0,
    rap: (o & 8) !== 0,
    rh: ((o >> 4) & 3) as 0 | 1 | 2,
  };
}

/** A filter → subscriptions index in WASM memory. See the file comment for the two match paths. */
export class SubscriptionIndex {
  readonly wasm: WasmInstance;
  readonly id: number;
  readonly #m: Matcher;
  readonly #x: TopicExports;
  #out = 0;
  #outCap = 0;
  /** The memory as u32s (WASM is little-endian, as every host Node runs on). */
  readonly #u32: Uint32Array;
  #count = 0;
  #destroyed = false;
  // Shared-group names interned to u32 ids (0 = not shared), refcounted by entries.
  readonly #groupIds = new Map<string, number>();
  readonly #groupNames: (string | null)[] = [null];
  readonly #groupRefs: number[] = [0];
  readonly #freeGroupIds: number[] = [];

  constructor(wasm?: WasmInstance) {
    this.#m = matcherOf(wasm);
    this.wasm = this.#m.wasm;
    this.#x = this.#m.x;
    this.#u32 = new Uint32Array(this.wasm.memory.buffer);
    const id = this.#x.topicIndexCreate();
    if (id === -TopicStatus.NO_MEMORY) throw noMemory('creating an index', this.wasm);
    if (id < 0)
      throw new WeirError('ERR_TOPIC', `cannot create a subscription index: ${topicStatusMessage(-id)}`);
    this.id = id;
    this.#grow(1024);
  }

  /** Number of entries (subscriptions) in the index. */
  get size(): number {
    return this.#x.topicIndexSize(this.id);
  }

  /** Number of results of the last matchAt/match, readable with handleAt(i) etc. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds a subscription. The same filter, handle and group replace the options and subscription
   * identifier of the existing one [MQTT-5.0 3.8.4-3]: returns true when it replaced.
   * `filter` is the Topic Filter without any `$share/{group}/` prefix (see parseShared).
   */
  add(filter: string, entry: SubscriptionEntry): boolean {
    const len = encode(this.#m, filter);
    if (len < 0) throw new WeirError('ERR_TOPIC', `invalid topic filter: ${topicStatusMessage(2)}`);
    const group = this.#intern(entry.group);
    const rc = this.#x.topicIndexAdd(
      this.id,
      this.#m.scratch,
      len,
      entry.handle >>> 0,
      packOptions(entry),
      entry.subId >>> 0,
      group,
    );
    if (rc === 0) {
      // A topic matches each entry at most once, so an output region as large as the index means
      // matchAt never has to grow it: running out of memory is met here, where the caller can
      // refuse the filter, and never while a PUBLISH is being matched.
      if (this.size > this.#outCap) {
        try {
          this.#grow(this.size);
        } catch (error) {
          this.remove(filter, entry.handle, entry.group);
          throw error;
        }
      }
      return false;
    }
    this.#release(group);
    if (rc === 1) return true;
    if (rc === -TopicStatus.NO_MEMORY)
      throw noMemory(`adding the filter "${filter.slice(0, 200)}"`, this.wasm);
    throw new WeirError(
      'ERR_TOPIC',
      `invalid topic filter "${filter.slice(0, 200)}": ${topicStatusMessage(-rc)}`,
    );
  }

  /** Removes the subscription (filter, handle, group); true when it existed. */
  remove(filter: string, handle: number, group: string | null = null): boolean {
    const len = encode(this.#m, filter);
    if (len < 0) return false;
    const gid = group === null ? 0 : this.#groupIds.get(group);
    if (gid === undefined) return false;
    const rc = this.#x.topicIndexRemove(this.id, this.#m.scratch, len, handle >>> 0, gid);
    if (rc === 1) {
      this.#release(gid);
      return true;
    }
    if (rc === 0) return false;
    throw new WeirError(
      'ERR_TOPIC',
      `invalid topic filter "${filter.slice(0, 200)}": ${topicStatusMessage(-rc)}`,
    );
  }

  /**
   * Hot path: matches the Topic Name at (ptr, len) in WASM memory (not validated: the codec
   * did it). Returns the number of results, readable with handleAt(i) … groupAt(i).
   */
  matchAt(topicPtr: number, topicLen: number): number {
    let n = this.#x.topicIndexMatch(this.id, topicPtr, topicLen, this.#out, this.#outCap);
    while (n < 0) {
      // -n results did not fit: grow the output region (doubling) and match again.
      this.#grow(-n);
      n = this.#x.topicIndexMatch(this.id, topicPtr, topicLen, this.#out, this.#outCap);
    }
    this.#count = n;
    return n;
  }

  /** Readable path: matches a Topic Name given as a string (empty or too long → no results). */
  match(topic: string): SubscriptionEntry[] {
    const len = encode(this.#m, topic);
    if (len <= 0) {
      this.#count = 0;
      return [];
    }
    const n = this.matchAt(this.#m.scratch, len);
    const result: SubscriptionEntry[] = new Array(n);
    const u32 = this.#u32;
    for (let i = 0, p = this.#out >>> 2; i < n; i++, p += 4) {
      const o = u32[p + 1]!;
      result[i] = {
        handle: u32[p]!,
        qos: (o & 3) as 0 | 1 | 2,
        nl: (o & 4) !== 0,
        rap: (o & 8) !== 0,
        rh: ((o >> 4) & 3) as 0 | 1 | 2,
        subId: u32[p + 2]!,
        group: this.#groupNames[u32[p + 3]!] ?? null,
      };
    }
    return result;
  }

  /** Address of the results of the last match (count × 16 bytes: handle, options, subId, group). */
  get outputPtr(): number {
    return this.#out;
  }

  handleAt(i: number): number {
    return this.#u32[(this.#out >>> 2) + i * 4 + 0]!;
  }

  /** Subscription Options byte (MQTT 5.0 §3.8.3.1): QoS bits 0-1, NL bit 2, RAP bit 3, RH bits 4-5. */
  optionsAt(i: number): number {
    return this.#u32[(this.#out >>> 2) + i * 4 + 1]!;
  }

  subIdAt(i: number): number {
    return this.#u32[(this.#out >>> 2) + i * 4 + 2]!;
  }

  groupIdAt(i: number): number {
    return this.#u32[(this.#out >>> 2) + i * 4 + 3]!;
  }

  /** The interned group name of result i, or null when not shared. */
  groupAt(i: number): string | null {
    return this.#groupNames[this.groupIdAt(i)] ?? null;
  }

  /**
   * Sorts the results of the last match by (group, handle) in WASM, so that a session's
   * overlapping subscriptions are adjacent and each shared group's members are contiguous.
   */
  sortResults(): void {
    if (this.#count > 1) this.#x.topicSortMatches(this.#out, this.#count);
  }

  /**
   * Merges the results of the last match per (handle, group), in place, for delivery: one result
   * per run, with the highest QoS of the run, No Local only if all have it, Retain As Published
   * if any has it; `subIds[i]`, for each kept result i, receives the non-zero subscription
   * identifiers of the run (MQTT 5.0 §3.3.4). Returns the new count. Sorts in WASM, then one
   * pass: no Map. The lists in `subIds` are reused from call to call (entries past the count are
   * stale), so a message whose subscriptions carry no identifier allocates nothing here.
   */
  dedupeByHandle(subIds?: number[][]): number {
    const n = this.#count;
    const u32 = this.#u32;
    const base = this.#out >>> 2;
    if (n > 1) this.#x.topicSortMatches(this.#out, n);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const p = base + i * 4;
      const sub = u32[p + 2]!;
      if (kept > 0) {
        const q = base + (kept - 1) * 4;
        if (u32[q] === u32[p] && u32[q + 3] === u32[p + 3]) {
          const mine = u32[q + 1]!;
          const other = u32[p + 1]!;
          // Highest QoS [MQTT-5.0 3.3.4-2]; No Local only if every merged subscription has it
          // (the message matches one without); Retain As Published if any has it.
          let merged = (other & 3) > (mine & 3) ? (mine & ~3) | (other & 3) : mine;
          merged = (merged & ~4) | (mine & other & 4);
          u32[q + 1] = merged | (other & 8);
          if (subIds && sub !== 0) subIds[kept - 1]!.push(sub);
          continue;
        }
      }
      const q = base + kept * 4;
      if (q !== p) u32.copyWithin(q, p, p + 4);
      if (subIds) {
        const list = (subIds[kept] ??= []);
        emptyArray(list);
        if (sub !== 0) list.push(sub);
      }
      kept++;
    }
    this.#count = kept;
    return kept;
  }

  /**
   * Frees the index (entries, nodes, its id and output region) for reuse by other indexes of
   * the instance. O(subscriptions in the instance): for shutdown and tests. Do not use it after.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#x.topicIndexDestroy(this.id);
    this.#x.topicFree(this.#out, this.#outCap * ENTRY_BYTES);
    this.#out = 0;
    this.#outCap = 0;
    this.#count = 0;
    this.#groupIds.clear();
  }

  #grow(entries: number): void {
    let cap = Math.max(this.#outCap, 1024);
    while (cap < entries) cap *= 2;
    if (cap === this.#outCap) return;
    const ptr = this.#x.topicAlloc(cap * ENTRY_BYTES);
    if (ptr === 0) throw noMemory(`allocating room for ${entries} match results`, this.wasm);
    if (this.#out !== 0) this.#x.topicFree(this.#out, this.#outCap * ENTRY_BYTES);
    this.#out = ptr;
    this.#outCap = cap;
  }

  #intern(group: string | null): number {
    if (group === null) return 0;
    let id = this.#groupIds.get(group);
    if (id === undefined) {
      id = this.#freeGroupIds.pop() ?? this.#groupNames.length;
      this.#groupIds.set(group, id);
      this.#groupNames[id] = group;
      this.#groupRefs[id] = 0;
    }
    this.#groupRefs[id] = (this.#groupRefs[id] ?? 0) + 1;
    return id;
  }

  #release(id: number): void {
    if (id === 0) return;
    const refs = (this.#groupRefs[id] ?? 1) - 1;
    this.#groupRefs[id] = refs;
    if (refs > 0) return;
    const name = this.#groupNames[id];
    if (typeof name === 'string') this.#groupIds.delete(name);
    this.#groupNames[id] = null;
    this.#freeGroupIds.push(id);
  }
}
