// The state of the decode in progress, shared by the packet-family decoders: the record being
// filled, the protocol level the packet is read with, and the caller's flags. Module globals
// rather than parameters: one decode runs at a time per instance, and nothing here allocates.
import { setErrorRecord } from './status';

/** decode flag: the bytes come from a client (the broker's view). */
export const FROM_CLIENT: i32 = 1;
/** decode flag: check the payload is UTF-8 when the Payload Format Indicator is 1. */
export const VALIDATE_PAYLOAD_UTF8: i32 = 2;

export let R: usize = 0;
export let V: i32 = 0;
export let F: i32 = 0;

export function setContext(rec: usize, version: i32, flags: i32): void {
  R = rec;
  V = version;
  F = flags;
  setErrorRecord(rec);
}
export function setVersion(version: i32): void {
  V = version;
}
@inline export function fromClient(): bool {
  return (F & FROM_CLIENT) != 0;
}
