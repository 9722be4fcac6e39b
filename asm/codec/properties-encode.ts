// Writing a property block (Property Length + items) from the record's slots, in ascending
// identifier order: the canonical form. Repeated properties sit at their identifier's position
// in list order: User Properties copied as raw items from the block span (decoded input or
// JS-staged items, both in wire form), Subscription Identifiers from a u32 array.
import { hasWildcard } from './cursor';
import { PropId, PropType, propertyInfo, valueOk } from './properties';
import { SLOT_SIZE } from './record';
import { Err, fail } from './status';
import {
  beginNested,
  dry,
  endNested,
  nextBlockLength,
  put8,
  put16,
  put32,
  putBytes,
  putPrefixed,
  putVarint,
  saveBlockLength,
  spanInMemory,
} from './writer';

/** Where a block's inputs are: record-absolute addresses of its cells. */
let slots: usize = 0;
let mask: u64 = 0;
let blockPtr: usize = 0;
let blockLen: u32 = 0;
let subIdsPtr: usize = 0;
let subIdsCount: u32 = 0;
let packetBit: u32 = 0;

function userProperties(): bool {
  if (!spanInMemory(blockPtr, blockLen)) return fail(Err.EncodeSpan, PropId.UserProperty);
  let p = blockPtr;
  const end = blockPtr + blockLen;
  while (p < end) {
    const id = <i32>load<u8>(p);
    const next = skipItem(p, end);
    if (next == 0) return fail(Err.EncodeProperty, PropId.UserProperty);
    if (id == PropId.UserProperty) putBytes(p, <u32>(next - p));
    p = next;
  }
  return true;
}

/** The address after the (wire-form) item at p, or 0 if it does not fit before end. */
function skipItem(p: usize, end: usize): usize {
  const info = propertyInfo(<i32>load<u8>(p));
  let q = p + 1;
  switch (info & 0xff) {
    case PropType.Byte:
      q += 1;
      break;
    case PropType.U16:
      q += 2;
      break;
    case PropType.U32:
      q += 4;
      break;
    case PropType.Varint: {
      let i = 0;
      while (q < end && i < 4 && (load<u8>(q) & 0x80) != 0) {
        q++;
        i++;
      }
      q++;
      break;
    }
    case PropType.Utf8:
    case PropType.Binary:
    case PropType.Pair: {
      const halves = (info & 0xff) == PropType.Pair ? 2 : 1;
      for (let h = 0; h < halves; h++) {
        if (q + 2 > end) return 0;
        q += 2 + ((<usize>load<u8>(q) << 8) | <usize>load<u8>(q + 1));
      }
      break;
    }
    default:
      return 0;
  }
  return q <= end ? q : 0;
}

function item(id: i32, type: u32): bool {
  const slot = slots + <usize>id * SLOT_SIZE;
  const v = load<u32>(slot);
  switch (type) {
    case PropType.Byte:
      if (v > 0xff || !valueOk(id, v)) return fail(Err.EncodeProperty, id);
      put8(id);
      put8(v);
      return true;
    case PropType.U16:
      if (v > 0xffff || !valueOk(id, v)) return fail(Err.EncodeProperty, id);
      put8(id);
      put16(v);
      return true;
    case PropType.U32:
      if (!valueOk(id, v)) return fail(Err.EncodeProperty, id);
      put8(id);
      put32(v);
      return true;
    case PropType.Varint:
      for (let i: u32 = 0; i < subIdsCount; i++) {
        const s = load<u32>(subIdsPtr + (<usize>i << 2));
        // [MQTT-5.0 3.3.2.3.8] 1 to 268,435,455.
        if (s == 0 || s > 268435455) return fail(Err.EncodeProperty, id);
        put8(id);
        putVarint(s);
      }
      return true;
    case PropType.Utf8:
    case PropType.Binary: {
      const n = load<u32>(slot + 4);
      if (n > 0xffff || !spanInMemory(v, n)) return fail(Err.EncodeProperty, id);
      // [MQTT-5.0 3.3.2-14] the Response Topic is a Topic Name: no wildcards.
      if (id == PropId.ResponseTopic && hasWildcard(v, n)) return fail(Err.ResponseTopicWildcard, id);
      put8(id);
      putPrefixed(v, n);
      return true;
    }
    case PropType.Pair:
      return userProperties();
  }
  return fail(Err.EncodeProperty, id);
}

function items(): bool {
  // Set bits in ascending order (ctz), so a block costs its properties, not 42 tests.
  let m = mask;
  while (m != 0) {
    const id = <i32>ctz(m);
    m &= m - 1;
    const info = propertyInfo(id);
    if (info == 0 || ((info >> 8) & packetBit) == 0) return fail(Err.EncodeProperty, id);
    if (!item(id, info & 0xff)) return false;
  }
  return true;
}

/**
 * Write Property Length and the block. `rec` cells: slots at `slotsOff`, mask at `maskOff`, user
 * property items in the span at `blockOff`; Subscription Identifiers from `ids`/`idCount`.
 */
export function writeProperties(
  rec: usize,
  slotsOff: u32,
  maskOff: u32,
  blockOff: u32,
  ids: usize,
  idCount: u32,
  bit: u32,
): bool {
  slots = rec + slotsOff;
  mask = load<u64>(rec + maskOff);
  blockPtr = <usize>load<u32>(rec + blockOff);
  blockLen = load<u32>(rec + blockOff + 4);
  subIdsPtr = ids;
  subIdsCount = idCount;
  packetBit = bit;
  if (idCount > 0 && !spanInMemory(ids, idCount << 2)) return fail(Err.EncodeSpan, PropId.SubscriptionIdentifier);
  let n: u32;
  if (dry) {
    beginNested();
    const ok = items();
    n = endNested();
    if (!ok) return false;
    saveBlockLength(n);
  } else {
    n = nextBlockLength();
  }
  putVarint(n);
  return items();
}

/** Is the block empty (nothing would be written)? Used for the shortest ack forms. */
export function propertiesEmpty(rec: usize, maskOff: u32): bool {
  return load<u64>(rec + maskOff) == 0;
}
