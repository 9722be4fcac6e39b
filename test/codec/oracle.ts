// The test oracle for the codec: a seeded PRNG, random generators of VALID packets of every type
// (CONNECT for 3.1, 3.1.1 and 5.0; everything else for 3.1.1 and 5.0), converters between
// mqtt-packet objects and Weir `Packet`s, and a normal form to compare decoded packets with.
//
// "Valid" means valid on the wire, for the direction the packet travels: every field in range,
// every MQTT 5 property allowed on that packet (and, where the spec says so, in that direction),
// UTF-8 strings without U+0000 or surrogates. The generators stay inside what mqtt-packet 9.0.2
// can generate and parse, so that one random packet can be checked against it three ways
// (roundtrip.test.ts); each place where that narrows the valid space says why ("mqtt-packet: …").
import * as mqtt from 'mqtt-packet';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from '../../src/protocol/packets.js';
import { PACKET_CMDS } from '../../src/protocol/packets.js';

// ───────────────────────────────────────── PRNG ─────────────────────────────────────────

/** sfc32: small, fast, 128-bit state, good enough for test data; the same seed gives the same run. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = this.seed;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive; hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A length skewed towards small values: mostly 0..small, sometimes up to `max`. */
  length(small: number, max: number): number {
    const r = this.float();
    if (r < 0.85) return this.int(0, small);
    if (r < 0.97) return this.int(0, Math.min(max, small * 8));
    return this.int(0, max);
  }
}

/** The seed for a suite: $WEIR_SEED (a number, or `random`), else `fallback` (runs are reproducible). */
export function suiteSeed(fallback: number): number {
  const env = process.env.WEIR_SEED;
  if (env === undefined || env === '') return fallback;
  if (env === 'random') return (Math.random() * 2 ** 32) >>> 0;
  const n = Number(env);
  if (!Number.isFinite(n)) throw new Error(`WEIR_SEED must be a number or "random", got ${env}`);
  return n >>> 0;
}

// ──────────────────────────────────────── strings ────────────────────────────────────────

/**
 * One random character, valid in an MQTT UTF-8 string [MQTT-1.5.4-1, -2]: never U+0000 and never a
 * surrogate (which UTF-8 cannot carry anyway). Rarely a C0/C1 control or a non-character: senders
 * SHOULD NOT use them and a receiver MAY treat them as malformed (5.0 §1.5.4), so they are legal
 * on the wire; Weir accepts them, and a change of that policy should show up here.
 */
function genChar(rng: Rng, exclude: string): string {
  for (;;) {
    const r = rng.float();
    let cp: number;
    if (r < 0.6) cp = rng.int(0x20, 0x7e);
    else if (r < 0.74) cp = rng.int(0xa0, 0x7ff);
    else if (r < 0.88) cp = rng.int(0x800, 0xfffd);
    else if (r < 0.99) cp = rng.int(0x10000, 0x10fffd);
    else cp = rng.pick([0x01, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0x9f, 0xfdd0, 0xfffe, 0xffff, 0x1fffe, 0x10ffff]);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (exclude.includes(ch)) continue;
    return ch;
  }
}

/**
 * A random valid UTF-8 string of `chars` characters (not bytes), none of them in `exclude`.
 * Sometimes it starts with U+FEFF, which a receiver MUST NOT skip or strip [MQTT-1.5.4-3]
 * (TextDecoder strips a leading BOM unless told `ignoreBOM: true`).
 */
export function genString(rng: Rng, chars: number, exclude = ''): string {
  let s = chars > 0 && rng.bool(0.02) ? '\ufeff' : '';
  for (let i = s.length; i < chars; i++) s += genChar(rng, exclude);
  return s;
}

const ALNUM = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function genAlnum(rng: Rng, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += ALNUM[rng.int(0, ALNUM.length - 1)];
  return s;
}

/** A valid topic name: no wildcards, levels may be empty ("a//b", "/a", "a/"), never empty itself. */
export function genTopicName(rng: Rng): string {
  for (;;) {
    const levels: string[] = [];
    const n = rng.int(1, 6);
    for (let i = 0; i < n; i++) levels.push(genString(rng, rng.length(6, 40), '/+#'));
    if (rng.bool(0.05)) levels[0] = rng.pick(['$SYS', '$weir', '$']);
    const topic = levels.join('/');
    if (topic.length > 0) return topic;
  }
}

/** A valid topic filter: '+' fills a whole level, '#' only a whole last level; $share on MQTT 5. */
export function genTopicFilter(rng: Rng, version: ProtocolVersion, allowShared = true): string {
  for (;;) {
    const levels: string[] = [];
    const n = rng.int(1, 6);
    for (let i = 0; i < n; i++) {
      const r = rng.float();
      if (i === n - 1 && r < 0.15) levels.push('#');
      else if (r < 0.35) levels.push('+');
      else levels.push(genString(rng, rng.length(6, 30), '/+#'));
    }
    const filter = levels.join('/');
    if (filter.length === 0) continue;
    if (version === 5 && allowShared && rng.bool(0.1)) {
      // $share/{ShareName}/{filter}: the share name is at least one character, without / + # [MQTT-4.8.2-1, -2].
      return `$share/${genString(rng, rng.int(1, 8), '/+#')}/${filter}`;
    }
    return filter;
  }
}

