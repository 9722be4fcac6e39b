// The JS side of the WASM codec. Two paths:
// - Hot (PUBLISH in the broker): `decodeAt(ptr, len, …)` on bytes already in WASM memory, typed
//   getters over the decoded record (`view`), and `encodePublishFrom` to re-encode for a
//   subscriber; no JS strings, no objects per packet.
// - Cold (CONNECT, SUBSCRIBE, tests, tools): `decode(bytes)` / `encode(packet)` with the readable
//   Packet objects of packets.ts.
//
// Conventions of the readable packets (the encoder accepts both forms where there is a choice):
// - `properties` is present only for MQTT 5 packets whose property block is non-empty.
// - v5 PUBACK/PUBREC/PUBREL/PUBCOMP/DISCONNECT/AUTH always carry `reasonCode`, 0 when the wire
//   omitted it (as mqtt-packet does); the encoder treats a missing reasonCode as 0.
// - `payload`, `password`, `correlationData`, `authenticationData` are Uint8Array copies.
// - `messageId` only when QoS > 0; SUBSCRIBE entries have nl/rap/rh only in MQTT 5.
import { type Cmd, PacketReader, TYPE_BY_CMD } from './codec-read.js';
import { PacketView } from './codec-view.js';
import { encodeError, INITIAL_REGION, MAX_PACKET, PacketWriter, Region } from './codec-write.js';
import type { DecodeResult, Packet, Properties, ProtocolVersion, QoS } from './packets.js';
import { decodeErrorMessage, decodeErrorReasonCode } from './reason-codes.js';
import { DecodeFlag, ForwardFlag, Rec } from './record.js';
import { instantiate, type WasmInstance } from './wasm.js';

export { PacketView } from './codec-view.js';

/** The codec's exports of weir.wasm (asm/codec/index.ts). */
export interface CodecExports {
  record(): number;
  recordNew(): number;
  recordClear(rec: number): void;
  recordSize(): number;
  decode(ptr: number, len: number, version: number, flags: number, maxPacketSize: number): number;
  decodeRecord(rec: number, ptr: number, len: number, version: number, flags: number, max: number): number;
  encode(rec: number, version: number, out: number, cap: number): number;
  encodePublishFrom(
    src: number,
    version: number,
    out: number,
    cap: number,
    qos: number,
    packetId: number,
    flags: number,
    topicAlias: number,
    messageExpiry: number,
    subIds: number,
    subIdCount: number,
  ): number;
  forwardRecord(): number;
  propNext(rec: number, p: number, end: number): number;
  listNext(rec: number, p: number, end: number, withOptions: number): number;
  errorReasonCode(index: number): number;
  reasonCodePackets(rc: number): number;
  propertyInfo(id: number): number;
  layoutOffset(i: number): number;
}

export interface DecodeOptions {
  /** Reject packets larger than this (0x95) from the fixed header alone; 0 / absent = no limit. */
  maxPacketSize?: number;
  /** The bytes come from a client: server-only packets and client Subscription Identifiers are errors. */
  fromClient?: boolean;
  /** Check the payload is UTF-8 when the Payload Format Indicator is 1 (0x99 otherwise). */
  validatePayloadUtf8?: boolean;
}

/** Per-subscriber overrides for `encodePublishFrom`. */
export interface ForwardOptions {
  qos: QoS;
  /** Required when qos > 0. */
  packetId?: number;
  dup?: boolean;
  retain?: boolean;
  /** Topic Alias for this subscriber (0 / absent: none). */
  topicAlias?: number;
  /** Send an empty topic: the subscriber already has `topicAlias` mapped. */
  omitTopic?: boolean;
  /** Message Expiry Interval to send (the remaining lifetime); absent = keep the publisher's. */
  messageExpiry?: number;
  /** The subscription identifiers of the matching subscriptions. */
  subscriptionIdentifiers?: readonly number[];
}

const FIELD_BY_OFFSET = new Map<number, string>(Object.entries(Rec).map(([k, v]) => [v, k]));

export class Codec {
  readonly wasm: WasmInstance;
  readonly exports: CodecExports;
  readonly view: PacketView;
  private readonly u8: Uint8Array;
  private readonly dv: DataView;
  private readonly buf: Buffer;
  private readonly rec: number;
  private readonly encRec: number;
  private readonly input: Region;
  private readonly staging: Region;
  private readonly output: Region;
  private readonly reader: PacketReader;
  private readonly writer: PacketWriter;
  private lastVersion: ProtocolVersion = 4;

