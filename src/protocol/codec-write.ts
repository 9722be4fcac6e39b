// Readable Packet → record (the cold path of encoding): strings are checked and staged as UTF-8 in
// a staging region inside WASM memory, the record's cells point at them, and asm/codec/encode.ts
// writes the packet. User Properties are staged as wire-form items, SUBSCRIBE/UNSUBSCRIBE filter
// lists and SUBACK/UNSUBACK reason codes in wire form (the LIST span), Subscription Identifiers
// as a u32 array.
import { WeirError } from '../errors.js';
import { type Cmd, PROPERTY_TABLE, TYPE_BY_CMD } from './codec-read.js';
import type {
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  Subscription,
} from './packets.js';
import { packetTypeName } from './reason-codes.js';
import { ConnectFlag, Rec, SLOT_SIZE } from './record.js';
import type { WasmInstance } from './wasm.js';

/** The largest packet MQTT can frame: 268,435,455 bytes of body plus a 5-byte fixed header. */
export const MAX_PACKET = 268_435_460;
export const INITIAL_REGION = 64 * 1024;
const UNWELL_FORMED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A bump region inside WASM memory that is reserved once and replaced by a bigger one when needed. */
export class Region {
  ptr = 0;
  cap = 0;
  used = 0;
  constructor(
    private readonly wasm: WasmInstance,
    private readonly what: string,
  ) {}
  ensure(n: number): void {
    if (n <= this.cap) return;
    if (n > MAX_PACKET * 2) {
      throw new WeirError('ERR_ENCODE', `${this.what}: ${n} bytes is more than any MQTT packet can hold`);
    }
    const cap = Math.max(n, this.cap * 2, INITIAL_REGION);
    this.ptr = this.wasm.reserve(cap, this.what);
    this.cap = cap;
    this.used = 0;
  }
  /** Room for n more bytes (aligned to 4); returns their address. Earlier spans stay valid. */
  take(n: number): number {
    const at = (this.used + 3) & ~3;
    if (at + n > this.cap) {
      this.ensure(Math.max(n, this.cap * 2));
      return this.take(n);
    }
    this.used = at + n;
    return this.ptr + at;
  }
}

export class PacketWriter {
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  constructor(
    wasm: WasmInstance,
    private readonly encRec: number,
    private readonly staging: Region,
  ) {
    this.u8 = wasm.u8;
    this.dv = wasm.view;
  }

