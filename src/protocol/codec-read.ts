// Record → readable Packet (the cold path): strings and byte arrays are copied out of WASM memory
// here and nowhere else. Repeated items are walked with the module's iterators (propNext,
// listNext), which write each item into the record's ITEM cell.

import type { CodecExports } from './codec.js';
import type { PacketView } from './codec-view.js';
import type {
  AckPacket,
  AuthPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  Subscription,
  Will,
} from './packets.js';
import { PACKET_CMDS, PacketType } from './packets.js';
import { ConnectFlag, Rec } from './record.js';

/** Property identifier → Properties key and wire type (MQTT 5.0 Table 2-4). */
export type PropKind = 'byte' | 'u16' | 'u32' | 'varint' | 'utf8' | 'binary' | 'pair';
export const PROPERTY_TABLE: ReadonlyArray<readonly [number, keyof Properties, PropKind]> = [
  [0x01, 'payloadFormatIndicator', 'byte'],
  [0x02, 'messageExpiryInterval', 'u32'],
  [0x03, 'contentType', 'utf8'],
  [0x08, 'responseTopic', 'utf8'],
  [0x09, 'correlationData', 'binary'],
  [0x0b, 'subscriptionIdentifiers', 'varint'],
  [0x11, 'sessionExpiryInterval', 'u32'],
  [0x12, 'assignedClientIdentifier', 'utf8'],
  [0x13, 'serverKeepAlive', 'u16'],
  [0x15, 'authenticationMethod', 'utf8'],
  [0x16, 'authenticationData', 'binary'],
  [0x17, 'requestProblemInformation', 'byte'],
  [0x18, 'willDelayInterval', 'u32'],
  [0x19, 'requestResponseInformation', 'byte'],
  [0x1a, 'responseInformation', 'utf8'],
  [0x1c, 'serverReference', 'utf8'],
  [0x1f, 'reasonString', 'utf8'],
  [0x21, 'receiveMaximum', 'u16'],
  [0x22, 'topicAliasMaximum', 'u16'],
  [0x23, 'topicAlias', 'u16'],
  [0x24, 'maximumQoS', 'byte'],
  [0x25, 'retainAvailable', 'byte'],
  [0x26, 'userProperties', 'pair'],
  [0x27, 'maximumPacketSize', 'u32'],
  [0x28, 'wildcardSubscriptionAvailable', 'byte'],
  [0x29, 'subscriptionIdentifierAvailable', 'byte'],
  [0x2a, 'sharedSubscriptionAvailable', 'byte'],
];
const PROPERTY_BY_ID = new Map(PROPERTY_TABLE.map((e) => [e[0], e]));
/** Packet type number → `cmd`. */
export const CMD_BY_TYPE = PACKET_CMDS;
export type Cmd = Packet['cmd'];
export const TYPE_BY_CMD = new Map<string, number>(CMD_BY_TYPE.map((c, i) => [c, i]));
export class PacketReader {
  private readonly rec: number;
  constructor(
    private readonly exports: CodecExports,
    private readonly u8: Uint8Array,
    private readonly dv: DataView,
    private readonly buf: Buffer,
    private readonly view: PacketView,
  ) {
    this.rec = view.record;
  }

  string(ptr: number, len: number): string {
    return this.buf.toString('utf8', ptr, ptr + len);
  }
  private spanString(cell: number): string {
    return this.string(this.view.spanPtr(cell), this.view.spanLen(cell));
  }
  private spanBytes(cell: number): Uint8Array {
    const p = this.view.spanPtr(cell);
    return this.u8.slice(p, p + this.view.spanLen(cell));
  }
  private u32(off: number): number {
    return this.dv.getUint32(this.rec + off, true);
  }

  /** The readable packet of the last successful decodeAt. */
  readPacket(): Packet {
    const type = this.view.type;
    const version = this.view.version;
    const cmd = CMD_BY_TYPE[type];
    switch (type) {
      case PacketType.CONNECT:
        return this.readConnect();
      case PacketType.CONNACK:
        return this.withProps(
          { cmd: 'connack', sessionPresent: this.view.sessionPresent, reasonCode: this.view.reasonCode },
          Rec.PROPS,
        );
      case PacketType.PUBLISH:
        return this.readPublish();
      case PacketType.PUBACK:
      case PacketType.PUBREC:
      case PacketType.PUBREL:
      case PacketType.PUBCOMP: {
        const ack = { cmd, messageId: this.view.packetId } as AckPacket;
        if (version === 5) ack.reasonCode = this.view.reasonCode;
        return this.withProps(ack, Rec.PROPS);
      }
      case PacketType.SUBSCRIBE:
      case PacketType.UNSUBSCRIBE:
        return this.readSubscribe(type);
      case PacketType.SUBACK:
      case PacketType.UNSUBACK: {
        const granted = Array.from(
          this.u8.subarray(this.view.listPtr, this.view.listPtr + this.view.listLen),
        );
        const messageId = this.view.packetId;
        if (type === PacketType.SUBACK)
          return this.withProps({ cmd: 'suback', messageId, granted }, Rec.PROPS);
        return this.withProps(
          version === 5 ? { cmd: 'unsuback', messageId, granted } : { cmd: 'unsuback', messageId },
          Rec.PROPS,
        );
      }
      case PacketType.PINGREQ:
        return { cmd: 'pingreq' };
      case PacketType.PINGRESP:
        return { cmd: 'pingresp' };
      default: {
        const p = (version === 5 ? { cmd, reasonCode: this.view.reasonCode } : { cmd }) as
          DisconnectPacket | AuthPacket;
        return this.withProps(p, Rec.PROPS);
      }
    }
  }

