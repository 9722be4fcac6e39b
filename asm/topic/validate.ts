// Topic Name and Topic Filter rules (MQTT 5.0 §4.7, §4.8.2; MQTT 3.1.1 §4.7), checked on the
// UTF-8 bytes in place. Well-formed UTF-8 is the codec's job and is not checked again here.
//
// Status codes (mirrored by src/protocol/topic.ts): 0 = valid, otherwise one of TOPIC_* below.
// The statement numbers differ between editions where noted.

export const TOPIC_OK: i32 = 0;
/** [MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.3-1] at least one character. */
export const TOPIC_EMPTY: i32 = 1;
/** [MQTT-5.0 4.7.3-3] [MQTT-3.1.1 4.7.3-3] at most 65,535 bytes. */
export const TOPIC_TOO_LONG: i32 = 2;
/** [MQTT-5.0 4.7.3-2] [MQTT-3.1.1 4.7.3-2] no U+0000. */
export const TOPIC_NULL_CHAR: i32 = 3;
/** [MQTT-5.0 4.7.0-1] [MQTT-3.1.1 4.7.1-1] no wildcard in a Topic Name. */
export const TOPIC_WILDCARD_IN_NAME: i32 = 4;
/** [MQTT-5.0 4.7.1-1] [MQTT-3.1.1 4.7.1-2] `#` alone in the last level. */
export const TOPIC_HASH_NOT_LAST: i32 = 5;
/** [MQTT-5.0 4.7.1-2] [MQTT-3.1.1 4.7.1-3] `+` alone in its level. */
export const TOPIC_PLUS_NOT_ALONE: i32 = 6;
/** [MQTT-5.0 4.8.2-1] a ShareName of at least one character. */
export const TOPIC_SHARE_EMPTY_NAME: i32 = 7;
/** [MQTT-5.0 4.8.2-2] no `+` or `#` in a ShareName. */
export const TOPIC_SHARE_BAD_NAME: i32 = 8;
/** [MQTT-5.0 4.8.2-2] a ShareName followed by `/` and a Topic Filter. */
export const TOPIC_SHARE_NO_FILTER: i32 = 9;

/** The bytes are not inside the WASM memory (a caller's bug; reported, never a trap). */
export const TOPIC_OUT_OF_BOUNDS: i32 = 102;

export const MAX_TOPIC_BYTES: u32 = 65535;

// The memory's size, cached: memory.size() on a shared memory costs ~15 ns (a runtime call),
// as much as matching a short topic. Memory never shrinks, so a stale value is a safe bound.
let memBytes: u64 = 0;

/** Whether [ptr, ptr + len) lies inside the memory. */
@inline
export function inMemory(ptr: usize, len: u64): bool {
  const end = <u64>ptr + len;
  if (end <= memBytes) return true;
  memBytes = (<u64>memory.size()) << 16;
  return end <= memBytes;
}

const SLASH: u32 = 0x2f;
const PLUS: u32 = 0x2b;
const HASH: u32 = 0x23;

/** Checks a Topic Name (PUBLISH, Will Topic). */
export function topicValidateName(ptr: usize, len: u32): i32 {
  if (len == 0) return TOPIC_EMPTY; // [MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.3-1]
  if (len > MAX_TOPIC_BYTES) return TOPIC_TOO_LONG; // [MQTT-5.0 4.7.3-3] [MQTT-3.1.1 4.7.3-3]
  if (!inMemory(ptr, len)) return TOPIC_OUT_OF_BOUNDS;
  const end = ptr + <usize>len;
  for (let p = ptr; p < end; p++) {
    const c = <u32>load<u8>(p);
    if (c == 0) return TOPIC_NULL_CHAR; // [MQTT-5.0 4.7.3-2] [MQTT-3.1.1 4.7.3-2]
    // [MQTT-5.0 4.7.0-1] [MQTT-3.1.1 4.7.1-1]
    if (c == PLUS || c == HASH) return TOPIC_WILDCARD_IN_NAME;
  }
  return TOPIC_OK;
}

