// Hostile input: the decoder never throws, never traps, never hangs, and always answers with one
// of the three DecodeResult statuses with sane fields:
//   packet: 2 ≤ length ≤ input length, and the packet's type is the fixed header's;
//   more:   needed > input length (and, for a prefix of a valid packet, ≤ that packet's length);
//   error:  reasonCode is an MQTT 5 error code (0x80 … 0xA2) and there is a reason.
// The hot path (decodeAt on the same bytes in WASM memory) must give the same answer.
//   (a) ≥ 100,000 random buffers, first bytes biased so that every packet type is hit;
//   (b) every strict prefix of every golden vector and of a few hundred random valid packets is 'more';
//   (c) every single-byte mutation (every position × all 256 values) of every golden vector and of
//       random valid packets;
//   (d) whatever decodes to a packet re-encodes to bytes that decode to the same packet;
//   (e) whatever Weir decodes to a packet, mqtt-packet parses to the same packet;
//   (f) large adversarial structures (100k filters, 50k properties, 64 KiB strings, maximal lengths)
//       get the answer the spec gives, with and without a size limit;
//   (g) the encoder on out-of-range or mistyped fields refuses them or writes exactly them (never bytes its
//       decoder rejects, never a wrapped value).
// Under ~30 s on 2 cores; no timing assertions (a hang shows up as the test timeout).
// Seeded (the seed is in every failure message; WEIR_SEED=<n> or WEIR_SEED=random to change it).
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { Codec, type DecodeOptions } from '../../src/protocol/codec.js';
import type { DecodeResult, Packet, Properties, ProtocolVersion } from '../../src/protocol/packets.js';
import { PACKET_CMDS } from '../../src/protocol/packets.js';
import { instantiate } from '../../src/protocol/wasm.js';
import {
  type Case,
  cmdsFor,
  fromMqtt,
  genAnyCase,
  genCase,
  hex,
  mqttParse,
  normalize,
  Rng,
  suiteSeed,
} from './oracle.js';
import { vectors as goldenVectors } from './vectors.js';

const SEED = suiteSeed(0xf022_5eed);
const wasm = instantiate({ memoryBytes: 64 << 20 });
const codec = new Codec(wasm);
const HOT_SIZE = 1 << 20;
const hotPtr = wasm.reserve(HOT_SIZE, 'fuzz hot-path input');

const CMD_OF_TYPE = PACKET_CMDS;

/** The golden vectors of test/codec/vectors.ts (written with the codec), as bytes. */
const vectors = goldenVectors.map((v) => ({ ...v, bytes: Uint8Array.from(v.bytes) }));

class FuzzFailure extends Error {}

function fail(
  message: string,
  input: Uint8Array,
  version: ProtocolVersion,
  options: DecodeOptions,
  seed: number,
): never {
  throw new FuzzFailure(
    `${message}\nseed ${seed} (WEIR_SEED=${seed}), version ${version}, options ${JSON.stringify(options)}\ninput (${input.length} B): ${hex(input, 512)}`,
  );
}

