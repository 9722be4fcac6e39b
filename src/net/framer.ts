// Splits one connection's byte stream into runs of whole MQTT packets, reading only fixed headers.
//
// Why the gateway frames: a shard then only ever sees whole packets, decoded in place in its
// inbound ring, so it never keeps per-connection reassembly buffers in WASM memory. The gateway's
// cost is a varint scan per packet; a packet split across socket reads is gathered here into one
// buffer of its exact size (known as soon as its fixed header is complete). The oversized and
// malformed-length checks happen here too, before a shard ever sees the bytes.

/** Reason codes (MQTT 5) the framer can report; the gateway closes the connection with them. */
export const FRAME_MALFORMED = 0x81;
export const FRAME_TOO_LARGE = 0x95;

/** Receives a run of whole packets: `bytes[start, end)`, valid only during the call. */
export type RunSink = (bytes: Uint8Array, start: number, end: number) => void;

/**
 * Length of the packet starting at `bytes[at]`: its total size, 0 if the fixed header is not
 * complete yet, or the negated reason code. Remaining Length is at most 4 bytes
 * [MQTT-5.0 1.5.5-1] [MQTT-3.1.1 2.2.3-1]; a packet over `max` bytes is too large
 * [MQTT-5.0 3.1.2-24].
 */
export function packetLength(bytes: Uint8Array, at: number, end: number, max: number): number {
  let value = 0;
  let shift = 0;
  for (let i = at + 1; i < at + 5; i++) {
    if (i >= end) return 0;
    const b = bytes[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      const total = i + 1 - at + value;
      return total > max ? -FRAME_TOO_LARGE : total;
    }
    shift += 7;
  }
  return -FRAME_MALFORMED;
}

export class Framer {
  /** The packet being gathered across reads: its exact size once the header is known. */
  private partial: Uint8Array | null = null;
  private filled = 0;
  /** A fixed header cut short by the end of a read (at most 4 bytes); made when first needed. */
  private header: Uint8Array | null = null;
  private headerLength = 0;

  /**
   * @param maxPacketSize packets above this are refused with 0x95
   * @param maxRun runs handed to the sink are at most this long, except a single packet
   *   (the ring's largest record must be at least maxPacketSize)
   */
  constructor(
    private readonly maxPacketSize: number,
    private readonly maxRun: number,
  ) {}

  /** Whether a packet is partly received (a connection closing now would cut it). */
  get pending(): boolean {
    return this.partial !== null || this.headerLength > 0;
  }

  /** Feed one read. Returns 0, or the reason code of a framing error (stop reading then). */
  push(chunk: Uint8Array, sink: RunSink): number {
    let at = 0;
    if (this.headerLength > 0 || this.partial) {
      at = this.continuePartial(chunk, sink);
      if (at < 0) return -at;
      if (this.pending) return 0;
    }
    let runStart = at;
    while (at < chunk.length) {
      const length = packetLength(chunk, at, chunk.length, this.maxPacketSize);
      if (length < 0) {
        if (at > runStart) sink(chunk, runStart, at);
        return -length;
      }
      if (length === 0 || at + length > chunk.length) {
        if (at > runStart) sink(chunk, runStart, at);
        this.keepTail(chunk, at, length);
        return 0;
      }
      if (at + length - runStart > this.maxRun && at > runStart) {
        sink(chunk, runStart, at);
        runStart = at;
      }
      at += length;
    }
    if (at > runStart) sink(chunk, runStart, at);
    return 0;
  }

  /** Keep the unfinished packet that starts at `chunk[at]` (`length` 0: header unfinished). */
  private keepTail(chunk: Uint8Array, at: number, length: number): void {
    if (length === 0) {
      (this.header ??= new Uint8Array(5)).set(chunk.subarray(at), 0);
      this.headerLength = chunk.length - at;
      return;
    }
    this.partial = new Uint8Array(length);
    this.partial.set(chunk.subarray(at), 0);
    this.filled = chunk.length - at;
  }

  /**
   * Complete the kept header and/or packet from the start of `chunk`. Returns how many bytes of
   * the chunk it used, or the negated reason code.
   */
  private continuePartial(chunk: Uint8Array, sink: RunSink): number {
    let used = 0;
    const header = this.header;
    if (header && this.headerLength > 0) {
      // Copy header bytes one at a time until the length is known: at most 4 of them.
      while (used < chunk.length) {
        header[this.headerLength++] = chunk[used++]!;
        const length = packetLength(header, 0, this.headerLength, this.maxPacketSize);
        if (length < 0) return length;
        if (length > 0) {
          this.partial = new Uint8Array(length);
          this.partial.set(header.subarray(0, this.headerLength), 0);
          this.filled = this.headerLength;
          this.headerLength = 0;
          break;
        }
      }
      if (!this.partial) return used;
    }
    const partial = this.partial!;
    const take = Math.min(partial.length - this.filled, chunk.length - used);
    partial.set(chunk.subarray(used, used + take), this.filled);
    this.filled += take;
    used += take;
    if (this.filled === partial.length) {
      this.partial = null;
      this.filled = 0;
      sink(partial, 0, partial.length);
    }
    return used;
  }
}