  private set(off: number, v: number): void {
    this.dv.setUint32(this.encRec + off, v >>> 0, true);
  }
  private setSpan(off: number, ptr: number, len: number): void {
    this.set(off, ptr);
    this.set(off + 4, len);
  }
  /** Stage a UTF-8 string; returns [ptr, len]. */
  private stageString(s: unknown, what: string, cmd: Cmd): [number, number] {
    return this.stageBytes(utf8(s, what, cmd), what, cmd);
  }
  private stageBytes(b: unknown, what: string, cmd: Cmd, max = 0xffff): [number, number] {
    if (typeof b === 'string') b = Buffer.from(b, 'utf8');
    if (!(b instanceof Uint8Array)) throw encodeError(cmd, `${what} must be a Uint8Array`);
    if (b.length > max) throw encodeError(cmd, `${what} is ${b.length} bytes; at most ${max} fit`);
    const p = this.staging.take(b.length);
    this.u8.set(b, p);
    return [p, b.length];
  }
  private putString(off: number, s: unknown, what: string, cmd: Cmd): void {
    const [p, n] = this.stageString(s, what, cmd);
    this.setSpan(off, p, n);
  }
  private messageId(p: { messageId?: number; cmd: Cmd }): void {
    const id = p.messageId;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffff) {
      throw encodeError(p.cmd, `messageId must be an integer from 1 to 65535 (got ${String(id)})`);
    }
    this.set(Rec.PACKET_ID, id);
  }

  fill(packet: Packet, version: ProtocolVersion): void {
    switch (packet.cmd) {
      case 'connect':
        this.fillConnect(packet);
        return;
      case 'connack':
        this.set(Rec.ACK_FLAGS, packet.sessionPresent ? 1 : 0);
        this.set(Rec.REASON_CODE, byte(packet.reasonCode, 'reasonCode', packet.cmd));
        break;
      case 'publish':
        this.fillPublish(packet, version);
        return;
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        this.messageId(packet);
        this.set(Rec.REASON_CODE, byte(packet.reasonCode ?? 0, 'reasonCode', packet.cmd));
        break;
      case 'subscribe':
        this.messageId(packet);
        this.fillFilters(packet.cmd, packet.subscriptions, version);
        break;
      case 'unsubscribe':
        this.messageId(packet);
        this.fillFilters(packet.cmd, packet.unsubscriptions, version);
        break;
      case 'suback':
      case 'unsuback': {
        this.messageId(packet);
        const list: unknown = packet.granted ?? [];
        if (!Array.isArray(list)) throw encodeError(packet.cmd, 'granted must be an array of reason codes');
        const granted = list.map((g: unknown, i) => byte(g, `granted[${i}]`, packet.cmd));
        const [p, n] = this.stageBytes(Uint8Array.from(granted), 'granted', packet.cmd, MAX_PACKET);
        this.setSpan(Rec.LIST, p, n);
        break;
      }
      case 'disconnect':
      case 'auth':
        this.set(Rec.REASON_CODE, byte(packet.reasonCode ?? 0, 'reasonCode', packet.cmd));
        break;
      default:
        return;
    }
    if (version === 5 && 'properties' in packet && packet.properties) {
      this.fillProperties(packet.cmd, packet.properties, Rec.PROP_SLOTS, Rec.PROP_MASK, Rec.PROPS);
    }
  }

  private fillConnect(p: ConnectPacket): void {
    const v = p.protocolVersion;
    if (v !== 3 && v !== 4 && v !== 5)
      throw encodeError(p.cmd, `protocolVersion must be 3, 4 or 5 (got ${v})`);
    if ((v === 3) !== (p.protocolId === 'MQIsdp')) {
      throw encodeError(p.cmd, `protocolId '${p.protocolId}' does not go with protocolVersion ${v}`);
    }
    this.set(Rec.VERSION, v);
    this.set(Rec.KEEPALIVE, integer(p.keepalive, 0, 0xffff, 'keepalive', p.cmd));
    let f = p.clean ? ConnectFlag.CLEAN : 0;
    this.putString(Rec.CLIENT_ID, p.clientId, 'clientId', p.cmd);
    if (p.will) {
      const w = p.will;
      f |= ConnectFlag.WILL | ((w.qos & 3) << 3) | (w.retain ? ConnectFlag.WILL_RETAIN : 0);
      if (w.qos !== 0 && w.qos !== 1 && w.qos !== 2) throw encodeError(p.cmd, 'will.qos must be 0, 1 or 2');
      this.putString(Rec.WILL_TOPIC, w.topic, 'will.topic', p.cmd);
      const [bp, bn] = this.stageBytes(w.payload, 'will.payload', p.cmd);
      this.setSpan(Rec.WILL_PAYLOAD, bp, bn);
      if (v === 5 && w.properties) {
        this.fillProperties(p.cmd, w.properties, Rec.WILL_PROP_SLOTS, Rec.WILL_PROP_MASK, Rec.WILL_PROPS);
      }
    }
    if (p.username !== undefined) {
      f |= ConnectFlag.USERNAME;
      this.putString(Rec.USERNAME, p.username, 'username', p.cmd);
    }
    if (p.password !== undefined) {
      f |= ConnectFlag.PASSWORD;
      const [pp, pn] = this.stageBytes(p.password, 'password', p.cmd);
      this.setSpan(Rec.PASSWORD, pp, pn);
    }
    this.set(Rec.CONNECT_FLAGS, f);
    if (v === 5 && p.properties) {
      this.fillProperties(p.cmd, p.properties, Rec.PROP_SLOTS, Rec.PROP_MASK, Rec.PROPS);
    }
  }

  private fillPublish(p: PublishPacket, version: ProtocolVersion): void {
    if (p.qos !== 0 && p.qos !== 1 && p.qos !== 2) throw encodeError(p.cmd, `qos must be 0, 1 or 2`);
    this.set(Rec.QOS, p.qos);
    this.set(Rec.DUP, p.dup ? 1 : 0);
    this.set(Rec.RETAIN, p.retain ? 1 : 0);
    if (p.qos > 0) this.messageId(p);
    this.putString(Rec.TOPIC, p.topic, 'topic', p.cmd);
    const [bp, bn] = this.stageBytes(p.payload ?? new Uint8Array(0), 'payload', p.cmd, MAX_PACKET);
    this.setSpan(Rec.PAYLOAD, bp, bn);
    if (version === 5 && p.properties) {
      this.fillProperties(p.cmd, p.properties, Rec.PROP_SLOTS, Rec.PROP_MASK, Rec.PROPS);
    }
  }

  /** SUBSCRIBE / UNSUBSCRIBE payloads are staged in wire form (the LIST span). */
  private fillFilters(cmd: Cmd, list: ReadonlyArray<Subscription | string>, version: ProtocolVersion): void {
    if (!Array.isArray(list)) throw encodeError(cmd, 'the topic filter list must be an array');
    const parts: Uint8Array[] = [];
    for (const item of list) {
      const topic = typeof item === 'string' ? item : item?.topic;
      parts.push(prefixed(utf8(topic, 'topic filter', cmd)));
      if (typeof item === 'string') continue;
      if (item.qos !== 0 && item.qos !== 1 && item.qos !== 2) {
        throw encodeError(cmd, `qos of '${topic}' must be 0, 1 or 2`);
      }
      let o: number = item.qos;
      if (version === 5) {
        // [MQTT-5.0 3.8.3.1] Retain Handling is 0, 1 or 2.
        const rh = integer(item.rh ?? 0, 0, 2, `rh of '${topic}'`, cmd);
        o |= (item.nl ? 4 : 0) | (item.rap ? 8 : 0) | (rh << 4);
      }
      parts.push(Uint8Array.of(o));
    }
    const [p, n] = this.stageBytes(Buffer.concat(parts), 'the topic filter list', cmd, MAX_PACKET);
    this.setSpan(Rec.LIST, p, n);
  }

  private fillProperties(
    cmd: Cmd,
    props: Properties,
    slots: number,
    maskOff: number,
    blockOff: number,
  ): void {
    let lo = 0;
    let hi = 0;
    const mark = (id: number): void => {
      if (id < 32) lo |= 1 << id;
      else hi |= 1 << (id - 32);
    };
    for (const [id, key, kind] of PROPERTY_TABLE) {
      const value = props[key];
      if (value === undefined) continue;
      const slot = slots + id * SLOT_SIZE;
      const what = `properties.${key}`;
      switch (kind) {
        case 'pair':
          this.stageUserProperties(cmd, value, blockOff);
          break;
        case 'varint':
          this.stageSubscriptionIds(cmd, value);
          break;
        case 'utf8':
          this.putString(slot, value, what, cmd);
          break;
        case 'binary': {
          const [p, n] = this.stageBytes(value, what, cmd);
          this.setSpan(slot, p, n);
          break;
        }
        default: {
          const max = kind === 'byte' ? 0xff : kind === 'u16' ? 0xffff : 0xffffffff;
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
            throw encodeError(cmd, `${what} must be an integer from 0 to ${max} (got ${String(value)})`);
          }
          this.set(slot, value);
        }
      }
      mark(id);
    }
    this.set(maskOff, lo);
    this.set(maskOff + 4, hi);
  }

  private stageUserProperties(cmd: Cmd, value: unknown, blockOff: number): void {
    if (!Array.isArray(value))
      throw encodeError(cmd, 'properties.userProperties must be an array of [key, value]');
    const items: Uint8Array[] = [];
    for (const pair of value as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw encodeError(cmd, 'properties.userProperties entries must be [key, value] pairs');
      }
      items.push(Uint8Array.of(0x26));
      for (const s of pair as unknown[]) items.push(prefixed(utf8(s, 'a user property', cmd)));
    }
    const [p, n] = this.stageBytes(Buffer.concat(items), 'properties.userProperties', cmd, MAX_PACKET);
    this.setSpan(blockOff, p, n);
  }

  private stageSubscriptionIds(cmd: Cmd, value: unknown): void {
    const ids = typeof value === 'number' ? [value] : value;
    if (!Array.isArray(ids)) throw encodeError(cmd, 'properties.subscriptionIdentifiers must be an array');
    const p = this.staging.take(ids.length * 4);
    ids.forEach((id: unknown, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 268_435_455) {
        throw encodeError(cmd, `subscription identifier ${String(id)} is not from 1 to 268435455`);
      }
      this.dv.setUint32(p + i * 4, id, true);
    });
    this.set(Rec.SUBIDS_PTR, p);
    this.set(Rec.SUBIDS_COUNT, ids.length);
  }
}

