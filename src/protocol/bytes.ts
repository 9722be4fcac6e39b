// Copies of bytes out of WASM memory. A Uint8Array of its own costs an ArrayBuffer allocation,
// about 0.9 µs for a 90-byte PUBLISH here; a slice of Node's 8 KiB Buffer pool costs 0.14 µs. A
// pooled copy keeps its whole pool alive, though, so it is only for bytes that are let go soon
// (a message in flight until its PUBACK); what is kept for long (a queued or retained message)
// is copied into a buffer of its own with `own`.

/** A short-lived copy of u8[start, end) (from Node's Buffer pool when small). */
export function copyOut(u8: Uint8Array, start: number, end: number): Uint8Array {
  const out = Buffer.allocUnsafe(end - start);
  out.set(u8.subarray(start, end));
  return out;
}

/** `bytes`, or a copy of them in a buffer of their own if they share one (a pooled copy). */
export function own(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return Uint8Array.prototype.slice.call(bytes);
}
