// The read cursor over one packet: `cur` advances from the variable header to `lim`, the end of
// the packet (or of the property block being read). Every read checks the bound first, so hostile
// input can only ever produce a failure (Err.Truncated), never a load past the packet: the release
// build runs with --noAssert and must never trap.
import { Err, fail } from './status';

export let cur: usize = 0;
export let lim: usize = 0;
// The value of the last span read (readString / readBinary).
export let spanPtr: usize = 0;
export let spanLen: u32 = 0;

export function setCursor(start: usize, end: usize): void {
  cur = start;
  lim = end;
}
export function setLimit(end: usize): void {
  lim = end;
}
export function skip(n: u32): void {
  cur += n;
}

@inline export function remaining(): u32 {
  return <u32>(lim - cur);
}

/** A byte, or -1 (with the error recorded) when the packet ends. */
export function readU8(): i32 {
  if (cur >= lim) {
    fail(Err.Truncated, 1);
    return -1;
  }
  return <i32>load<u8>(cur++);
}

/** A Two Byte Integer (big-endian), or -1 when the packet ends. */
export function readU16(): i32 {
  if (lim - cur < 2) {
    fail(Err.Truncated, 2);
    return -1;
  }
  const v = (<i32>load<u8>(cur) << 8) | <i32>load<u8>(cur + 1);
  cur += 2;
  return v;
}

/** A Four Byte Integer, or -1 (as i64) when the packet ends. */
export function readU32(): i64 {
  if (lim - cur < 4) {
    fail(Err.Truncated, 4);
    return -1;
  }
  const v = bswap<u32>(load<u32>(cur));
  cur += 4;
  return <i64>v;
}

/**
 * A Variable Byte Integer: at most 4 bytes, in its shortest form [MQTT-5.0 1.5.5-1]. Returns -1
 * when it is truncated, too long or not minimal (error recorded).
 */
export function readVarint(): i32 {
  let value: i32 = 0;
  for (let i = 0; i < 4; i++) {
    if (cur >= lim) {
      fail(Err.Truncated, 0);
      return -1;
    }
    const b = <i32>load<u8>(cur++);
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // [MQTT-5.0 1.5.5-1] a trailing 0x00 continuation means a shorter encoding existed.
      if (i > 0 && b == 0) {
        fail(Err.VarintNotMinimal, 0);
        return -1;
      }
      return value;
    }
  }
  // [MQTT-5.0 1.5.5] [MQTT-3.1.1 2.2.3] at most four bytes.
  fail(Err.RemainingLengthTooLong, 0);
  return -1;
}

/** Bytes a Variable Byte Integer takes. */
export function varintSize(v: u32): u32 {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
}

/** Binary Data: a Two Byte length and that many bytes; sets spanPtr/spanLen. */
export function readBinary(): bool {
  const n = readU16();
  if (n < 0) return false;
  if (<u32>(lim - cur) < <u32>n) return fail(Err.Truncated, n);
  spanPtr = cur;
  spanLen = <u32>n;
  cur += n;
  return true;
}

/** A UTF-8 Encoded String: Binary Data that must also be well-formed UTF-8 without U+0000. */
export function readString(): bool {
  if (!readBinary()) return false;
  return validUtf8(spanPtr, spanLen);
}

/**
 * Well-formed UTF-8 [MQTT-5.0 1.5.4-1] [MQTT-3.1.1 1.5.3-1]: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, and no U+0000 [MQTT-5.0 1.5.4-2] [MQTT-3.1.1 1.5.3-2].
 * The ranges follow the Unicode table of well-formed byte sequences (Table 3-7).
 */
const LO: u64 = 0x0101010101010101;
const HI: u64 = 0x8080808080808080;

/** Does the 8-byte word contain a zero byte? (the classic haszero bit trick) */
@inline function hasZeroByte(x: u64): bool {
  return ((x - LO) & ~x & HI) != 0;
}

export function validUtf8(p: usize, n: u32): bool {
  return utf8Check(p, n, false);
}

/**
 * UTF-8 Encoded Character Data (a payload whose Payload Format Indicator is 1): well-formed UTF-8
 * as Unicode defines it [MQTT-5.0 3.3.2.3.2], where U+0000 is allowed (the U+0000 rule is for
 * UTF-8 Encoded Strings only).
 */
export function validUtf8Data(p: usize, n: u32): bool {
  return utf8Check(p, n, true);
}

function utf8Check(p: usize, n: u32, allowNull: bool): bool {
  const end = p + n;
  while (p < end) {
    // Fast path: 8 ASCII bytes (without U+0000 for strings) at a time; topics are mostly ASCII.
    if (end - p >= 8) {
      const x = load<u64>(p);
      if ((x & HI) == 0 && (allowNull || !hasZeroByte(x))) {
        p += 8;
        continue;
      }
    }
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) {
      if (b0 == 0 && !allowNull) return fail(Err.Utf8Null, <i32>(p - spanPtr));
      p++;
      continue;
    }
    let need: u32 = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 == 0xe0) lo = 0xa0; // overlong
      if (b0 == 0xed) hi = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 == 0xf0) lo = 0x90; // overlong
      if (b0 == 0xf4) hi = 0x8f; // above U+10FFFF
    } else return fail(Err.Utf8Invalid, <i32>b0);
    if (<u32>(end - p) <= need) return fail(Err.Utf8Invalid, <i32>b0);
    const b1 = <u32>load<u8>(p + 1);
    if (b1 < lo || b1 > hi) return fail(Err.Utf8Invalid, <i32>b1);
    for (let i: u32 = 2; i <= need; i++) {
      const b = <u32>load<u8>(p + i);
      if ((b & 0xc0) != 0x80) return fail(Err.Utf8Invalid, <i32>b);
    }
    p += 1 + need;
  }
  return true;
}

/** Does the span contain '+' or '#'? Topic names must not [MQTT-5.0 3.3.2-2] [MQTT-3.1.1 3.3.2-2]. */
export function hasWildcard(p: usize, n: u32): bool {
  const end = p + n;
  for (; end - p >= 8; p += 8) {
    const x = load<u64>(p);
    if (hasZeroByte(x ^ (LO * 0x2b)) || hasZeroByte(x ^ (LO * 0x23))) return true;
  }
  for (; p < end; p++) {
    const b = load<u8>(p);
    if (b == 0x2b || b == 0x23) return true;
  }
  return false;
}
