// The output cursor of the encoder. Encoding runs twice over the same code: a dry pass that only
// counts bytes (to learn the Remaining Length and Property Lengths, which precede what they
// measure), then a real pass that stores. Every store is checked against the end of the output
// region as well, so a wrong length can never write past it.

export let w: usize = 0;
let wEnd: usize = 0;
export let dry: bool = true;

// Property Lengths measured by the dry pass, reused by the real pass in the same order (a packet
// has at most two blocks: CONNECT's properties and will properties).
let block: u32 = 0;
let blockLen0: u32 = 0;
let blockLen1: u32 = 0;

export function startDry(): void {
  dry = true;
  w = 0;
  block = 0;
}
export function startReal(out: usize, cap: usize): void {
  dry = false;
  w = out;
  wEnd = out + cap;
  block = 0;
}
/** Remember (dry pass) the length of the next property block. */
export function saveBlockLength(n: u32): void {
  if (block == 0) blockLen0 = n;
  else blockLen1 = n;
  block++;
}
/** The length the dry pass measured for the next property block. */
export function nextBlockLength(): u32 {
  return block++ == 0 ? blockLen0 : blockLen1;
}
/** Run a nested dry count from here; returns the state to restore with `endNested`. */
let savedW: usize = 0;
let savedDry: bool = false;
export function beginNested(): void {
  savedW = w;
  savedDry = dry;
  dry = true;
  w = 0;
}
export function endNested(): u32 {
  const n = <u32>w;
  w = savedW;
  dry = savedDry;
  return n;
}

export function put8(v: u32): void {
  if (!dry && w < wEnd) store<u8>(w, <u8>v);
  w++;
}
export function put16(v: u32): void {
  if (!dry && w + 2 <= wEnd) {
    store<u8>(w, <u8>(v >> 8));
    store<u8>(w + 1, <u8>v);
  }
  w += 2;
}
export function put32(v: u32): void {
  if (!dry && w + 4 <= wEnd) store<u32>(w, bswap<u32>(v));
  w += 4;
}
export function putVarint(v: u32): void {
  do {
    let b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    put8(b);
  } while (v != 0);
}
export function putBytes(p: usize, n: u32): void {
  if (!dry && w + n <= wEnd) memory.copy(w, p, n);
  w += n;
}
/** A length-prefixed string or binary. */
export function putPrefixed(p: usize, n: u32): void {
  put16(n);
  putBytes(p, n);
}

/** Is [p, p+n) inside the memory? Spans written by JS are checked before any copy. */
export function spanInMemory(p: usize, n: u32): bool {
  return <u64>p + <u64>n <= (<u64>memory.size()) << 16;
}
