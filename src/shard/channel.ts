// A connection's protocol state inside its shard: the negotiated limits and what is needed to
// enforce them. The session (what outlives the connection) is separate.
import type { ProtocolVersion } from '../protocol/packets.js';
import type { Session } from '../session/session.js';
import type { WheelEntry } from '../session/timer-wheel.js';
import type { PendingAck } from './durable-acks.js';

export const ChannelState = {
  /** CONNACK sent; packets flow. */
  CONNECTED: 1,
  /** The shard asked the gateway to close it; packets still in the pipe are ignored. */
  CLOSING: 2,
} as const;
export type ChannelStateValue = (typeof ChannelState)[keyof typeof ChannelState];

export class Channel implements WheelEntry {
  state: ChannelStateValue = ChannelState.CONNECTED;
  /** Keep-alive deadline (wheel seconds); lazily pushed back by `lastSeen`. */
  deadline = 0;
  /** Wheel seconds when the last packet arrived. */
  lastSeen = 0;
  /** Keep-alive in force (seconds, 0 = none). */
  keepAlive = 0;
  /** The client's Maximum Packet Size (MQTT 5), or the protocol maximum. */
  maxPacketSize = 268_435_460;
  /** The gateway reported the socket over its write budget: send nothing until DRAINED. */
  congested = false;
  /**
   * The CONNACK waits for the store (src/shard/handlers/connect.ts): nothing else may reach the
   * client before it [MQTT-5.0 3.2.0-1] [MQTT-3.1.1 3.2.0-1], so deliveries queue meanwhile.
   */
  connackPending = false;
  /** Topics the client has bound to its Topic Aliases (index = alias), MQTT 5 [MQTT-5.0 3.3.2-12]. */
  readonly aliasesIn: Array<Uint8Array | undefined> = [];
  /** Topic Alias Maximum the client accepts from us (its CONNECT), and the aliases we gave out. */
  aliasMaxOut = 0;
  private aliases: Map<string, number> | undefined;
  /** A DISCONNECT with reason 0x00 arrived: the will must not be published [MQTT-5.0 3.1.2-10]. */
  disconnected = false;
  /** Acks waiting for the store, in the order their packets came (src/shard/durable-acks.ts). */
  pendingAcks: PendingAck[] | null = null;

  /** Made when first used (MQTT 5 clients that accept aliases only). */
  get aliasesOut(): Map<string, number> {
    return (this.aliases ??= new Map());
  }

  constructor(
    readonly conn: number,
    readonly version: ProtocolVersion,
    readonly session: Session,
  ) {}
}