export function isSharedFilter(filter: string): boolean {
  return filter.startsWith('$share/');
}

/** Property names that mqtt-packet cannot carry as a user property key (they are JS object keys). */
function fixUserKey(key: string): string {
  // mqtt-packet keeps user properties in a plain object, whose integer-like keys enumerate first
  // in numeric order: their wire order would not survive. '__proto__' is not an own key on write.
  if (/^(0|[1-9][0-9]*)$/.test(key) || key === '__proto__') return `k${key}`;
  return key;
}

/**
 * User properties, repeated keys included. Equal keys are adjacent and each key's first value is
 * non-empty, because mqtt-packet groups user properties by key (so only adjacent repeats keep their
 * wire order) and its parser overwrites a repeated key whose first value is '' (falsy).
 */
export function genUserProperties(rng: Rng): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const keys = new Set<string>();
  const groups = rng.int(1, 4);
  for (let g = 0; g < groups; g++) {
    const key = fixUserKey(genString(rng, rng.length(6, 30)));
    if (keys.has(key)) continue;
    keys.add(key);
    const values = rng.bool(0.7) ? 1 : rng.int(2, 4);
    for (let v = 0; v < values; v++) {
      let value = genString(rng, rng.length(8, 60));
      if (v === 0 && values > 1 && value === '') value = 'v';
      out.push([key, value]);
    }
  }
  return out;
}

function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

// ──────────────────────────────────────── properties ────────────────────────────────────────

type PropType = 'byte' | 'int8' | 'int16' | 'int32' | 'var' | 'string' | 'binary' | 'pair';

interface PropSpec {
  id: number;
  weir: keyof Properties;
  mqtt: string;
  type: PropType;
}

/** Every MQTT 5 property (§2.2.2.2), in ascending identifier order: Weir's and mqtt-packet's names. */
export const PROPERTY_SPECS: readonly PropSpec[] = [
  { id: 0x01, weir: 'payloadFormatIndicator', mqtt: 'payloadFormatIndicator', type: 'byte' },
  { id: 0x02, weir: 'messageExpiryInterval', mqtt: 'messageExpiryInterval', type: 'int32' },
  { id: 0x03, weir: 'contentType', mqtt: 'contentType', type: 'string' },
  { id: 0x08, weir: 'responseTopic', mqtt: 'responseTopic', type: 'string' },
  { id: 0x09, weir: 'correlationData', mqtt: 'correlationData', type: 'binary' },
  { id: 0x0b, weir: 'subscriptionIdentifiers', mqtt: 'subscriptionIdentifier', type: 'var' },
  { id: 0x11, weir: 'sessionExpiryInterval', mqtt: 'sessionExpiryInterval', type: 'int32' },
  { id: 0x12, weir: 'assignedClientIdentifier', mqtt: 'assignedClientIdentifier', type: 'string' },
  { id: 0x13, weir: 'serverKeepAlive', mqtt: 'serverKeepAlive', type: 'int16' },
  { id: 0x15, weir: 'authenticationMethod', mqtt: 'authenticationMethod', type: 'string' },
  { id: 0x16, weir: 'authenticationData', mqtt: 'authenticationData', type: 'binary' },
  { id: 0x17, weir: 'requestProblemInformation', mqtt: 'requestProblemInformation', type: 'byte' },
  { id: 0x18, weir: 'willDelayInterval', mqtt: 'willDelayInterval', type: 'int32' },
  { id: 0x19, weir: 'requestResponseInformation', mqtt: 'requestResponseInformation', type: 'byte' },
  { id: 0x1a, weir: 'responseInformation', mqtt: 'responseInformation', type: 'string' },
  { id: 0x1c, weir: 'serverReference', mqtt: 'serverReference', type: 'string' },
  { id: 0x1f, weir: 'reasonString', mqtt: 'reasonString', type: 'string' },
  { id: 0x21, weir: 'receiveMaximum', mqtt: 'receiveMaximum', type: 'int16' },
  { id: 0x22, weir: 'topicAliasMaximum', mqtt: 'topicAliasMaximum', type: 'int16' },
  { id: 0x23, weir: 'topicAlias', mqtt: 'topicAlias', type: 'int16' },
  { id: 0x24, weir: 'maximumQoS', mqtt: 'maximumQoS', type: 'int8' },
  { id: 0x25, weir: 'retainAvailable', mqtt: 'retainAvailable', type: 'byte' },
  { id: 0x26, weir: 'userProperties', mqtt: 'userProperties', type: 'pair' },
  { id: 0x27, weir: 'maximumPacketSize', mqtt: 'maximumPacketSize', type: 'int32' },
  { id: 0x28, weir: 'wildcardSubscriptionAvailable', mqtt: 'wildcardSubscriptionAvailable', type: 'byte' },
  // mqtt-packet spells 0x29 with an extra "s".
  {
    id: 0x29,
    weir: 'subscriptionIdentifierAvailable',
    mqtt: 'subscriptionIdentifiersAvailable',
    type: 'byte',
  },
  { id: 0x2a, weir: 'sharedSubscriptionAvailable', mqtt: 'sharedSubscriptionAvailable', type: 'byte' },
];