/** Checks a Topic Filter (SUBSCRIBE, UNSUBSCRIBE), without `$share` handling. */
export function topicValidateFilter(ptr: usize, len: u32): i32 {
  if (len == 0) return TOPIC_EMPTY; // [MQTT-5.0 4.7.3-1] [MQTT-3.1.1 4.7.3-1]
  if (len > MAX_TOPIC_BYTES) return TOPIC_TOO_LONG; // [MQTT-5.0 4.7.3-3] [MQTT-3.1.1 4.7.3-3]
  if (!inMemory(ptr, len)) return TOPIC_OUT_OF_BOUNDS;
  const end = ptr + <usize>len;
  let levelStart = ptr;
  for (let p = ptr; p < end; p++) {
    const c = <u32>load<u8>(p);
    if (c == SLASH) {
      levelStart = p + 1;
    } else if (c == 0) {
      return TOPIC_NULL_CHAR; // [MQTT-5.0 4.7.3-2] [MQTT-3.1.1 4.7.3-2]
    } else if (c == PLUS) {
      // [MQTT-5.0 4.7.1-2] [MQTT-3.1.1 4.7.1-3]: the whole level.
      if (p != levelStart) return TOPIC_PLUS_NOT_ALONE;
      if (p + 1 < end && <u32>load<u8>(p + 1) != SLASH) return TOPIC_PLUS_NOT_ALONE;
    } else if (c == HASH) {
      // [MQTT-5.0 4.7.1-1] [MQTT-3.1.1 4.7.1-2]: alone in its level, and the last character.
      if (p != levelStart || p + 1 != end) return TOPIC_HASH_NOT_LAST;
    }
  }
  return TOPIC_OK;
}

// Result of the last topicParseShared: [groupStart, groupLen, filterStart, filterLen] (offsets
// from the filter's first byte).
const shareResult = memory.data(16, 16);

/** Address of the 4 × u32 result of topicParseShared. */
export function topicShareResult(): usize {
  return shareResult;
}

/**
 * Parses `$share/{ShareName}/{filter}` (MQTT 5.0 §4.8.2). Returns 0 when the filter is not a
 * shared subscription, 1 when it is (spans in topicShareResult()), or a TOPIC_* error code
 * negated. The inner filter is validated as a Topic Filter.
 */
export function topicParseShared(ptr: usize, len: u32): i32 {
  if (len > MAX_TOPIC_BYTES) return -TOPIC_TOO_LONG;
  if (!inMemory(ptr, len)) return -TOPIC_OUT_OF_BOUNDS;
  // "$share/"
  if (
    len < 7 ||
    load<u8>(ptr) != 0x24 ||
    load<u8>(ptr + 1) != 0x73 ||
    load<u8>(ptr + 2) != 0x68 ||
    load<u8>(ptr + 3) != 0x61 ||
    load<u8>(ptr + 4) != 0x72 ||
    load<u8>(ptr + 5) != 0x65 ||
    load<u8>(ptr + 6) != <u8>SLASH
  ) {
    return 0;
  }
  let i: u32 = 7;
  while (i < len) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == SLASH) break;
    if (c == PLUS || c == HASH) return -TOPIC_SHARE_BAD_NAME; // [MQTT-5.0 4.8.2-2]
    if (c == 0) return -TOPIC_NULL_CHAR; // [MQTT-5.0 4.7.3-2]
    i++;
  }
  if (i == 7) return -TOPIC_SHARE_EMPTY_NAME; // [MQTT-5.0 4.8.2-1]
  // [MQTT-5.0 4.8.2-2]: "/" then a Topic Filter of at least one character.
  if (i + 1 >= len) return -TOPIC_SHARE_NO_FILTER;
  const filterStart = i + 1;
  const filterLen = len - filterStart;
  const rc = topicValidateFilter(ptr + <usize>filterStart, filterLen);
  if (rc != TOPIC_OK) return -rc;
  store<u32>(shareResult, 7);
  store<u32>(shareResult + 4, i - 7);
  store<u32>(shareResult + 8, filterStart);
  store<u32>(shareResult + 12, filterLen);
  return 1;
}
