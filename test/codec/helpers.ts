// Shared by the per-family codec tests: one Codec per test file, the golden-vector checks in both
// directions, and a helper for invalid input that also checks the reason message.
import { expect, it } from 'vitest';
import { Codec, type DecodeOptions } from '../../src/protocol/codec.js';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import type { Vector } from './vectors.js';

export const codec = new Codec();

export function goldenVectors(list: readonly Vector[]): void {
  for (const v of list) {
    it(`decodes ${v.name}`, () => {
      const bytes = Uint8Array.from(v.bytes);
      expect(codec.decode(bytes, v.version)).toEqual({
        status: 'packet',
        packet: v.packet,
        length: bytes.length,
      });
    });
    it(`encodes ${v.name}`, () => {
      expect(Array.from(codec.encode(v.packet, v.version))).toEqual(v.bytes);
    });
  }
}

/** Decoding `bytes` fails with `reasonCode`, and the reason says what was wrong. */
export function expectError(
  bytes: number[],
  version: ProtocolVersion,
  reasonCode: number,
  reason?: RegExp,
  options?: DecodeOptions,
): void {
  const result = codec.decode(Uint8Array.from(bytes), version, options);
  expect(result.status).toBe('error');
  if (result.status !== 'error') return;
  expect(result.reasonCode.toString(16)).toBe(reasonCode.toString(16));
  if (reason) expect(result.reason).toMatch(reason);
}

export const MALFORMED = 0x81;
export const PROTOCOL_ERROR = 0x82;