const SPEC_BY_WEIR = new Map(PROPERTY_SPECS.map((s) => [s.weir as string, s]));
const SPEC_BY_MQTT = new Map(PROPERTY_SPECS.map((s) => [s.mqtt, s]));

/** Which properties each packet may carry (MQTT 5 Table 2-4), and in which direction when it matters. */
type PropContext =
  | 'connect'
  | 'will'
  | 'connack'
  | 'publish-c2s'
  | 'publish-s2c'
  | 'ack'
  | 'subscribe'
  | 'suback'
  | 'unsubscribe'
  | 'unsuback'
  | 'disconnect-c2s'
  | 'disconnect-s2c'
  | 'auth';

const ALLOWED: Record<PropContext, ReadonlyArray<keyof Properties>> = {
  connect: [
    'sessionExpiryInterval',
    'authenticationMethod',
    'authenticationData',
    'requestProblemInformation',
    'requestResponseInformation',
    'receiveMaximum',
    'topicAliasMaximum',
    'userProperties',
    'maximumPacketSize',
  ],
  will: [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'willDelayInterval',
    'userProperties',
  ],
  connack: [
    'sessionExpiryInterval',
    'assignedClientIdentifier',
    'serverKeepAlive',
    'authenticationMethod',
    'authenticationData',
    'responseInformation',
    'serverReference',
    'reasonString',
    'receiveMaximum',
    'topicAliasMaximum',
    'maximumQoS',
    'retainAvailable',
    'userProperties',
    'maximumPacketSize',
    'wildcardSubscriptionAvailable',
    'subscriptionIdentifierAvailable',
    'sharedSubscriptionAvailable',
  ],
  // [MQTT-3.3.4-6] a PUBLISH from a Client MUST NOT contain a Subscription Identifier.
  'publish-c2s': [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'topicAlias',
    'userProperties',
  ],
  'publish-s2c': [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'subscriptionIdentifiers',
    'topicAlias',
    'userProperties',
  ],
  ack: ['reasonString', 'userProperties'],
  subscribe: ['subscriptionIdentifiers', 'userProperties'],
  suback: ['reasonString', 'userProperties'],
  unsubscribe: ['userProperties'],
  unsuback: ['reasonString', 'userProperties'],
  // [MQTT-3.14.2-2] the Server MUST NOT send a Session Expiry Interval in DISCONNECT;
  // Server Reference is for the Server's DISCONNECT (and CONNACK).
  'disconnect-c2s': ['sessionExpiryInterval', 'reasonString', 'userProperties'],
  'disconnect-s2c': ['reasonString', 'userProperties', 'serverReference'],
  auth: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
};

function genPropertyValue(rng: Rng, name: keyof Properties, context: PropContext): unknown {
  switch (name) {
    case 'payloadFormatIndicator':
    case 'requestProblemInformation':
    case 'requestResponseInformation':
    case 'maximumQoS':
    case 'retainAvailable':
    case 'wildcardSubscriptionAvailable':
    case 'subscriptionIdentifierAvailable':
    case 'sharedSubscriptionAvailable':
      return rng.int(0, 1);
    case 'messageExpiryInterval':
    case 'sessionExpiryInterval':
    case 'willDelayInterval':
      return rng.pick([0, 1, 60, 0xffffffff, rng.u32()]);
    case 'maximumPacketSize':
      // 0 is a Protocol Error [MQTT-3.1.2-24 / 3.2.2.3.6].
      return rng.pick([1, 128, 0xffffffff, Math.max(1, rng.u32())]);
    case 'receiveMaximum':
    case 'topicAlias':
      // 0 is a Protocol Error for both (3.1.2.11.3, 3.3.2.3.4).
      return rng.pick([1, 10, 0xffff, rng.int(1, 0xffff)]);
    case 'topicAliasMaximum':
    case 'serverKeepAlive':
      return rng.pick([0, 1, 0xffff, rng.int(0, 0xffff)]);
    case 'subscriptionIdentifiers': {
      // 1 .. 268,435,455; 0 is a Protocol Error (3.8.2.1.2). One on SUBSCRIBE, several on a PUBLISH to a client.
      const n = context === 'subscribe' ? 1 : rng.int(1, 3);
      const ids: number[] = [];
      for (let i = 0; i < n; i++)
        ids.push(rng.pick([1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, rng.int(1, 268435455)]));
      return ids;
    }
    case 'responseTopic':
      // A Topic Name, not a filter [MQTT-3.3.2-14].
      return genTopicName(rng);
    case 'correlationData':
    case 'authenticationData':
      return rng.bytes(rng.length(16, 300));
    case 'userProperties':
      return genUserProperties(rng);
    case 'contentType':
    case 'assignedClientIdentifier':
    case 'authenticationMethod':
    case 'responseInformation':
    case 'serverReference':
    case 'reasonString':
      return genString(rng, rng.length(12, 80));
  }
}

/** Random properties for `context`; undefined about a third of the time. */
export function genProperties(rng: Rng, context: PropContext): Properties | undefined {
  if (rng.bool(0.3)) return undefined;
  const props: Record<string, unknown> = {};
  const density = rng.pick([0.15, 0.4, 0.9]);
  for (const name of ALLOWED[context]) {
    if (!rng.bool(density)) continue;
    props[name] = genPropertyValue(rng, name, context);
  }
  // It is a Protocol Error to include Authentication Data without an Authentication Method (3.1.2.11.10).
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    props.authenticationMethod = genString(rng, rng.int(1, 12));
  }
  return Object.keys(props).length > 0 ? (props as Properties) : undefined;
}