  constructor(wasm?: WasmInstance) {
    this.wasm = wasm ?? instantiate();
    this.exports = this.wasm.exports as unknown as CodecExports;
    this.u8 = this.wasm.u8;
    this.dv = this.wasm.view;
    this.buf = Buffer.from(this.wasm.memory.buffer as ArrayBuffer);
    this.rec = this.reserveRecord('the decoded record');
    this.encRec = this.reserveRecord('the encoder record');
    this.view = new PacketView(this.dv, this.rec);
    this.input = new Region(this.wasm, 'the codec input region');
    this.staging = new Region(this.wasm, 'the codec staging region');
    this.output = new Region(this.wasm, 'the codec output region');
    this.reader = new PacketReader(this.exports, this.u8, this.dv, this.buf, this.view);
    this.writer = new PacketWriter(this.wasm, this.encRec, this.staging);
  }

  private reserveRecord(what: string): number {
    const rec = this.exports.recordNew();
    if (rec === 0) this.wasm.reserve(this.exports.recordSize(), what); // throws with the numbers
    return rec;
  }

  // ── decoding ──────────────────────────────────────────────────────────────────────────────

  /** Decode bytes already in WASM memory into `view`; returns the raw status (see asm/codec/decode.ts). */
  decodeAt(ptr: number, len: number, version: ProtocolVersion, options: DecodeOptions = {}): number {
    return this.decodeAtFlags(ptr, len, version, Codec.flags(options), options.maxPacketSize ?? 0);
  }

  /** decodeAt without an options object per call: `flags` from `Codec.flags(options)`. */
  decodeAtFlags(
    ptr: number,
    len: number,
    version: ProtocolVersion,
    flags: number,
    maxPacketSize = 0,
  ): number {
    this.lastVersion = version;
    return this.exports.decodeRecord(this.rec, ptr, len, version, flags, maxPacketSize);
  }

  /** The decode flags (DecodeFlag bits) for a set of options. */
  static flags(options: DecodeOptions): number {
    let flags = 0;
    if (options.fromClient) flags |= DecodeFlag.FROM_CLIENT;
    if (options.validatePayloadUtf8) flags |= DecodeFlag.VALIDATE_PAYLOAD_UTF8;
    return flags;
  }

  /** Copy `bytes` into WASM memory and decode the packet at their start. */
  decode(bytes: Uint8Array, version: ProtocolVersion, options: DecodeOptions = {}): DecodeResult {
    const len = Math.min(bytes.length, MAX_PACKET);
    this.input.ensure(Math.max(len, 1));
    this.u8.set(len === bytes.length ? bytes : bytes.subarray(0, len), this.input.ptr);
    const status = this.decodeAt(this.input.ptr, len, version, options);
    if (status > 0) return { status: 'packet', packet: this.readPacket(), length: status };
    if (status === 0) return { status: 'more', needed: this.view.needed };
    return { status: 'error', reasonCode: -status, reason: this.errorReason() };
  }

  /** What was wrong with the last failed decode (or encode). */
  errorReason(rec = this.rec): string {
    const index = this.dv.getUint32(rec + Rec.ERROR_INDEX, true);
    const detail = this.dv.getUint32(rec + Rec.ERROR_DETAIL, true);
    const type = this.dv.getUint32(rec + Rec.TYPE, true);
    const message = decodeErrorMessage(index, detail, type);
    const field = FIELD_BY_OFFSET.get(detail);
    return message.replace(/record offset (\d+)/, field ? `${field.toLowerCase()}` : 'record offset $1');
  }

  /** The MQTT 5 reason code of the last failed decode (what `decodeAt` returned, negated). */
  errorReasonCode(): number {
    return decodeErrorReasonCode(this.dv.getUint32(this.rec + Rec.ERROR_INDEX, true));
  }

  /** The readable packet of the last successful decodeAt. */
  readPacket(): Packet {
    return this.reader.readPacket();
  }

  /** The properties in the record span `cell` (Rec.PROPS or Rec.WILL_PROPS) of the last decode. */
  readProperties(cell: number): Properties {
    return this.reader.readProperties(cell);
  }

  // ── encoding ──────────────────────────────────────────────────────────────────────────────

  /** Encode a readable packet; throws WeirError('ERR_ENCODE') naming the field that is wrong. */
  encode(packet: Packet, version: ProtocolVersion): Uint8Array {
    let cap = Math.max(this.output.cap, INITIAL_REGION);
    for (;;) {
      this.output.ensure(cap);
      const n = this.encodeInto(packet, version, this.output.ptr, this.output.cap);
      if (n > 0) return this.u8.slice(this.output.ptr, this.output.ptr + n);
      cap = -n;
    }
  }

