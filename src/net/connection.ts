// One client connection as the gateway sees it, whatever carries it (TCP, TLS, WebSocket): the
// transport's bytes, the framer, and where its packets go. The gateway never interprets packets
// after CONNECT: that is the shard's job.
import type { WriteSlots } from '../ring/write-slots.js';
import { Framer } from './framer.js';

/** What the gateway needs from a transport: the same for node:net/tls sockets and uWS sockets. */
/** What the TLS layer knows of the client, for the authentication hook. */
export interface TlsPeer {
  /** The client presented a certificate that verified against the configured CA (`--ca`). */
  authorized: boolean;
  /** Why it did not verify (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), when it did not. */
  authorizationError?: string;
  /** The client certificate's subject and issuer fields (CN, O, ...), and its SHA-256 fingerprint. */
  subject?: Record<string, string | string[]>;
  issuer?: Record<string, string | string[]>;
  fingerprint256?: string;
}

/**
 * Unsent bytes a socket transport may hold before `write` returns false (and its shard is told
 * to stop sending to it); it reports `drained` once below half of that.
 */
export const WRITE_BUDGET = 1 << 20;

export interface Transport {
  readonly remoteAddress: string;
  /** The TLS peer of a TLS or WSS connection (undefined on plain TCP and WebSocket). */
  tlsPeer?(): TlsPeer | undefined;
  /**
   * Queue bytes for the peer (the transport copies or keeps them). False: more than its budget is
   * now waiting to be sent; the listener calls Gateway.drained when it has gone.
   */
  write(bytes: Uint8Array): boolean;
  /** Stop / restart reading (backpressure from a full ring, a pending authentication hook). */
  pause(): void;
  resume(): void;
  /**
   * Let the shards write to this socket themselves from now on, while it has nothing of the
   * transport's own queued (src/ring/write-slots.ts). Only plain TCP on TCP handles can.
   */
  lendWrites?(slots: WriteSlots, id: number): void;
  /** Close after the queued bytes are written. */
  end(): void;
  /** Close now. */
  destroy(): void;
}

export interface HeldRecord {
  kind: number;
  bytes: Uint8Array;
}

export const ConnState = {
  /** Connected; the first packet (must be CONNECT) is not complete yet. */
  AWAIT_CONNECT: 0,
  /** CONNECT received; the authentication hook is running. Later packets wait. */
  AUTHENTICATING: 1,
  /** Assigned to a shard; every packet goes to it. */
  ROUTED: 2,
  /** The socket is closed or closing; waiting for the shard to acknowledge (ids are reused after). */
  CLOSING: 3,
  /** Gone: the id is free. */
  CLOSED: 4,
} as const;
export type ConnStateValue = (typeof ConnState)[keyof typeof ConnState];

export class Connection {
  state: ConnStateValue = ConnState.AWAIT_CONNECT;
  /** The shard that owns the session, once ROUTED, and the generation of that shard's start. */
  shard = -1;
  shardGeneration = 0;
  clientId = '';
  protocolVersion: 3 | 4 | 5 = 4;
  /** Records that wait, in order: runs that arrived while authenticating or while the ring was full. */
  readonly held: HeldRecord[] = [];
  /** Bytes in `held`: bounded, because a WebSocket cannot pause its reads (uWS has no pause). */
  heldBytes = 0;
  /** The socket passed its write budget and the shard was told (CONGESTED); cleared on drain. */
  congested = false;
  /** A wait for ring space is under way (reads are paused until it ends). */
  waitingForRing = false;
  /** The socket ended; a CLOSE went to the shard (when routed). */
  socketClosed = false;
  /** Bytes of this batch's records for it, and where they are being gathered (Gateway.writeOut). */
  outBytes = 0;
  outPos = 0;
  outBuf: Buffer | undefined = undefined;
  readonly framer: Framer;
  /** Closes the connection if CONNECT does not arrive in time [MQTT-5.0 4.2] (a DoS guard). */
  connectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly transport: Transport,
    maxPacketSize: number,
    maxRun: number,
  ) {
    this.framer = new Framer(maxPacketSize, maxRun);
  }
}