/** Decode and check the result's invariants (and that decodeAt agrees). Returns the result. */
function decodeChecked(
  input: Uint8Array,
  version: ProtocolVersion,
  options: DecodeOptions,
  seed: number,
): DecodeResult {
  let r: DecodeResult;
  try {
    r = codec.decode(input, version, options);
  } catch (e) {
    fail(
      `decode threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      input,
      version,
      options,
      seed,
    );
  }
  const bad = (why: string) =>
    fail(
      `${why}: ${JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? hex(v, 64) : v))}`,
      input,
      version,
      options,
      seed,
    );
  switch (r.status) {
    case 'packet': {
      if (!Number.isInteger(r.length) || r.length < 2 || r.length > input.length) bad('bad packet length');
      if (options.maxPacketSize !== undefined && r.length > options.maxPacketSize)
        bad('packet over maxPacketSize');
      const type = (input[0] ?? 0) >> 4;
      if (r.packet.cmd !== CMD_OF_TYPE[type])
        bad(`packet type ${r.packet.cmd} is not the header's ${CMD_OF_TYPE[type]}`);
      break;
    }
    case 'more':
      if (!Number.isInteger(r.needed) || r.needed <= input.length) bad('needed ≤ input length');
      // The largest packet: 268,435,455 bytes of body and a 5-byte fixed header (1.5.5).
      if (r.needed > 268_435_460) bad('needed more than any packet can be');
      break;
    case 'error':
      if (!Number.isInteger(r.reasonCode) || r.reasonCode < 0x80 || r.reasonCode > 0xa2)
        bad('not an MQTT 5 error code');
      if (typeof r.reason !== 'string' || r.reason.length === 0) bad('no reason');
      break;
    default:
      bad('unknown status');
  }
  // The hot path on the same bytes: > 0 packet length, 0 need more, < 0 -(reason code).
  if (input.length <= HOT_SIZE) {
    wasm.u8.set(input, hotPtr);
    let n: number;
    try {
      n = codec.decodeAt(hotPtr, input.length, version, options);
    } catch (e) {
      fail(
        `decodeAt threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
        input,
        version,
        options,
        seed,
      );
    }
    const expected = r.status === 'packet' ? r.length : r.status === 'more' ? 0 : -r.reasonCode;
    if (n === 0 && r.status === 'more' && codec.view.needed !== r.needed)
      fail(`view.needed ${codec.view.needed} ≠ decode's needed ${r.needed}`, input, version, options, seed);
    if (n !== expected)
      fail(
        `decodeAt returned ${n}, decode said ${JSON.stringify(r.status)} (${expected})`,
        input,
        version,
        options,
        seed,
      );
  }
  return r;
}

/** (d) A decoded packet re-encodes, and the re-encoding decodes to the same packet. */
function checkIdempotent(
  packet: Packet,
  version: ProtocolVersion,
  options: DecodeOptions,
  input: Uint8Array,
  seed: number,
): void {
  const v = packet.cmd === 'connect' ? packet.protocolVersion : version;
  let bytes: Uint8Array;
  try {
    bytes = codec.encode(packet, v);
  } catch (e) {
    fail(
      `decoded packet does not encode: ${String(e)}\npacket ${JSON.stringify(normalize(packet))}`,
      input,
      version,
      options,
      seed,
    );
  }
  const { maxPacketSize: _ignored, ...unlimited } = options;
  const again = decodeChecked(bytes, v, unlimited, seed);
  if (again.status !== 'packet' || again.length !== bytes.length) {
    fail(
      `re-encoding ${hex(bytes, 256)} does not decode: ${JSON.stringify(again)}`,
      input,
      version,
      options,
      seed,
    );
  }
  const a = normalize(again.packet);
  const b = normalize(packet);
  // JSON first (fast); expect() only to print the diff.
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    expect(a, `seed ${seed}: idempotence, input ${hex(input, 256)}, re-encoded ${hex(bytes, 256)}`).toEqual(
      b,
    );
  }
}

/**
 * User properties as mqtt-packet's parser returns them: grouped by key in a plain object (so
 * integer-like keys come first, in numeric order), and a repeated key whose first value is ''
 * loses that value (its `if (result[key])` test is falsy for ''). Applied to Weir's side only
 * for the comparison with mqtt-packet.
 */
function asMqttGroupsUserProperties(pairs: Array<[string, string]>): Array<[string, string]> {
  const grouped: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of pairs) {
    const prev = grouped[k];
    if (!prev) grouped[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else grouped[k] = [prev, v];
  }
  const out: Array<[string, string]> = [];
  for (const k of Object.keys(grouped)) {
    const v = grouped[k] ?? '';
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, x]);
  }
  return out;
}

function withMqttUserPropertyOrder(packet: Packet): Packet {
  const copy = structuredClone(packet);
  const fix = (props: Properties | undefined) => {
    if (props?.userProperties) props.userProperties = asMqttGroupsUserProperties(props.userProperties);
  };
  if ('properties' in copy) fix(copy.properties);
  if (copy.cmd === 'connect') fix(copy.will?.properties);
  return copy;
}

