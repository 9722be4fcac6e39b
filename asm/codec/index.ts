// The codec's exports (re-exported by asm/index.ts). Integers and addresses only: JS writes and
// reads the record by the offsets of asm/codec/record.ts (mirrored in src/protocol/record.ts).
import { decodeInto } from './decode';
import { encodeRecord } from './encode';
import { RECORD_SIZE } from './record';
import { reserve } from '../memory';

export { errorReasonCode } from './status';
export { reasonCodePackets } from './reasons';
export { propertyInfo, propNext } from './properties';
export { listNext } from './subscribe';
export { layoutOffset } from './record';
export { encodePublishFrom, forwardRecord } from './forward';

export function codecVersion(): u32 {
  return 2;
}

let defaultRecord: usize = 0;

/** A new record (RECORD_SIZE bytes, zeroed), or 0 when the memory is full. */
export function recordNew(): usize {
  const rec = reserve(RECORD_SIZE);
  if (rec != 0) memory.fill(rec, 0, RECORD_SIZE);
  return rec;
}

/** The record `decode` fills (reserved on first use); 0 when the memory is full. */
export function record(): usize {
  if (defaultRecord == 0) defaultRecord = recordNew();
  return defaultRecord;
}

/** Decode the packet at [ptr, ptr+len) into the default record (see decode.ts for the status). */
export function decode(ptr: usize, len: i32, version: i32, flags: i32, maxPacketSize: i32): i32 {
  const rec = record();
  if (rec == 0) return -0x80;
  return decodeInto(rec, ptr, len, version, flags, maxPacketSize);
}

/** Decode into a given record (e.g. one per shard or per ring). */
export function decodeRecord(rec: usize, ptr: usize, len: i32, version: i32, flags: i32, maxPacketSize: i32): i32 {
  return decodeInto(rec, ptr, len, version, flags, maxPacketSize);
}

/** Encode the packet described by `rec` into [out, out+cap). See encode.ts for the result. */
export function encode(rec: usize, version: i32, out: usize, cap: i32): i32 {
  return encodeRecord(rec, version, out, cap);
}

/** Zero a whole record (before JS fills it for encoding). */
export function recordClear(rec: usize): void {
  memory.fill(rec, 0, RECORD_SIZE);
}

export function recordSize(): u32 {
  return RECORD_SIZE;
}
