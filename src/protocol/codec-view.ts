// Typed getters over a decoded record (the hot path's way to read a packet: no strings, no
// objects). Offsets come from src/protocol/record.ts, the mirror of asm/codec/record.ts.
import { Rec, SLOT_SIZE } from './record.js';

/** Typed getters over a decoded record, for the hot path. Valid until the next decode into it. */
export class PacketView {
  constructor(
    private readonly dv: DataView,
    /** The record's address in WASM memory. */
    readonly record: number,
  ) {}
  private u32(off: number): number {
    return this.dv.getUint32(this.record + off, true);
  }
  get type(): number {
    return this.u32(Rec.TYPE);
  }
  get flags(): number {
    return this.u32(Rec.FLAGS);
  }
  get version(): number {
    return this.u32(Rec.VERSION);
  }
  get totalLength(): number {
    return this.u32(Rec.TOTAL_LEN);
  }
  get remainingLength(): number {
    return this.u32(Rec.REMAINING_LEN);
  }
  get needed(): number {
    return this.u32(Rec.NEEDED);
  }
  get packetId(): number {
    return this.u32(Rec.PACKET_ID);
  }
  get reasonCode(): number {
    return this.u32(Rec.REASON_CODE);
  }
  get qos(): number {
    return this.u32(Rec.QOS);
  }
  get dup(): boolean {
    return this.u32(Rec.DUP) !== 0;
  }
  get retain(): boolean {
    return this.u32(Rec.RETAIN) !== 0;
  }
  get connectFlags(): number {
    return this.u32(Rec.CONNECT_FLAGS);
  }
  get keepalive(): number {
    return this.u32(Rec.KEEPALIVE);
  }
  get sessionPresent(): boolean {
    return (this.u32(Rec.ACK_FLAGS) & 1) !== 0;
  }
  get topicPtr(): number {
    return this.u32(Rec.TOPIC);
  }
  get topicLen(): number {
    return this.u32(Rec.TOPIC + 4);
  }
  get payloadPtr(): number {
    return this.u32(Rec.PAYLOAD);
  }
  get payloadLen(): number {
    return this.u32(Rec.PAYLOAD + 4);
  }
  get propertiesPtr(): number {
    return this.u32(Rec.PROPS);
  }
  get propertiesLen(): number {
    return this.u32(Rec.PROPS + 4);
  }
  get listPtr(): number {
    return this.u32(Rec.LIST);
  }
  get listLen(): number {
    return this.u32(Rec.LIST + 4);
  }
  get listCount(): number {
    return this.u32(Rec.LIST_COUNT);
  }
  get userPropertyCount(): number {
    return this.u32(Rec.USER_PROP_COUNT);
  }
  get subscriptionIdentifierCount(): number {
    return this.u32(Rec.SUB_ID_COUNT);
  }
  /** Span (address, length) of a record cell such as Rec.CLIENT_ID. */
  spanPtr(cell: number): number {
    return this.u32(cell);
  }
  spanLen(cell: number): number {
    return this.u32(cell + 4);
  }
  /** Was property `id` present (in the will properties when `will`)? */
  hasProperty(id: number, will = false): boolean {
    const base = this.record + (will ? Rec.WILL_PROP_MASK : Rec.PROP_MASK);
    const word = id < 32 ? this.dv.getUint32(base, true) : this.dv.getUint32(base + 4, true);
    return ((word >>> (id & 31)) & 1) !== 0;
  }
  /** Integer value of property `id` (first occurrence), or the address of a string/binary one. */
  propertyValue(id: number, will = false): number {
    return this.u32((will ? Rec.WILL_PROP_SLOTS : Rec.PROP_SLOTS) + id * SLOT_SIZE);
  }
  /** Byte length of a string/binary property's value. */
  propertyLength(id: number, will = false): number {
    return this.u32((will ? Rec.WILL_PROP_SLOTS : Rec.PROP_SLOTS) + id * SLOT_SIZE + 4);
  }
}