/** Why mqtt-packet 9.0.2 cannot be the oracle for a packet Weir accepted, if it cannot. */
function mqttBlindSpot(packet: Packet, length: number): string | undefined {
  // It reads the AUTH reason code unconditionally: the 2-byte AUTH (5.0 §3.15.2.1) is "Invalid auth reason code".
  if (packet.cmd === 'auth' && length === 2) return 'AUTH without reason code';
  // 0x8C Bad authentication method is allowed in DISCONNECT by 5.0 Table 2-6 but missing from
  // Table 3-10; mqtt-packet follows Table 3-10, Weir Table 2-6.
  if (packet.cmd === 'disconnect' && packet.reasonCode === 0x8c) return 'DISCONNECT 0x8C';
  return undefined;
}

/**
 * (e) Differential: whatever Weir decodes to a packet, mqtt-packet parses (the same bytes, cut at
 * Weir's length) to the same packet. mqtt-packet checks much less (no UTF-8, properties per
 * packet, reserved values …), so only this direction is checked.
 */
function checkAgainstMqtt(
  packet: Packet,
  input: Uint8Array,
  length: number,
  version: ProtocolVersion,
  seed: number,
): void {
  if (mqttBlindSpot(packet, length)) return;
  const bytes = input.subarray(0, length);
  const parsed = mqttParse(bytes, version);
  const context = `seed ${seed}: Weir decoded ${hex(bytes, 256)} (v${version}) to ${JSON.stringify(normalize(packet))}`;
  if (parsed.error || parsed.packets.length !== 1) {
    throw new FuzzFailure(`${context}
but mqtt-packet says ${parsed.error?.message ?? `${parsed.packets.length} packets`}`);
  }
  const a = normalize(withMqttUserPropertyOrder(packet));
  const b = normalize(fromMqtt(parsed.packets[0], version));
  if (JSON.stringify(a) !== JSON.stringify(b))
    expect(
      b,
      `${context}
mqtt-packet differs`,
    ).toEqual(a);
}

/** Direction for a packet: only a client sends CONNECT/SUBSCRIBE/...; a PUBLISH with subscription ids comes from the server. */
function fromClientFor(packet: Packet): boolean[] {
  switch (packet.cmd) {
    case 'connect':
    case 'subscribe':
    case 'unsubscribe':
    case 'pingreq':
      return [true];
    case 'connack':
    case 'suback':
    case 'unsuback':
    case 'pingresp':
      return [false];
    default:
      return [true, false];
  }
}

/** The header length (type byte + remaining-length bytes) of a valid packet. */
function headerLength(bytes: Uint8Array): number {
  let i = 1;
  while (i < 5 && ((bytes[i] ?? 0) & 0x80) !== 0) i++;
  return i + 1;
}

interface Sample {
  label: string;
  version: ProtocolVersion;
  fromClient: boolean;
  bytes: Uint8Array;
}

/** Golden vectors in the direction they decode in, plus random valid packets (bounded lengths). */
function samples(seed: number, randomCount: number, maxLength: number, withVectors = true): Sample[] {
  const out: Sample[] = [];
  for (const v of withVectors ? vectors : []) {
    // A vector does not say who sends it: use the first direction in which it decodes whole.
    const fc = fromClientFor(v.packet).find((fromClient) => {
      const r = codec.decode(v.bytes, v.version, { fromClient });
      return r.status === 'packet' && r.length === v.bytes.length;
    });
    if (fc === undefined)
      throw new Error(`golden vector ${v.name} (${hex(v.bytes)}) does not decode in either direction`);
    out.push({ label: `vector ${v.name}`, version: v.version, fromClient: fc, bytes: v.bytes });
  }
  const rng = new Rng(seed);
  const versions: ProtocolVersion[] = [4, 5];
  const target = out.length + randomCount;
  while (out.length < target) {
    const version = rng.pick(versions);
    const c: Case = rng.bool(0.05)
      ? genCase(rng, 'connect', 3)
      : genAnyCase(rng, version, { mqttCompatible: false, maxPayload: 40 });
    const bytes = codec.encode(c.packet, c.version);
    if (bytes.length > maxLength) continue;
    out.push({
      label: `random ${c.packet.cmd} v${c.version}`,
      version: c.version,
      fromClient: c.fromClient,
      bytes,
    });
  }
  return out;
}

