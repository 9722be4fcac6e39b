// The topic matcher's exports (re-exported by asm/index.ts): validation and `$share` parsing
// (validate.ts), the subscription index (trie.ts, match.ts; layout.ts, tables.ts) and its pools
// (pool.ts). The JS side is
// src/protocol/topic.ts, which mirrors the status codes.
import { bytesAlloc, bytesFree, poolLiveBytes } from './pool';
import { inMemory } from './validate';

export { topicParseShared, topicShareResult, topicValidateFilter, topicValidateName } from './validate';
export { topicIndexMatch, topicSortMatches } from './match';
export {
  topicIndexAdd,
  topicIndexCreate,
  topicIndexDestroy,
  topicIndexRemove,
  topicIndexSize,
  topicNodeCount,
} from './trie';

export function topicVersion(): u32 {
  return 1;
}

/** A buffer for the JS side (topic scratch, match output) from the matcher's pools; 0 when full. */
export function topicAlloc(size: u32): usize {
  return size == 0 ? 0 : bytesAlloc(size);
}

/** Returns a buffer from topicAlloc(size) (same size). A pointer outside the memory is ignored. */
export function topicFree(ptr: usize, size: u32): void {
  if (ptr != 0 && size != 0 && inMemory(ptr, size)) bytesFree(ptr, size);
}

/** Bytes handed out by the matcher's pools and not freed (a leak check for tests). */
export function topicLiveBytes(): f64 {
  return <f64>poolLiveBytes();
}