// ──────────────────────────────────────── packets ────────────────────────────────────────

export type Cmd = Packet['cmd'];

export const ALL_CMDS: readonly Cmd[] = PACKET_CMDS.slice(1) as readonly Cmd[];

/** The packet types that exist in a version (AUTH is MQTT 5 only). */
export function cmdsFor(version: ProtocolVersion): readonly Cmd[] {
  return version === 5 ? ALL_CMDS : ALL_CMDS.filter((c) => c !== 'auth');
}

const CLIENT_ONLY: ReadonlySet<Cmd> = new Set<Cmd>(['connect', 'subscribe', 'unsubscribe', 'pingreq']);
const SERVER_ONLY: ReadonlySet<Cmd> = new Set<Cmd>(['connack', 'suback', 'unsuback', 'pingresp']);

/** A generated packet, the version it is encoded for, and which way it travels. */
export interface Case {
  packet: Packet;
  version: ProtocolVersion;
  /** True when a Client sends it (the decoder's `fromClient` option). */
  fromClient: boolean;
}

export interface GenOptions {
  /**
   * Stay inside what mqtt-packet can generate (default true). False adds valid packets it refuses:
   * a v5 CONNECT with a password and no user name ("Username is required to use password").
   */
  mqttCompatible?: boolean;
  /** Largest payload (PUBLISH, will); default 2,000 bytes, sometimes more when set. */
  maxPayload?: number;
}

const CONNACK_V5 = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a,
  0x9b, 0x9c, 0x9d, 0x9f,
];
const PUBACK_V5 = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_V5 = [0x00, 0x92];
const SUBACK_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_V5 = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
// Table 3-10, by sender.
const DISCONNECT_BOTH = [0x00, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99];
const DISCONNECT_C2S = [...DISCONNECT_BOTH, 0x04];
const DISCONNECT_S2C = [
  ...DISCONNECT_BOTH,
  0x87,
  0x89,
  0x8b,
  0x8d,
  0x8e,
  0x8f,
  0x9a,
  0x9b,
  0x9c,
  0x9d,
  0x9e,
  0x9f,
  0xa0,
  0xa1,
  0xa2,
];

function genQos(rng: Rng): QoS {
  return rng.pick([0, 1, 2] as const);
}

function genPacketId(rng: Rng): number {
  // Non-zero [MQTT-2.2.1-3].
  return rng.pick([1, 0xff, 0x100, 0xffff, rng.int(1, 0xffff)]);
}

/** A reason code: 0 half the time, otherwise any from the list. */
function genReason(rng: Rng, codes: readonly number[]): number {
  return rng.bool(0.5) ? 0 : rng.pick(codes);
}

function genPayload(rng: Rng, max: number, utf8Text: boolean): Uint8Array {
  const n = rng.length(64, max);
  // Payload Format Indicator 1: the payload is UTF-8 character data (3.3.2.3.2).
  if (utf8Text) return utf8(genString(rng, Math.ceil(n / 2)));
  return rng.bytes(n);
}

function genConnect(rng: Rng, version: ProtocolVersion, opts: GenOptions): ConnectPacket {
  const clean = rng.bool();
  let clientId: string;
  if (version === 3) {
    // 3.1: 1 to 23 characters.
    clientId = genAlnum(rng, rng.int(1, 23));
  } else if (clean && rng.bool(0.1)) {
    // mqtt-packet refuses an empty client id without clean, which 5.0 allows (and 3.1.1 rejects
    // with return code 2 at the session layer), so empty ids only come with clean = true.
    clientId = '';
  } else {
    clientId = rng.bool(0.5) ? genAlnum(rng, rng.int(1, 23)) : genString(rng, rng.int(1, 40));
  }
  const packet: ConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean,
    keepalive: rng.pick([0, 60, 0xffff, rng.int(0, 0xffff)]),
    clientId,
  };
  if (version === 5) {
    const properties = genProperties(rng, 'connect');
    if (properties) packet.properties = properties;
  }
  if (rng.bool(0.4)) {
    const will: Will = {
      topic: genTopicName(rng),
      payload: new Uint8Array(0),
      qos: genQos(rng),
      retain: rng.bool(),
    };
    let text = false;
    if (version === 5) {
      const properties = genProperties(rng, 'will');
      if (properties) {
        will.properties = properties;
        text = properties.payloadFormatIndicator === 1;
      }
    }
    will.payload = genPayload(rng, Math.min(opts.maxPayload ?? 2000, 2000), text);
    packet.will = will;
  }
  const withUser = rng.bool(0.5);
  if (withUser) packet.username = genString(rng, rng.length(10, 60));
  // 3.1 and 3.1.1: a password needs a user name [MQTT-3.1.2-22]; 5.0 allows it alone (3.1.2.9).
  const passwordAlone = version === 5 && opts.mqttCompatible === false;
  if ((withUser || passwordAlone) && rng.bool(0.6)) packet.password = rng.bytes(rng.length(16, 100));
  return packet;
}

