import { describe, expect, it } from 'vitest';
import { FRAME_MALFORMED, FRAME_TOO_LARGE, Framer, packetLength } from '../../../src/net/framer.js';
import { prng } from '../../helpers/prng.js';

/** A packet with a given body length: first byte, minimal Remaining Length, body bytes. */
function packet(first: number, bodyLength: number, fill: number): number[] {
  const out = [first];
  let n = bodyLength;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  for (let i = 0; i < bodyLength; i++) out.push((fill + i) & 0xff);
  return out;
}

function feed(framer: Framer, stream: Uint8Array, cuts: number[]) {
  const runs: Buffer[] = [];
  let status = 0;
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    status = framer.push(stream.subarray(prev, cut), (b, s, e) => runs.push(Buffer.from(b.subarray(s, e))));
    prev = cut;
    if (status !== 0) break;
  }
  return { runs, status };
}

describe('gateway framer', () => {
  it('reads the Remaining Length of 1 to 4 bytes [MQTT-5.0 1.5.5-1] [MQTT-3.1.1 2.2.3-1]', () => {
    const max = 1 << 30;
    expect(packetLength(Uint8Array.of(0xc0, 0x00), 0, 2, max)).toBe(2);
    expect(packetLength(Uint8Array.of(0x30, 0x7f), 0, 2, max)).toBe(2 + 127);
    expect(packetLength(Uint8Array.of(0x30, 0x80, 0x01), 0, 3, max)).toBe(3 + 128);
    expect(packetLength(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f), 0, 5, max)).toBe(5 + 268_435_455);
    expect(packetLength(Uint8Array.of(0x30, 0x80, 0x80), 0, 3, max)).toBe(0);
    expect(packetLength(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01), 0, 6, max)).toBe(-FRAME_MALFORMED);
  });

  it('hands over whole packets only, whatever the read boundaries', () => {
    const random = prng(42);
    for (let round = 0; round < 300; round++) {
      const packets: number[][] = [];
      for (let i = 0, n = 1 + Math.floor(random() * 20); i < n; i++) {
        const size = random() < 0.1 ? 128 + Math.floor(random() * 20_000) : Math.floor(random() * 130);
        packets.push(packet(0x30, size, i));
      }
      const stream = Uint8Array.from(packets.flat());
      const cuts = [
        ...new Set(
          Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * stream.length)),
        ),
      ].sort((a, b) => a - b);
      const maxRun = 64 + Math.floor(random() * 4096);
      const { runs, status } = feed(new Framer(1 << 20, maxRun), stream, cuts);
      expect(status).toBe(0);
      expect(Buffer.concat(runs).equals(stream)).toBe(true);
      // Every run is a sequence of whole packets, and only a single packet may exceed maxRun.
      const starts = new Set<number>();
      let offset = 0;
      for (const p of packets) {
        starts.add(offset);
        offset += p.length;
      }
      starts.add(offset);
      offset = 0;
      for (const run of runs) {
        expect(starts.has(offset)).toBe(true);
        offset += run.length;
        expect(starts.has(offset)).toBe(true);
        if (run.length > maxRun)
          expect(packetLength(Uint8Array.from(run), 0, run.length, 1 << 30)).toBe(run.length);
      }
    }
  });

  it('gathers a fixed header cut after its first byte', () => {
    const framer = new Framer(1 << 20, 1 << 16);
    const p = packet(0x30, 300, 1);
    const { runs } = feed(framer, Uint8Array.from(p), [1, 2, 3]);
    expect(runs).toEqual([Buffer.from(p)]);
    expect(framer.pending).toBe(false);
  });

  it('knows a packet is cut when the connection ends mid-packet', () => {
    const framer = new Framer(1 << 20, 1 << 16);
    expect(framer.push(Uint8Array.of(0x30, 0x05, 0, 1), () => {})).toBe(0);
    expect(framer.pending).toBe(true);
  });

  it('refuses a 5-byte Remaining Length as malformed (0x81), also when split across reads', () => {
    const bad = Uint8Array.of(0xc0, 0x00, 0x30, 0x80, 0x80, 0x80, 0x80, 0x01);
    for (let cut = 1; cut < bad.length; cut++) {
      const { runs, status } = feed(new Framer(1 << 20, 1 << 16), bad, [cut]);
      expect(status).toBe(FRAME_MALFORMED);
      // The whole packet before the bad one was still delivered.
      expect(Buffer.concat(runs)).toEqual(Buffer.of(0xc0, 0x00));
    }
  });

  it('refuses a packet above the maximum size (0x95) from its header, before its body arrives [MQTT-5.0 3.1.2-24]', () => {
    const framer = new Framer(1000, 1 << 16);
    const header = Uint8Array.of(0x30, 0xe9, 0x07); // Remaining Length 1001
    expect(framer.push(header, () => {})).toBe(FRAME_TOO_LARGE);
    expect(new Framer(1004, 1 << 16).push(header, () => {})).toBe(0);
  });
});