/** Every position × every other byte value of each sample; (d) and (e) on whatever decodes. */
function mutateAll(all: Sample[], seed: number): { mutations: number; packets: number } {
  let mutations = 0;
  let packets = 0;
  for (const s of all) {
    const options: DecodeOptions = { fromClient: s.fromClient };
    const input = new Uint8Array(s.bytes);
    for (let pos = 0; pos < input.length; pos++) {
      const original = input[pos] ?? 0;
      for (let value = 0; value < 256; value++) {
        if (value === original) continue;
        input[pos] = value;
        const r = decodeChecked(input, s.version, options, seed);
        mutations++;
        if (r.status === 'packet') {
          packets++;
          checkIdempotent(r.packet, s.version, options, input, seed);
          checkAgainstMqtt(r.packet, input, r.length, s.version, seed);
        }
      }
      input[pos] = original;
    }
  }
  return { mutations, packets };
}

describe('decoder on hostile input', () => {
  it('(a) 100,000+ random buffers: always a sane result, same from decodeAt; packets re-encode (d)', () => {
    const seed = SEED;
    const rng = new Rng(seed);
    const seen = new Map<string, number>();
    let packets = 0;
    for (let i = 0; i < 120_000; i++) {
      const r = rng.float();
      const len = r < 0.3 ? rng.int(0, 8) : r < 0.85 ? rng.int(0, 64) : rng.int(0, 1200);
      const input = rng.bytes(len);
      if (len > 0) {
        // Bias the fixed header: every type, usually with its required flag bits.
        const type = rng.int(0, 15);
        const flags = type === 3 ? rng.int(0, 15) : [6, 8, 10].includes(type) ? 2 : 0;
        input[0] = (type << 4) | (rng.bool(0.8) ? flags : rng.int(0, 15));
      }
      if (len > 1 && rng.bool(0.6)) {
        // Often a remaining length that fits the buffer exactly, so that the body gets parsed.
        if (len - 2 < 128) input[1] = len - 2;
        else {
          input[1] = 0x80 | ((len - 3) & 0x7f);
          input[2] = (len - 3) >> 7;
        }
        if (len > 2 && rng.bool(0.3) && (input[0] ?? 0) >> 4 === 1) {
          // Plausible CONNECT start: protocol name and level.
          const head = rng.bool()
            ? [0, 4, 77, 81, 84, 84, rng.pick([3, 4, 5])]
            : [0, 6, 77, 81, 73, 115, 100, 112, 3];
          const at = len - 2 < 128 ? 2 : 3;
          input.set(head.slice(0, Math.max(0, len - at)), at);
        }
      }
      const version = rng.pick([3, 4, 5] as const);
      const options: DecodeOptions = { fromClient: rng.bool() };
      if (rng.bool(0.1)) options.maxPacketSize = rng.int(2, 300);
      if (rng.bool(0.2)) options.validatePayloadUtf8 = true;
      const res = decodeChecked(input, version, options, seed);
      const key = res.status === 'error' ? `error 0x${res.reasonCode.toString(16)}` : res.status;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (res.status === 'packet') {
        packets++;
        checkIdempotent(res.packet, version, options, input, seed);
        checkAgainstMqtt(res.packet, input, res.length, version, seed);
      }
    }
    console.log(`(a) results: ${JSON.stringify(Object.fromEntries(seen))}, ${packets} packets`);
  });

  it('(b) every strict prefix of a valid packet is "more" (needed ≤ its length, exact once the header is whole)', () => {
    const seed = (SEED + 1) >>> 0;
    const all = samples(seed, 400, 2000);
    let prefixes = 0;
    for (const s of all) {
      const options: DecodeOptions = { fromClient: s.fromClient };
      const header = headerLength(s.bytes);
      for (let k = 0; k < s.bytes.length; k++) {
        const prefix = s.bytes.subarray(0, k);
        const r = decodeChecked(prefix, s.version, options, seed);
        prefixes++;
        if (r.status !== 'more')
          fail(
            `${s.label}: prefix of ${k}/${s.bytes.length} bytes gave ${JSON.stringify(r.status === 'error' ? r : r.status)}; full packet ${hex(s.bytes, 256)}`,
            prefix,
            s.version,
            options,
            seed,
          );
        if (r.needed > s.bytes.length)
          fail(
            `${s.label}: prefix of ${k} bytes says needed ${r.needed} > packet length ${s.bytes.length}`,
            prefix,
            s.version,
            options,
            seed,
          );
        if (k >= header && r.needed !== s.bytes.length)
          fail(
            `${s.label}: header complete but needed ${r.needed} ≠ ${s.bytes.length}`,
            prefix,
            s.version,
            options,
            seed,
          );
      }
      const whole = decodeChecked(s.bytes, s.version, options, seed);
      if (whole.status !== 'packet' || whole.length !== s.bytes.length)
        fail(`${s.label}: the whole packet does not decode`, s.bytes, s.version, options, seed);
    }
    console.log(`(b) ${all.length} packets (${vectors.length} golden vectors), ${prefixes} prefixes`);
  });

  // (c) is split in two so that each half has its own test timeout on a loaded machine.
  it('(c)+(d)+(e) every single-byte mutation of every golden vector: sane result; packets re-encode and match mqtt-packet', () => {
    const seed = (SEED + 2) >>> 0;
    const counts = mutateAll(samples(seed, 0, 0, true), seed);
    console.log(
      `(c) ${vectors.length} golden vectors: ${counts.mutations} mutations, ${counts.packets} decoded to packets`,
    );
    expect(vectors.length).toBeGreaterThan(0);
  });

  it('(c)+(d)+(e) every single-byte mutation of 80 random valid packets: sane result; packets re-encode and match mqtt-packet', () => {
    const seed = (SEED + 4) >>> 0;
    const counts = mutateAll(samples(seed, 80, 64, false), seed);
    console.log(`(c) 80 random packets: ${counts.mutations} mutations, ${counts.packets} decoded to packets`);
  });

  it('(f) large adversarial structures: many filters, many properties, long strings, huge declared lengths', () => {
    const seed = SEED;
    const vbi = (n: number): number[] => {
      const out: number[] = [];
      do {
        let d = n % 128;
        n = Math.floor(n / 128);
        if (n > 0) d |= 0x80;
        out.push(d);
      } while (n > 0);
      return out;
    };
    const packet = (first: number, body: number[]): Uint8Array =>
      Uint8Array.from([first, ...vbi(body.length), ...body]);
    const repeat = (item: number[], n: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(...item);
      return out;
    };
    // [name, bytes, version, fromClient, the answer without a size limit]. With maxPacketSize 1,024
    // every one is Packet too large (0x95) from the fixed header, except the 5-byte Remaining Length.
    const cases: Array<[string, Uint8Array, ProtocolVersion, boolean, string]> = [
      // 100,000 one-character filters.
      ['SUBSCRIBE ×100k', packet(0x82, [0, 1, ...repeat([0, 1, 0x61, 0], 100_000)]), 4, true, 'packet'],
      ['UNSUBSCRIBE ×100k', packet(0xa2, [0, 1, 0, ...repeat([0, 1, 0x61], 100_000)]), 5, true, 'packet'],
      ['SUBACK ×200k', packet(0x90, [0, 1, 0, ...repeat([1], 200_000)]), 5, false, 'packet'],
      // 50,000 empty user properties (a 250 KB property block), and the same one byte short.
      [
        'PUBLISH 50k user properties',
        packet(0x30, [0, 1, 0x61, ...vbi(250_000), ...repeat([0x26, 0, 0, 0, 0], 50_000)]),
        5,
        true,
        'packet',
      ],
      [
        'PUBLISH 50k user properties, short',
        packet(0x30, [0, 1, 0x61, ...vbi(250_001), ...repeat([0x26, 0, 0, 0, 0], 50_000)]),
        5,
        true,
        'error 0x81',
      ],
      // 50,000 Subscription Identifiers: more than one on SUBSCRIBE is a Protocol Error (3.8.2.1.2).
      [
        'SUBSCRIBE 50k subscription ids',
        packet(0x82, [0, 1, ...vbi(100_000), ...repeat([0x0b, 1], 50_000), 0, 1, 0x61, 0]),
        5,
        true,
        'error 0x82',
      ],
      // The longest strings: a 65,535-byte topic (valid) and a client id of 65,535 bytes of 0xff (not UTF-8).
      ['PUBLISH 65,535-byte topic', packet(0x30, [0xff, 0xff, ...repeat([0x61], 65_535)]), 4, true, 'packet'],
      [
        'CONNECT 65,535-byte bad client id',
        packet(0x10, [0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0xff, 0xff, ...repeat([0xff], 65_535)]),
        4,
        true,
        'error 0x81',
      ],
      // Remaining Length at its maximum with nothing behind it, and a 5-byte one (malformed, 1.5.5).
      [
        'PUBLISH declaring 268,435,455 bytes',
        Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61]),
        4,
        true,
        'more',
      ],
      [
        '5-byte Remaining Length',
        Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        4,
        true,
        'error 0x81',
      ],
    ];
    for (const [name, bytes, version, fromClient, expected] of cases) {
      for (const options of [{ fromClient }, { fromClient, maxPacketSize: 1024 }] as DecodeOptions[]) {
        const r = decodeChecked(bytes, version, options, seed);
        if (r.status === 'packet') checkIdempotent(r.packet, version, options, bytes, seed);
        const got = r.status === 'error' ? `error 0x${r.reasonCode.toString(16)}` : r.status;
        const limited = options.maxPacketSize !== undefined && !name.startsWith('5-byte');
        expect(got, `${name} ${JSON.stringify(options)}: ${r.status === 'error' ? r.reason : ''}`).toBe(
          limited ? 'error 0x95' : expected,
        );
        if (r.status === 'more') expect(r.needed).toBe(268_435_460);
      }
    }
  });

  it('(g) encoder on out-of-range or mistyped fields: throws ERR_ENCODE, or writes a packet that decodes (to exactly its input)', () => {
    // One field of a valid packet is replaced by a value of the same JS type that may be out of
    // range or invalid (numbers past their width, NaN, 1.5; wildcards, empty or NUL strings; empty
    // lists; 64 KiB binaries). The encoder must refuse it (WeirError ERR_ENCODE) or write a packet
    // that decodes to the packet given: never bytes its own decoder rejects (a broker must not send
    // malformed packets) and never a silently changed value (a reason code that wraps to 0x00 Success).
    const seed = (SEED + 5) >>> 0;
    const rng = new Rng(seed);
    const numbers = [
      -1,
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      2 ** 28 - 1,
      2 ** 28,
      2 ** 32 - 1,
      2 ** 32,
      1.5,
      Number.NaN,
    ];
    const strings = [
      '',
      'a',
      'a/+',
      '#',
      'a/#/b',
      '+a',
      '$share/g/x',
      '$share//x',
      'a\u0000b',
      '\uD800',
      'x'.repeat(65_536),
    ];
    const problems = new Map<string, { values: Set<string>; example: string }>();
    for (let i = 0; i < 20_000; i++) {
      const version = rng.pick([4, 5] as const);
      const c = genCase(rng, rng.pick(cmdsFor(version)), version, { maxPayload: 20 });
      const packet = structuredClone(c.packet);
      // Every field (nested ones too), except those that say what the packet is.
      const fields: Array<[Record<string, unknown>, string, string]> = [];
      const walk = (o: Record<string, unknown>, path: string): void => {
        for (const key of Object.keys(o)) {
          const v = o[key];
          const name = Array.isArray(o) ? `${path}[]` : `${path}.${key}`;
          if (key !== 'cmd' && key !== 'protocolVersion' && key !== 'protocolId') fields.push([o, key, name]);
          if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array))
            walk(v as Record<string, unknown>, name);
        }
      };
      walk(packet as unknown as Record<string, unknown>, packet.cmd);
      if (fields.length === 0) continue;
      const [obj, key, name] = rng.pick(fields);
      const old = obj[key];
      let value: unknown;
      // One time in ten a value of the wrong type (what untyped JS callers pass): then only
      // "ERR_ENCODE or a packet that decodes" is required, since coercing ('1' → 1) may be fine.
      const wrongType = rng.bool(0.1);
      if (wrongType) value = rng.pick([undefined, null, {}, [], '1', 1, true, new Uint8Array(2), [['k']]]);
      else if (typeof old === 'number') value = rng.pick(numbers);
      else if (typeof old === 'string') value = rng.pick(strings);
      else if (typeof old === 'boolean') value = !old;
      else if (old instanceof Uint8Array) value = new Uint8Array(rng.pick([0, 65_535, 65_536]));
      else if (Array.isArray(old)) value = [];
      else continue;
      obj[key] = value;
      // QoS 0 carries no Packet Identifier: an encoder may ignore one that is left over.
      if (packet.cmd === 'publish' && packet.qos === 0) delete packet.messageId;
      const shown =
        typeof value === 'string' && value.length > 16
          ? `'x'×${value.length}`
          : value instanceof Uint8Array
            ? `bytes(${value.length})`
            : typeof value === 'number'
              ? String(value)
              : value === undefined
                ? 'undefined'
                : value instanceof Uint8Array
                  ? `bytes(${value.length})`
                  : JSON.stringify(value);
      // One entry per field and kind of outcome, with the values seen and one example's bytes.
      const report = (what: string, example: string): void => {
        const key = `v${version} ${name}: ${what}`;
        const entry = problems.get(key) ?? { values: new Set<string>(), example };
        entry.values.add(shown);
        problems.set(key, entry);
      };
      let bytes: Uint8Array;
      try {
        bytes = codec.encode(packet, version);
      } catch (e) {
        if (e instanceof WeirError && e.code === 'ERR_ENCODE') continue;
        report(`threw ${String(e)}`, '');
        continue;
      }
      const r = codec.decode(bytes, version, { fromClient: false });
      if (r.status !== 'packet') {
        const why = r.status === 'error' ? `0x${r.reasonCode.toString(16)} ${r.reason}` : r.status;
        report(
          `encoded, but decode says ${why.replace(/\b\d+\b|0x[0-9A-F]{2}\)/g, 'N')}`,
          `${shown} → ${hex(bytes, 24)}`,
        );
        continue;
      }
      if (!wrongType && !isDeepStrictEqual(normalize(r.packet), normalize(packet))) {
        report('encoded as a different value', `${shown} → ${hex(bytes, 24)}`);
      }
    }
    const list = [...problems]
      .map(([what, e]) => `${what} (values ${[...e.values].sort().join(', ')}; e.g. ${e.example})`)
      .sort();
    expect(list, `seed ${seed}: ${list.length} encoder problems`).toEqual([]);
  });

  it('(a′) random valid packets read with every version and direction, and with bytes spliced in or cut out: sane result; packets re-encode and match mqtt-packet', () => {
    const seed = (SEED + 3) >>> 0;
    const rng = new Rng(seed);
    for (let i = 0; i < 20_000; i++) {
      const version = rng.pick([4, 5] as const);
      const c = genCase(rng, rng.pick(cmdsFor(version)), version, { mqttCompatible: false, maxPayload: 64 });
      const bytes = codec.encode(c.packet, c.version);
      const at = rng.int(0, bytes.length);
      const cut = rng.bool() ? rng.int(0, Math.min(8, bytes.length - at)) : 0;
      const insert = rng.bytes(rng.int(0, 8));
      const input = new Uint8Array(bytes.length - cut + insert.length);
      input.set(bytes.subarray(0, at));
      input.set(insert, at);
      input.set(bytes.subarray(at + cut), at + insert.length);
      const options: DecodeOptions = { fromClient: c.fromClient };
      // The valid packet read with the wrong version or direction: any sane answer.
      for (const v of [3, 4, 5] as const) decodeChecked(bytes, v, { fromClient: !c.fromClient }, seed);
      const r = decodeChecked(input, c.version, options, seed);
      if (r.status === 'packet') {
        checkIdempotent(r.packet, c.version, options, input, seed);
        checkAgainstMqtt(r.packet, input, r.length, c.version, seed);
      }
    }
    expect(true).toBe(true);
  });
});