/** A string as UTF-8, checked as the spec requires of UTF-8 Encoded Strings. */
function utf8(s: unknown, what: string, cmd: Cmd): Buffer {
  if (typeof s !== 'string') throw encodeError(cmd, `${what} must be a string`);
  // [MQTT-5.0 1.5.4-1] [MQTT-5.0 1.5.4-2] [MQTT-3.1.1 1.5.3-1] [MQTT-3.1.1 1.5.3-2]
  if (s.includes('\u0000')) throw encodeError(cmd, `${what} contains U+0000`);
  if (UNWELL_FORMED.test(s)) throw encodeError(cmd, `${what} contains a lone surrogate`);
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw encodeError(cmd, `${what} is ${b.length} bytes of UTF-8; at most 65535 fit`);
  return b;
}

/** An integer field in [min, max]; anything else (fractions, NaN, wider values) is refused, never wrapped. */
function integer(v: unknown, min: number, max: number, what: string, cmd: Cmd): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw encodeError(cmd, `${what} must be an integer from ${min} to ${max} (got ${String(v)})`);
  }
  return v;
}

/** A reason code or return code byte. */
function byte(v: unknown, what: string, cmd: Cmd): number {
  return integer(v, 0, 0xff, what, cmd);
}

/** A two-byte length prefix and the bytes. */
function prefixed(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 2);
  out[0] = b.length >> 8;
  out[1] = b.length & 0xff;
  out.set(b, 2);
  return out;
}

export function encodeError(cmd: string, message: string): WeirError {
  const type = TYPE_BY_CMD.get(cmd);
  const name = type ? packetTypeName(type) : String(cmd);
  return new WeirError('ERR_ENCODE', `cannot encode ${name}: ${message}`);
}