  /**
   * Encode a readable packet straight into [out, out+cap) of WASM memory (e.g. an outbound ring).
   * Returns the length written, or -(length) when it does not fit; throws ERR_ENCODE if invalid.
   */
  encodeInto(packet: Packet, version: ProtocolVersion, out: number, cap: number): number {
    const type = TYPE_BY_CMD.get(packet.cmd);
    if (type === undefined || type === 0) throw encodeError(packet.cmd as Cmd, `unknown cmd '${packet.cmd}'`);
    const rec = this.encRec;
    this.exports.recordClear(rec);
    this.staging.ensure(INITIAL_REGION);
    this.staging.used = 0;
    this.dv.setUint32(rec + Rec.TYPE, type, true);
    this.writer.fill(packet, version);
    const n = this.exports.encode(rec, version, out, cap);
    if (n === -1 || n === 0) throw encodeError(packet.cmd, this.errorReason(rec));
    return n;
  }

  /**
   * Hot path for acknowledgements: PUBACK/PUBREC/PUBREL/PUBCOMP (type 4-7) with a packet id and,
   * in 5.0, a reason code (shortest form when 0), written into [out, out+cap). No objects, no
   * strings. Returns like `encodePublishFrom`.
   */
  encodeAckAt(
    out: number,
    cap: number,
    version: ProtocolVersion,
    type: number,
    packetId: number,
    reasonCode = 0,
  ): number {
    const rec = this.encRec;
    this.exports.recordClear(rec);
    this.dv.setUint32(rec + Rec.TYPE, type, true);
    this.dv.setUint32(rec + Rec.PACKET_ID, packetId, true);
    this.dv.setUint32(rec + Rec.REASON_CODE, reasonCode, true);
    return type >= 4 && type <= 7 ? this.exports.encode(rec, version, out, cap) : -1;
  }

  /** Why the last encodeAckAt returned -1. */
  encodeErrorReason(): string {
    return this.errorReason(this.encRec);
  }

  // ── forwarding (hot path) ────────────────────────────────────────────────────────────────

  private subIds: Region | undefined;

  /**
   * Re-encode the PUBLISH of the last decodeAt for one subscriber into [out, out+cap) inside WASM
   * memory. Returns the length written, -(length) if `cap` is too small, -1 if invalid.
   */
  encodePublishFrom(out: number, cap: number, version: ProtocolVersion, o: ForwardOptions): number {
    let flags = 0;
    if (o.dup) flags |= ForwardFlag.DUP;
    if (o.retain) flags |= ForwardFlag.RETAIN;
    if (o.omitTopic) flags |= ForwardFlag.OMIT_TOPIC;
    if (o.messageExpiry !== undefined) flags |= ForwardFlag.SET_EXPIRY;
    const ids = o.subscriptionIdentifiers;
    let idsPtr = 0;
    if (ids && ids.length > 0) {
      this.subIds ??= new Region(this.wasm, 'the forwarding subscription identifiers');
      this.subIds.ensure(ids.length * 4);
      idsPtr = this.subIds.ptr;
      for (let i = 0; i < ids.length; i++) this.dv.setUint32(idsPtr + i * 4, ids[i] ?? 0, true);
    }
    return this.exports.encodePublishFrom(
      this.rec,
      version,
      out,
      cap,
      o.qos,
      o.packetId ?? 0,
      flags,
      o.topicAlias ?? 0,
      o.messageExpiry ?? 0,
      idsPtr,
      ids?.length ?? 0,
    );
  }

  /** Why the last encodePublishFrom returned -1. */
  forwardErrorReason(): string {
    return this.errorReason(this.exports.forwardRecord());
  }

  /**
   * Point the decoded record's topic at other bytes in WASM memory: the broker resolves an
   * inbound Topic Alias this way, so matching and forwarding see the real topic.
   */
  setTopicSpan(ptr: number, len: number): void {
    this.dv.setUint32(this.rec + Rec.TOPIC, ptr, true);
    this.dv.setUint32(this.rec + Rec.TOPIC + 4, len, true);
  }

  /** The version given to the last decodeAt (the session's level; CONNECT carries its own). */
  get sessionVersion(): ProtocolVersion {
    return this.lastVersion;
  }
}
