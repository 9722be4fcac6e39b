// Writes a shard's packets for the gateway: each packet is encoded by the WASM codec straight into
// its record in the outbound ring (the ring lives in the shard's WASM memory), so no packet is
// built in JS and then copied. One record per packet; the gateway writes a batch per connection.
import type { Codec, ForwardOptions } from '../protocol/codec.js';
import type { Packet, ProtocolVersion } from '../protocol/packets.js';
import { makeTag, RecordKind } from '../ring/records.js';
import type { RingProducer } from '../ring/spsc-ring.js';

/** Room a first try at encoding reserves; a larger packet gets a second, exact reservation. */
const FIRST_TRY = 4096;

export const WriteResult = {
  OK: 0,
  /** The ring is full: nothing was written; try again after the gateway drained it. */
  FULL: 1,
  /** The packet exceeds the client's Maximum Packet Size: it must not be sent [MQTT-5.0 3.1.2-25]. */
  TOO_LARGE: 2,
} as const;
export type WriteResultValue = (typeof WriteResult)[keyof typeof WriteResult];

export class Output {
  /** Packets dropped because they exceeded a client's Maximum Packet Size. */
  oversized = 0;

  // The acks and forwards of every message go through here: their arguments are staged in these
  // fields for encoder functions made once, so a packet costs no closure.
  private version: ProtocolVersion = 4;
  private ackType = 0;
  private ackId = 0;
  private ackReason = 0;
  private forwardOptions: ForwardOptions = { qos: 0 };
  private readonly encodeAck = (at: number, cap: number) =>
    this.codec.encodeAckAt(at, cap, this.version, this.ackType, this.ackId, this.ackReason);
  private readonly encodeForward = (at: number, cap: number) =>
    this.codec.encodePublishFrom(at, cap, this.version, this.forwardOptions);

  constructor(
    private readonly ring: RingProducer,
    private readonly codec: Codec,
  ) {}

  /** The ring has room for at least `bytes` more (a handler checks before a burst of output). */
  hasRoom(bytes: number): boolean {
    // Twice the bytes: a record that does not fit before the end of the ring wraps, wasting the rest.
    return this.ring.hasRoom(bytes);
  }

  /** A readable packet (cold path: CONNACK, SUBACK, DISCONNECT, ...; a closure is fine here). */
  packet(
    conn: number,
    packet: Packet,
    version: ProtocolVersion,
    maxSize = Number.MAX_SAFE_INTEGER,
  ): WriteResultValue {
    return this.encode(conn, maxSize, (at, cap) => this.codec.encodeInto(packet, version, at, cap));
  }

  /** PUBACK / PUBREC / PUBREL / PUBCOMP (type 4-7). */
  ack(
    conn: number,
    version: ProtocolVersion,
    type: number,
    packetId: number,
    reasonCode = 0,
  ): WriteResultValue {
    this.version = version;
    this.ackType = type;
    this.ackId = packetId;
    this.ackReason = reasonCode;
    return this.encode(conn, Number.MAX_SAFE_INTEGER, this.encodeAck);
  }

  /** The PUBLISH of the codec's last decode, re-encoded for one subscriber. */
  forward(
    conn: number,
    version: ProtocolVersion,
    options: ForwardOptions,
    maxSize: number,
  ): WriteResultValue {
    this.version = version;
    this.forwardOptions = options;
    return this.encode(conn, maxSize, this.encodeForward);
  }

  /** Ask the gateway to close the connection after what precedes is written. */
  close(conn: number): boolean {
    return this.ring.write(makeTag(RecordKind.CLOSE, conn), EMPTY);
  }

  /** Tell the gateway this shard has forgotten the connection (its id may be reused). */
  closed(conn: number): boolean {
    return this.ring.write(makeTag(RecordKind.CLOSED, conn), EMPTY);
  }

  /**
   * Encode with `write(at, cap)` (returns the length, or -(needed) when cap is too small) into a
   * reserved record; a second reservation is made when the first was too small.
   */
  private encode(
    conn: number,
    maxSize: number,
    write: (at: number, cap: number) => number,
  ): WriteResultValue {
    let cap = Math.min(FIRST_TRY, this.ring.maxPayload);
    for (let attempt = 0; attempt < 2; attempt++) {
      const at = this.ring.reserve(cap);
      if (at < 0) return WriteResult.FULL;
      const n = write(at, cap);
      if (n > 0) {
        if (n > maxSize) {
          this.oversized++;
          return WriteResult.TOO_LARGE;
        }
        this.ring.commit(makeTag(RecordKind.DATA, conn), n);
        return WriteResult.OK;
      }
      if (n === -1 || -n > this.ring.maxPayload) break;
      cap = -n;
    }
    this.oversized++;
    return WriteResult.TOO_LARGE;
  }
}

const EMPTY = new Uint8Array(0);