function genConnack(rng: Rng, version: ProtocolVersion): ConnackPacket {
  const reasonCode = version === 5 ? genReason(rng, CONNACK_V5) : rng.bool(0.5) ? 0 : rng.int(1, 5);
  // Session Present is 0 with a non-zero code [MQTT-3.2.2-4 (3.1.1), -6 (5.0)]; 3.1 has no such flag.
  const packet: ConnackPacket = {
    cmd: 'connack',
    sessionPresent: version !== 3 && reasonCode === 0 && rng.bool(),
    reasonCode,
  };
  if (version === 5) {
    const properties = genProperties(rng, 'connack');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genPublish(
  rng: Rng,
  version: ProtocolVersion,
  fromClient: boolean,
  opts: GenOptions,
): PublishPacket {
  const qos = genQos(rng);
  const packet: PublishPacket = {
    cmd: 'publish',
    topic: genTopicName(rng),
    payload: new Uint8Array(0),
    qos,
    // DUP is 0 for QoS 0 [MQTT-3.3.1-2].
    dup: qos > 0 && rng.bool(0.3),
    retain: rng.bool(0.3),
  };
  if (qos > 0) packet.messageId = genPacketId(rng);
  let text = false;
  if (version === 5) {
    const properties = genProperties(rng, fromClient ? 'publish-c2s' : 'publish-s2c');
    if (properties) {
      packet.properties = properties;
      text = properties.payloadFormatIndicator === 1;
      // With a Topic Alias the topic name may be empty (3.3.2.3.4).
      if (properties.topicAlias !== undefined && rng.bool(0.4)) packet.topic = '';
    }
  }
  const max = opts.maxPayload ?? 2000;
  packet.payload =
    rng.bool(0.01) && max > 70000 ? rng.bytes(rng.int(16384, 70000)) : genPayload(rng, max, text);
  return packet;
}

function genAck(rng: Rng, cmd: AckPacket['cmd'], version: ProtocolVersion): AckPacket {
  const packet: AckPacket = { cmd, messageId: genPacketId(rng) };
  if (version === 5) {
    packet.reasonCode = genReason(rng, cmd === 'puback' || cmd === 'pubrec' ? PUBACK_V5 : PUBREL_V5);
    const properties = genProperties(rng, 'ack');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genSubscribe(rng: Rng, version: ProtocolVersion): SubscribePacket {
  const subscriptions: Subscription[] = [];
  const n = rng.bool(0.9) ? rng.int(1, 5) : rng.int(6, 40);
  for (let i = 0; i < n; i++) {
    const topic = genTopicFilter(rng, version);
    const sub: Subscription = { topic, qos: genQos(rng) };
    if (version === 5) {
      // No Local on a shared subscription is a Protocol Error [MQTT-3.8.3-4].
      sub.nl = !isSharedFilter(topic) && rng.bool();
      sub.rap = rng.bool();
      sub.rh = rng.pick([0, 1, 2] as const);
    }
    subscriptions.push(sub);
  }
  const packet: SubscribePacket = { cmd: 'subscribe', messageId: genPacketId(rng), subscriptions };
  if (version === 5) {
    const properties = genProperties(rng, 'subscribe');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genSuback(rng: Rng, version: ProtocolVersion): SubackPacket {
  const granted: number[] = [];
  const n = rng.bool(0.9) ? rng.int(1, 5) : rng.int(6, 40);
  for (let i = 0; i < n; i++) granted.push(version === 5 ? rng.pick(SUBACK_V5) : rng.pick([0, 1, 2, 0x80]));
  const packet: SubackPacket = { cmd: 'suback', messageId: genPacketId(rng), granted };
  if (version === 5) {
    const properties = genProperties(rng, 'suback');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genUnsubscribe(rng: Rng, version: ProtocolVersion): UnsubscribePacket {
  const unsubscriptions: string[] = [];
  const n = rng.bool(0.9) ? rng.int(1, 5) : rng.int(6, 40);
  for (let i = 0; i < n; i++) unsubscriptions.push(genTopicFilter(rng, version));
  const packet: UnsubscribePacket = { cmd: 'unsubscribe', messageId: genPacketId(rng), unsubscriptions };
  if (version === 5) {
    const properties = genProperties(rng, 'unsubscribe');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genUnsuback(rng: Rng, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { cmd: 'unsuback', messageId: genPacketId(rng) };
  if (version === 5) {
    const granted: number[] = [];
    const n = rng.bool(0.9) ? rng.int(1, 5) : rng.int(6, 40);
    for (let i = 0; i < n; i++) granted.push(rng.pick(UNSUBACK_V5));
    packet.granted = granted;
    const properties = genProperties(rng, 'unsuback');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genDisconnect(rng: Rng, version: ProtocolVersion, fromClient: boolean): DisconnectPacket {
  const packet: DisconnectPacket = { cmd: 'disconnect' };
  if (version === 5) {
    packet.reasonCode = genReason(rng, fromClient ? DISCONNECT_C2S : DISCONNECT_S2C);
    const properties = genProperties(rng, fromClient ? 'disconnect-c2s' : 'disconnect-s2c');
    if (properties) packet.properties = properties;
  }
  return packet;
}

function genAuth(rng: Rng, fromClient: boolean): AuthPacket {
  // 0x00 Success (Server), 0x18 Continue authentication (both), 0x19 Re-authenticate (Client).
  const reasonCode = rng.pick(fromClient ? [0x18, 0x19] : [0x00, 0x18]);
  const packet: AuthPacket = { cmd: 'auth', reasonCode };
  // Only Success may omit its properties; any properties carry the Authentication Method (3.15.2.2.2).
  if (reasonCode !== 0 || rng.bool(0.7)) {
    const properties = genProperties(rng, 'auth') ?? {};
    properties.authenticationMethod ??= genString(rng, rng.int(1, 20));
    packet.properties = properties;
  }
  return packet;
}

/** A random valid packet of type `cmd` for `version`, travelling in a random legal direction. */
export function genCase(rng: Rng, cmd: Cmd, version: ProtocolVersion, opts: GenOptions = {}): Case {
  const fromClient = CLIENT_ONLY.has(cmd) ? true : SERVER_ONLY.has(cmd) ? false : rng.bool();
  let packet: Packet;
  switch (cmd) {
    case 'connect':
      packet = genConnect(rng, version, opts);
      break;
    case 'connack':
      packet = genConnack(rng, version);
      break;
    case 'publish':
      packet = genPublish(rng, version, fromClient, opts);
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      packet = genAck(rng, cmd, version);
      break;
    case 'subscribe':
      packet = genSubscribe(rng, version);
      break;
    case 'suback':
      packet = genSuback(rng, version);
      break;
    case 'unsubscribe':
      packet = genUnsubscribe(rng, version);
      break;
    case 'unsuback':
      packet = genUnsuback(rng, version);
      break;
    case 'pingreq':
      packet = { cmd: 'pingreq' };
      break;
    case 'pingresp':
      packet = { cmd: 'pingresp' };
      break;
    case 'disconnect':
      packet = genDisconnect(rng, version, fromClient);
      break;
    case 'auth':
      if (version !== 5) throw new Error('AUTH exists in MQTT 5 only');
      packet = genAuth(rng, fromClient);
      break;
  }
  return { packet, version, fromClient };
}

/** A random valid packet of any type that exists in `version`. */
export function genAnyCase(rng: Rng, version: ProtocolVersion, opts: GenOptions = {}): Case {
  return genCase(rng, rng.pick(cmdsFor(version)), version, opts);
}

// ──────────────────────────────── Weir → mqtt-packet ────────────────────────────────

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Weir properties → mqtt-packet properties, keys in ascending identifier order (mqtt-packet writes key order). */
export function toMqttProperties(props: Properties | undefined): Record<string, unknown> | undefined {
  if (!props) return undefined;
  const out: Record<string, unknown> = {};
  for (const spec of PROPERTY_SPECS) {
    const value = props[spec.weir];
    if (value === undefined) continue;
    switch (spec.type) {
      case 'byte':
        out[spec.mqtt] = value === 1;
        break;
      case 'binary':
        out[spec.mqtt] = toBuffer(value as Uint8Array);
        break;
      case 'var': {
        const ids = value as number[];
        if (ids.length === 0) continue;
        out[spec.mqtt] = ids.length === 1 ? ids[0] : [...ids];
        break;
      }
      case 'pair': {
        const pairs = value as Array<[string, string]>;
        if (pairs.length === 0) continue;
        const grouped: Record<string, string | string[]> = Object.create(null);
        for (const [k, v] of pairs) {
          const prev = grouped[k];
          if (prev === undefined) grouped[k] = v;
          else if (Array.isArray(prev)) prev.push(v);
          else grouped[k] = [prev, v];
        }
        out[spec.mqtt] = grouped;
        break;
      }
      default:
        out[spec.mqtt] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A Weir packet as the object mqtt-packet's `generate` takes. */
export function toMqtt(packet: Packet): mqtt.Packet {
  const out: Record<string, unknown> = { cmd: packet.cmd };
  const props = 'properties' in packet ? toMqttProperties(packet.properties) : undefined;
  if (props) out.properties = props;
  switch (packet.cmd) {
    case 'connect': {
      out.protocolId = packet.protocolId;
      out.protocolVersion = packet.protocolVersion;
      out.clean = packet.clean;
      out.keepalive = packet.keepalive;
      out.clientId = packet.clientId;
      if (packet.will) {
        const will: Record<string, unknown> = {
          topic: packet.will.topic,
          payload: toBuffer(packet.will.payload),
          qos: packet.will.qos,
          retain: packet.will.retain,
        };
        const willProps = toMqttProperties(packet.will.properties);
        if (willProps) will.properties = willProps;
        out.will = will;
      }
      if (packet.username !== undefined) out.username = packet.username;
      if (packet.password !== undefined) out.password = toBuffer(packet.password);
      break;
    }
    case 'connack':
      out.sessionPresent = packet.sessionPresent;
      // mqtt-packet: `returnCode` for 3.1/3.1.1, `reasonCode` for 5.0 (it reads the one for the version).
      out.returnCode = packet.reasonCode;
      out.reasonCode = packet.reasonCode;
      break;
    case 'publish':
      out.topic = packet.topic;
      out.payload = toBuffer(packet.payload);
      out.qos = packet.qos;
      out.dup = packet.dup;
      out.retain = packet.retain;
      if (packet.messageId !== undefined) out.messageId = packet.messageId;
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      out.messageId = packet.messageId;
      // mqtt-packet writes a reason code byte when reasonCode !== 0, `undefined` included.
      out.reasonCode = packet.reasonCode ?? 0;
      break;
    case 'subscribe':
      out.messageId = packet.messageId;
      out.subscriptions = packet.subscriptions.map((s) => {
        const sub: Record<string, unknown> = { topic: s.topic, qos: s.qos };
        if (s.nl !== undefined) sub.nl = s.nl;
        if (s.rap !== undefined) sub.rap = s.rap;
        if (s.rh !== undefined) sub.rh = s.rh;
        return sub;
      });
      break;
    case 'suback':
      out.messageId = packet.messageId;
      out.granted = [...packet.granted];
      break;
    case 'unsubscribe':
      out.messageId = packet.messageId;
      out.unsubscriptions = [...packet.unsubscriptions];
      break;
    case 'unsuback':
      out.messageId = packet.messageId;
      if (packet.granted) out.granted = [...packet.granted];
      break;
    case 'pingreq':
    case 'pingresp':
      break;
    case 'disconnect':
    case 'auth':
      out.reasonCode = packet.reasonCode ?? 0;
      break;
  }
  return out as unknown as mqtt.Packet;
}

/** mqtt-packet's bytes for a Weir packet. Throws what mqtt-packet reports when it refuses. */
export function mqttGenerate(packet: Packet, version: ProtocolVersion): Uint8Array {
  const buf = mqtt.generate(toMqtt(packet), { protocolVersion: version });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

// ──────────────────────────────── mqtt-packet → Weir ────────────────────────────────

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toU8(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (typeof v === 'string') return utf8(v);
  throw new Error(`expected bytes, got ${typeof v}`);
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new Error(`expected a number, got ${typeof v}`);
  return v;
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new Error(`expected a string, got ${typeof v}`);
  return v;
}

export function fromMqttProperties(v: unknown): Properties | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(v)) {
    const spec = SPEC_BY_MQTT.get(name);
    if (!spec) throw new Error(`mqtt-packet returned an unknown property ${name}`);
    switch (spec.type) {
      case 'byte':
        out[spec.weir] = value === true || value === 1 ? 1 : 0;
        break;
      case 'binary':
        out[spec.weir] = toU8(value);
        break;
      case 'var':
        out[spec.weir] = Array.isArray(value) ? value.map(num) : [num(value)];
        break;
      case 'pair': {
        if (!isRecord(value)) throw new Error('userProperties is not an object');
        const pairs: Array<[string, string]> = [];
        for (const key of Object.keys(value)) {
          const vals = value[key];
          if (Array.isArray(vals)) for (const x of vals) pairs.push([key, str(x)]);
          else pairs.push([key, str(vals)]);
        }
        out[spec.weir] = pairs;
        break;
      }
      case 'string':
        out[spec.weir] = str(value);
        break;
      default:
        out[spec.weir] = num(value);
    }
  }
  return Object.keys(out).length > 0 ? (out as Properties) : undefined;
}

function qosOf(v: unknown): QoS {
  const q = num(v);
  if (q !== 0 && q !== 1 && q !== 2) throw new Error(`bad qos ${q}`);
  return q;
}

function withProps<T extends { properties?: Properties }>(packet: T, raw: Record<string, unknown>): T {
  const props = fromMqttProperties(raw.properties);
  if (props) packet.properties = props;
  return packet;
}

/** A packet that mqtt-packet's parser emitted, as a Weir packet for `version`. */
export function fromMqtt(raw: unknown, version: ProtocolVersion): Packet {
  if (!isRecord(raw)) throw new Error('mqtt-packet packet is not an object');
  const cmd = str(raw.cmd) as Cmd;
  switch (cmd) {
    case 'connect': {
      const v = num(raw.protocolVersion);
      if (v !== 3 && v !== 4 && v !== 5) throw new Error(`bad protocolVersion ${v}`);
      const pid = str(raw.protocolId);
      if (pid !== 'MQTT' && pid !== 'MQIsdp') throw new Error(`bad protocolId ${pid}`);
      const packet: ConnectPacket = {
        cmd,
        protocolId: pid,
        protocolVersion: v,
        clean: raw.clean === true,
        keepalive: num(raw.keepalive),
        clientId: str(raw.clientId),
      };
      withProps(packet, raw);
      if (isRecord(raw.will)) {
        const w = raw.will;
        const will: Will = {
          topic: str(w.topic),
          payload: toU8(w.payload),
          qos: qosOf(w.qos),
          retain: w.retain === true,
        };
        const wp = fromMqttProperties(w.properties);
        if (wp) will.properties = wp;
        packet.will = will;
      }
      if (raw.username !== undefined) packet.username = str(raw.username);
      if (raw.password !== undefined) packet.password = toU8(raw.password);
      return packet;
    }
    case 'connack':
      return withProps<ConnackPacket>(
        {
          cmd,
          sessionPresent: raw.sessionPresent === true,
          reasonCode: num(version === 5 ? raw.reasonCode : raw.returnCode),
        },
        raw,
      );
    case 'publish': {
      const qos = qosOf(raw.qos);
      const packet: PublishPacket = {
        cmd,
        topic: str(raw.topic),
        payload: toU8(raw.payload),
        qos,
        dup: raw.dup === true,
        retain: raw.retain === true,
      };
      if (qos > 0) packet.messageId = num(raw.messageId);
      return withProps(packet, raw);
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const packet: AckPacket = { cmd, messageId: num(raw.messageId) };
      if (version === 5) packet.reasonCode = num(raw.reasonCode);
      return withProps(packet, raw);
    }
    case 'subscribe': {
      const subs = raw.subscriptions;
      if (!Array.isArray(subs)) throw new Error('subscriptions is not an array');
      const subscriptions = subs.map((s: unknown): Subscription => {
        if (!isRecord(s)) throw new Error('subscription is not an object');
        const sub: Subscription = { topic: str(s.topic), qos: qosOf(s.qos) };
        if (s.nl !== undefined) sub.nl = s.nl === true;
        if (s.rap !== undefined) sub.rap = s.rap === true;
        if (s.rh !== undefined) sub.rh = num(s.rh) as 0 | 1 | 2;
        return sub;
      });
      return withProps<SubscribePacket>({ cmd, messageId: num(raw.messageId), subscriptions }, raw);
    }
    case 'suback': {
      if (!Array.isArray(raw.granted)) throw new Error('granted is not an array');
      return withProps<SubackPacket>(
        { cmd, messageId: num(raw.messageId), granted: raw.granted.map(num) },
        raw,
      );
    }
    case 'unsubscribe': {
      if (!Array.isArray(raw.unsubscriptions)) throw new Error('unsubscriptions is not an array');
      return withProps<UnsubscribePacket>(
        { cmd, messageId: num(raw.messageId), unsubscriptions: raw.unsubscriptions.map(str) },
        raw,
      );
    }
    case 'unsuback': {
      const packet: UnsubackPacket = { cmd, messageId: num(raw.messageId) };
      if (Array.isArray(raw.granted)) packet.granted = raw.granted.map(num);
      return withProps(packet, raw);
    }
    case 'pingreq':
    case 'pingresp':
      return { cmd };
    case 'disconnect':
    case 'auth': {
      const packet: DisconnectPacket | AuthPacket = { cmd } as DisconnectPacket | AuthPacket;
      if (version === 5) packet.reasonCode = num(raw.reasonCode);
      return withProps(packet, raw);
    }
  }
  throw new Error(`mqtt-packet returned an unknown cmd ${String(raw.cmd)}`);
}

/** Parse `bytes` with mqtt-packet: its packets, or the first error it emitted. */
export function mqttParse(
  bytes: Uint8Array,
  version: ProtocolVersion,
): { packets: unknown[]; error?: Error } {
  const parser = mqtt.parser({ protocolVersion: version });
  const packets: unknown[] = [];
  let error: Error | undefined;
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e: unknown) => {
    error ??= e instanceof Error ? e : new Error(String(e));
  });
  parser.parse(toBuffer(bytes));
  return error ? { packets, error } : { packets };
}

// ──────────────────────────────────── normal form ────────────────────────────────────

export function hex(bytes: Uint8Array, max = 4096): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, max)).toString('hex');
  return bytes.byteLength > max ? `${b}…(+${bytes.byteLength - max} bytes)` : b;
}

function normalizeProperties(props: unknown): Record<string, unknown> | undefined {
  if (!isRecord(props)) return undefined;
  const out: Record<string, unknown> = {};
  // Ascending identifier order, so that diffs line up.
  for (const spec of PROPERTY_SPECS) {
    const value = props[spec.weir];
    if (value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[spec.weir] = normalizeValue(value);
  }
  for (const key of Object.keys(props)) {
    // Anything that is not a property name is kept, so that a stray field shows up in the diff.
    if (!SPEC_BY_WEIR.has(key) && props[key] !== undefined) out[`?${key}`] = normalizeValue(props[key]);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function normalizeValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${hex(v, 1 << 20)}`;
  if (Array.isArray(v)) return v.map(normalizeValue);
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const x = v[key];
      if (x === undefined) continue;
      if (key === 'properties') {
        const p = normalizeProperties(x);
        if (p) out.properties = p;
        continue;
      }
      out[key] = normalizeValue(x);
    }
    return out;
  }
  return v;
}

/**
 * A plain, comparable form of a Weir packet. It erases only differences that mean nothing on the
 * wire: absent vs empty properties (and empty repeatable properties), Uint8Array vs Buffer (bytes
 * become hex), absent vs 0 reason codes of acks/DISCONNECT/AUTH (0 is what absence means), absent vs
 * default subscription options (false/false/0). Everything else, stray fields included, stays.
 */
export function normalize(packet: Packet): Record<string, unknown> {
  const out = normalizeValue(packet) as Record<string, unknown>;
  switch (packet.cmd) {
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'disconnect':
    case 'auth':
      if (out.reasonCode === 0) delete out.reasonCode;
      break;
    case 'subscribe':
      out.subscriptions = (out.subscriptions as Array<Record<string, unknown>>).map((s) => ({
        ...s,
        nl: s.nl ?? false,
        rap: s.rap ?? false,
        rh: s.rh ?? 0,
      }));
      break;
    default:
      break;
  }
  return out;
}