  private withProps<T extends Packet | Will>(packet: T, cell: number): T {
    if (this.view.version !== 5 || this.view.spanLen(cell) === 0) return packet;
    (packet as { properties?: Properties }).properties = this.readProperties(cell);
    return packet;
  }

  /** Walk a validated property block with propNext; repeated items keep their order. */
  readProperties(cell: number): Properties {
    const props: Record<string, unknown> = {};
    let p = this.view.spanPtr(cell);
    const end = p + this.view.spanLen(cell);
    const rec = this.rec;
    while (p !== 0 && p < end) {
      p = this.exports.propNext(rec, p, end);
      if (p === 0) break;
      const id = this.u32(Rec.ITEM_ID);
      const entry = PROPERTY_BY_ID.get(id);
      if (!entry) continue;
      const [, key, kind] = entry;
      const a = this.u32(Rec.ITEM_A);
      const aLen = this.u32(Rec.ITEM_A + 4);
      switch (kind) {
        case 'pair': {
          const list = (props[key] ?? []) as Array<[string, string]>;
          props[key] = list;
          list.push([this.string(a, aLen), this.string(this.u32(Rec.ITEM_B), this.u32(Rec.ITEM_B + 4))]);
          break;
        }
        case 'varint':
          props[key] = [...((props[key] as number[] | undefined) ?? []), this.u32(Rec.ITEM_VALUE)];
          break;
        case 'utf8':
          props[key] = this.string(a, aLen);
          break;
        case 'binary':
          props[key] = this.u8.slice(a, a + aLen);
          break;
        default:
          props[key] = this.u32(Rec.ITEM_VALUE);
      }
    }
    return props as Properties;
  }

  private readConnect(): ConnectPacket {
    const f = this.view.connectFlags;
    const version = this.view.version as ProtocolVersion;
    const packet: ConnectPacket = {
      cmd: 'connect',
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clean: (f & ConnectFlag.CLEAN) !== 0,
      keepalive: this.view.keepalive,
      clientId: this.spanString(Rec.CLIENT_ID),
    };
    if (f & ConnectFlag.WILL) {
      const will: Will = {
        topic: this.spanString(Rec.WILL_TOPIC),
        payload: this.spanBytes(Rec.WILL_PAYLOAD),
        qos: ((f & ConnectFlag.WILL_QOS) >> 3) as QoS,
        retain: (f & ConnectFlag.WILL_RETAIN) !== 0,
      };
      packet.will = this.withProps(will, Rec.WILL_PROPS);
    }
    if (f & ConnectFlag.USERNAME) packet.username = this.spanString(Rec.USERNAME);
    if (f & ConnectFlag.PASSWORD) packet.password = this.spanBytes(Rec.PASSWORD);
    return this.withProps(packet, Rec.PROPS);
  }

  private readPublish(): PublishPacket {
    const qos = this.view.qos as QoS;
    const packet: PublishPacket = {
      cmd: 'publish',
      topic: this.spanString(Rec.TOPIC),
      payload: this.spanBytes(Rec.PAYLOAD),
      qos,
      dup: this.view.dup,
      retain: this.view.retain,
    };
    if (qos > 0) packet.messageId = this.view.packetId;
    return this.withProps(packet, Rec.PROPS);
  }

  private readSubscribe(type: number): Packet {
    const subscribe = type === PacketType.SUBSCRIBE;
    const v5 = this.view.version === 5;
    const subscriptions: Subscription[] = [];
    const topics: string[] = [];
    let p = this.view.listPtr;
    const end = p + this.view.listLen;
    while (p < end) {
      p = this.exports.listNext(this.rec, p, end, subscribe ? 1 : 0);
      if (p === 0) break;
      const topic = this.string(this.u32(Rec.ITEM_A), this.u32(Rec.ITEM_A + 4));
      if (!subscribe) {
        topics.push(topic);
        continue;
      }
      const o = this.u32(Rec.ITEM_VALUE);
      const s: Subscription = { topic, qos: (o & 3) as QoS };
      if (v5) {
        s.nl = (o & 4) !== 0;
        s.rap = (o & 8) !== 0;
        s.rh = ((o >> 4) & 3) as 0 | 1 | 2;
      }
      subscriptions.push(s);
    }
    const messageId = this.view.packetId;
    return this.withProps(
      subscribe
        ? { cmd: 'subscribe', messageId, subscriptions }
        : { cmd: 'unsubscribe', messageId, unsubscriptions: topics },
      Rec.PROPS,
    );
  }
}
