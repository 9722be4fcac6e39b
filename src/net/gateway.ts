// The gateway: the main thread's connection table. It frames each connection's bytes, handles
// the first packet (CONNECT: decode, authenticate, pick the shard by client ID), and from then on
// moves runs of whole packets to the owning shard's ring and the shard's records back to sockets.
// It interprets no packet after CONNECT.
import { randomBytes } from 'node:crypto';
import { Codec } from '../protocol/codec.js';
import type { ConnectPacket, ProtocolVersion } from '../protocol/packets.js';
import { connackRefusal, ReasonCode } from '../protocol/reason-codes.js';
import { shardOf } from '../protocol/shard-of.js';
import { instantiate } from '../protocol/wasm.js';
import { encodeOpen, makeTag, OPEN_ASSIGNED_ID, RecordKind, type RecordKindNumber } from '../ring/records.js';
import { WriteSlots } from '../ring/write-slots.js';
import { Connection, ConnState, type TlsPeer, type Transport } from './connection.js';
import { running, type ShardLink, ShardPool } from './shard-pool.js';

export interface ConnectInfo {
  clientId: string;
  username?: string;
  password?: Uint8Array;
  remoteAddress: string;
  protocolVersion: ProtocolVersion;
  /** TLS and WSS connections: what TLS knows of the client (its certificate with `--ca`). */
  tls?: TlsPeer;
}

export interface ClientInfo {
  clientId: string;
  remoteAddress: string;
  protocolVersion: ProtocolVersion;
}

/** true: accept; false: refuse as not authorized; or the MQTT 5 reason code to refuse with. */
export type AuthResult = boolean | { reasonCode: number };
export type AuthHook = (info: ConnectInfo) => AuthResult | Promise<AuthResult>;

export interface GatewayOptions {
  shards: number;
  /** file:// URL of the shard logic module. */
  logic: string;
  /** Given to every shard's logic (the MQTT limits). */
  shardSettings?: unknown;
  maxPacketSize: number;
  /** Seconds a new connection has to send CONNECT. */
  connectTimeout?: number;
  /** Concurrent connections; more are closed at once (-1: unlimited). */
  maxConnections?: number;
  /** Told when a CONNECT is accepted (authenticated and routed) and when that connection ends. */
  onClient?(event: 'connected' | 'disconnected', info: ClientInfo): void;
  authenticate?: AuthHook;
  memoryBytes?: number;
  ringCapacity?: number;
  /** Shards write their batches below saturation to plain-TCP sockets themselves (default true; src/shard/direct-write.ts). */
  directWrites?: boolean;
}

export { shardOf };

const MAX_CONNECTIONS = 0xffffff;
const EMPTY = new Uint8Array(0);

export class Gateway {
  readonly pool: ShardPool;
  private readonly codec: Codec;
  private readonly connections: Array<Connection | undefined> = [];
  private readonly freeIds: number[] = [];
  /**
   * The shards written to in this event-loop turn, by index: an array rather than a Set, which
   * would be emptied holding something every turn (src/protocol/empty.ts says why that matters).
   */
  private readonly dirty: (ShardLink | undefined)[] = [];
  /** This batch's outbound DATA records, as (connection id, offset, length) triples. */
  private readonly outSpans: number[] = [];
  /** The connections those records are for, each once. */
  private readonly outConns: Connection[] = [];
  private flushScheduled = false;
  private injectTurn = 0;
  /** Totals since start, for /metrics. */
  readonly counters = { accepted: 0, refused: 0, framingErrors: 0, bytesIn: 0, bytesOut: 0 };
  private readonly maxRun: number;
  private readonly heldBudget: number;
  /** The sockets shards may write to themselves (none with directWrites false). */
  private readonly slots: WriteSlots | undefined;

  constructor(private readonly options: GatewayOptions) {
    const ringCapacity = options.ringCapacity ?? ringFor(options.maxPacketSize);
    this.slots = options.directWrites === false ? undefined : new WriteSlots();
    this.pool = new ShardPool({
      writeSlots: this.slots?.buffer,
      shards: options.shards,
      logic: options.logic,
      settings: options.shardSettings,
      // Never less than the rings (two with the gateway, one from each other shard), the shard's
      // staging regions for a largest packet, and room for the matcher's pools.
      memoryBytes: Math.max(
        options.memoryBytes ?? 0,
        (options.shards + 1) * (ringCapacity + 4096) + 2 * options.maxPacketSize + 64 * 1024 * 1024,
      ),
      ringCapacity,
      onRecord: (link, kind, conn, offset, len) => this.fromShard(link, kind, conn, offset, len),
      onBatchEnd: (link) => this.writeOut(link),
    });
    this.pool.on('exit', (index) => this.shardExited(index));
    // Records carry at most half a ring; a run of packets is split below that.
    this.maxRun = (ringCapacity >> 1) - 64;
    this.heldBudget = Math.max(4 << 20, 4 * options.maxPacketSize);
    this.codec = new Codec(
      instantiate({ memoryBytes: Math.max(16 << 20, 2 * options.maxPacketSize + (1 << 20)) }),
    );
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  /** Bytes written to clients: by the main thread, and by the shards themselves (their last reports). */
  get bytesSent(): number {
    let sent = this.counters.bytesOut;
    for (let i = 0; i < this.pool.size; i++) sent += this.pool.link(i)?.stats?.directBytes ?? 0;
    return sent;
  }

  get connectionCount(): number {
    return this.connections.length - this.freeIds.length;
  }

  /** A transport connected. Returns the connection, or undefined when the table is full. */
  accept(transport: Transport): Connection | undefined {
    const max = this.options.maxConnections ?? -1;
    if (max >= 0 && this.connectionCount >= max) {
      // Over the limit: closed before reading anything, as Mosquitto does (max_connections).
      this.counters.refused++;
      transport.destroy();
      return undefined;
    }
    const id =
      this.freeIds.pop() ?? (this.connections.length < MAX_CONNECTIONS ? this.connections.length : -1);
    if (id < 0) {
      transport.destroy();
      return undefined;
    }
    this.counters.accepted++;
    const conn = new Connection(id, transport, this.options.maxPacketSize, this.maxRun);
    this.connections[id] = conn;
    conn.connectTimer = setTimeout(() => transport.destroy(), (this.options.connectTimeout ?? 10) * 1000);
    conn.connectTimer.unref();
    return conn;
  }

  /** Bytes read from a connection, valid only during the call (a transport may read into one buffer). */
  data(conn: Connection, chunk: Uint8Array): void {
    if (conn.state >= ConnState.CLOSING) return;
    this.counters.bytesIn += chunk.length;
    const status = conn.framer.push(chunk, (bytes, start, end) => this.run(conn, bytes, start, end));
    if (status !== 0) {
      this.counters.framingErrors++;
      this.framingError(conn, status);
    }
  }

  /**
   * A length that cannot be right (0x81) or a packet over the maximum (0x95): an MQTT 5 client
   * gets DISCONNECT with that reason before the close [MQTT-5.0 4.13.1-1] (MQTT 5.0 §3.2.2.3.6);
   * 3.1.1 has no server DISCONNECT [MQTT-3.1.1 4.8.0-1]. The gateway sends it itself: it is the
   * one that refused the bytes, and the shard never saw them.
   */
  private framingError(conn: Connection, reasonCode: number): void {
    if (conn.state === ConnState.ROUTED && conn.protocolVersion === 5) {
      conn.state = ConnState.CLOSING;
      conn.held.length = 0;
      conn.heldBytes = 0;
      conn.transport.write(this.codec.encode({ cmd: 'disconnect', reasonCode }, 5));
      conn.transport.end();
      return;
    }
    this.fail(conn);
  }

  /** The transport has written what it held: the shard may send to it again. */
  drained(conn: Connection): void {
    if (!conn.congested || conn.state !== ConnState.ROUTED) return;
    conn.congested = false;
    const link = this.liveLink(conn);
    if (link) this.toShard(link, conn, RecordKind.DRAINED, EMPTY);
  }

  /** The transport closed (either side). */
  closed(conn: Connection): void {
    if (conn.socketClosed) return;
    conn.socketClosed = true;
    clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined;
    // Any connection a shard has seen gets a CLOSE, however it ended (client, framing error, the
    // shard's own CLOSE): the shard must forget it before its id can be reused.
    const link = conn.shard >= 0 ? this.liveLink(conn) : undefined;
    if (conn.shard >= 0) {
      const { clientId, protocolVersion } = conn;
      this.options.onClient?.('disconnected', {
        clientId,
        remoteAddress: conn.transport.remoteAddress,
        protocolVersion,
      });
    }
    conn.state = ConnState.CLOSING;
    // Held runs still go first: a PUBLISH and DISCONNECT sent just before closing must count.
    if (link) this.toShard(link, conn, RecordKind.CLOSE, EMPTY);
    else this.release(conn);
  }

  /**
   * Publish a message from the broker itself (MQTT 5 PUBLISH bytes): one shard takes it (turn
   * by turn) and routes it like a client's PUBLISH, to its own subscribers and the other shards'.
   * Returns false when no shard could take it now (the caller may retry).
   */
  inject(publish: Uint8Array): boolean {
    const shards = this.pool.size;
    for (let k = 0; k < shards; k++) {
      const link = this.pool.link(this.injectTurn++ % shards);
      if (!link || !link.inbound.write(makeTag(RecordKind.INJECT, 0), publish)) continue;
      this.markDirty(link);
      return true;
    }
    return false;
  }

  /** The main thread's codec (for encoding the broker's own packets). */
  get encoder(): Codec {
    return this.codec;
  }

  close(): Promise<void> {
    for (const conn of this.connections) conn?.transport.destroy();
    return this.pool.close();
  }

  // ── inbound ──────────────────────────────────────────────────────────────────────────────

  private run(conn: Connection, bytes: Uint8Array, start: number, end: number): void {
    switch (conn.state) {
      case ConnState.AWAIT_CONNECT: {
        const first = bytes.subarray(start, end);
        const length = packetSize(first);
        conn.state = ConnState.AUTHENTICATING;
        // With a hook, read nothing more until it has decided: a slow hook must not let input
        // pile up. Without one, connect() routes the client before it returns, and a pause would
        // cost a readStop and a readStart (two epoll_ctl calls) per connection for nothing.
        if (this.options.authenticate) conn.transport.pause();
        if (length < first.length) this.hold(conn, RecordKind.DATA, first.slice(length));
        void this.connect(conn, first.slice(0, length));
        return;
      }
      case ConnState.AUTHENTICATING:
        this.hold(conn, RecordKind.DATA, bytes.slice(start, end));
        return;
      case ConnState.ROUTED: {
        const link = this.liveLink(conn);
        if (!link) return; // its shard died: the connection is being closed
        if (conn.held.length === 0 && this.tryWrite(link, conn, RecordKind.DATA, bytes, start, end)) return;
        if (this.hold(conn, RecordKind.DATA, bytes.slice(start, end))) this.waitForRing(link, conn);
      }
    }
  }

  private async connect(conn: Connection, bytes: Uint8Array): Promise<void> {
    clearTimeout(conn.connectTimer);
    conn.connectTimer = undefined;
    const level = protocolLevel(bytes);
    const result = this.codec.decode(bytes, 4, {
      fromClient: true,
      maxPacketSize: this.options.maxPacketSize,
    });
    if (result.status !== 'packet' || result.packet.cmd !== 'connect') {
      // [MQTT-5.0 3.1.0-1] [MQTT-3.1.1 3.1.0-1]: the first packet must be a valid CONNECT.
      const reasonCode = result.status === 'error' ? result.reasonCode : ReasonCode.PROTOCOL_ERROR;
      return this.refuse(conn, level === 5 ? 5 : 4, reasonCode);
    }
    const packet: ConnectPacket = result.packet;
    const version = packet.protocolVersion;
    let clientId = packet.clientId;
    let flags = 0;
    if (clientId === '') {
      // [MQTT-3.1.1 3.1.3-8]: an empty id needs Clean Session 1; 3.1 has no empty ids.
      if (version === 3 || (version === 4 && !packet.clean)) {
        return this.refuse(conn, version, ReasonCode.CLIENT_IDENTIFIER_NOT_VALID);
      }
      // [MQTT-5.0 3.1.3-6] [MQTT-3.1.1 3.1.3-6]: assign a unique id.
      clientId = `weir-${randomBytes(9).toString('base64url')}`;
      flags |= OPEN_ASSIGNED_ID;
    }
    const verdict = this.options.authenticate
      ? await this.options.authenticate({
          clientId,
          username: packet.username,
          password: packet.password,
          remoteAddress: conn.transport.remoteAddress,
          protocolVersion: version,
          tls: conn.transport.tlsPeer?.(),
        })
      : true;
    if (conn.state !== ConnState.AUTHENTICATING) return; // closed while the hook ran
    if (verdict !== true) {
      return this.refuse(conn, version, verdict === false ? ReasonCode.NOT_AUTHORIZED : verdict.reasonCode);
    }
    conn.clientId = clientId;
    conn.protocolVersion = version;
    conn.shard = shardOf(clientId, this.pool.size);
    const link = this.pool.link(conn.shard);
    if (!link) return this.refuse(conn, version, ReasonCode.SERVER_UNAVAILABLE);
    conn.shardGeneration = link.generation;
    conn.state = ConnState.ROUTED;
    // Before the OPEN record: the shard may write the CONNACK itself.
    if (this.slots) conn.transport.lendWrites?.(this.slots, conn.id);
    this.options.onClient?.('connected', {
      clientId,
      remoteAddress: conn.transport.remoteAddress,
      protocolVersion: version,
    });
    const open = encodeOpen(flags, clientId, conn.transport.remoteAddress, bytes);
    conn.held.unshift({ kind: RecordKind.OPEN, bytes: open });
    conn.heldBytes += open.length;
    this.writeHeld(link, conn);
    if (conn.held.length > 0) this.waitForRing(link, conn);
    else if (this.options.authenticate) conn.transport.resume();
  }

  /** Refuse a CONNECT: a CONNACK with the reason (when the version has a code for it), then close. */
  private refuse(conn: Connection, version: ProtocolVersion, reasonCode: number): void {
    this.counters.refused++;
    const connack = connackRefusal(version, reasonCode);
    if (connack) conn.transport.write(this.codec.encode(connack, version));
    conn.state = ConnState.CLOSING;
    conn.transport.end();
  }

  private fail(conn: Connection): void {
    conn.state = ConnState.CLOSING;
    conn.held.length = 0;
    conn.heldBytes = 0;
    conn.transport.destroy();
  }

  /** Write a record, or hold it (in order) until the ring has room. */
  private toShard(link: ShardLink, conn: Connection, kind: RecordKindNumber, bytes: Uint8Array): void {
    if (conn.held.length === 0 && this.tryWrite(link, conn, kind, bytes, 0, bytes.length)) return;
    conn.held.push({ kind, bytes });
    conn.heldBytes += bytes.length;
    this.waitForRing(link, conn);
  }

  /**
   * Keep a run until it can go to the shard. A client whose held input passes the budget is
   * flooding faster than its shard can take (TCP pauses long before that; WebSocket cannot):
   * it is disconnected rather than allowed to grow the gateway's memory. False when it was.
   */
  private hold(conn: Connection, kind: number, bytes: Uint8Array): boolean {
    conn.heldBytes += bytes.length;
    if (conn.heldBytes > this.heldBudget) {
      this.fail(conn);
      return false;
    }
    conn.held.push({ kind, bytes });
    return true;
  }

  private tryWrite(
    link: ShardLink,
    conn: Connection,
    kind: number,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): boolean {
    const at = link.inbound.reserve(end - start);
    if (at < 0) return false;
    link.u8.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), at);
    link.inbound.commit(makeTag(kind as RecordKindNumber, conn.id), end - start);
    this.markDirty(link);
    return true;
  }

  /** Write held records in order while the ring has room. */
  private writeHeld(link: ShardLink, conn: Connection): void {
    while (conn.held.length > 0) {
      const { kind, bytes } = conn.held[0]!;
      if (!this.tryWrite(link, conn, kind, bytes, 0, bytes.length)) return;
      conn.held.shift();
      conn.heldBytes -= bytes.length;
    }
    // Emptied by shift(), the array would keep its backing store for the connection's life.
    conn.held.length = 0;
  }

  /** Pause reading until the held records are in the ring (backpressure from a busy shard). */
  private waitForRing(link: ShardLink, conn: Connection): void {
    if (conn.waitingForRing) return;
    conn.waitingForRing = true;
    conn.transport.pause();
    void (async () => {
      while (conn.held.length > 0 && running(link)) {
        link.inbound.flush();
        await link.inbound.waitForSpace();
        this.writeHeld(link, conn);
      }
      conn.waitingForRing = false;
      if (conn.state === ConnState.ROUTED) conn.transport.resume();
    })();
  }

  /**
   * Publish what a read wrote to a shard's ring. The turn's first write to a sleeping shard wakes
   * it at once, so that the first message does not wait for the turn's other reads (lat-10k p99
   * 0.64–1.02×, p50 0.63–0.94×, bench/HISTORY.md, "every lat-10k message leaves by the shard's own write"); the rest of
   * the turn's records are published together after its last read, so a turn wakes a shard at
   * most twice. The price: 1–10 % more CPU at 100k msg/s, where the shard often sleeps; none at
   * saturation, where it never does.
   */
  private markDirty(link: ShardLink): void {
    if (this.dirty[link.index] !== link) {
      link.inbound.flushIfConsumerSleeps();
      this.dirty[link.index] = link;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushDirty);
  }

  private readonly flushDirty = (): void => {
    this.flushScheduled = false;
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const link = dirty[i];
      if (link === undefined) continue;
      dirty[i] = undefined;
      link.inbound.flush();
    }
  };

  private liveLink(conn: Connection): ShardLink | undefined {
    const link = this.pool.link(conn.shard);
    return link && link.generation === conn.shardGeneration ? link : undefined;
  }

  // ── outbound ─────────────────────────────────────────────────────────────────────────────

  private fromShard(link: ShardLink, kind: number, id: number, offset: number, len: number): void {
    const conn = this.connections[id];
    if (!conn || conn.shard !== link.index || conn.shardGeneration !== link.generation) return;
    switch (kind) {
      case RecordKind.DATA:
        if (conn.socketClosed) return;
        if (conn.outBytes === 0) this.outConns.push(conn);
        conn.outBytes += len;
        this.outSpans.push(id, offset, len);
        return;
      case RecordKind.CLOSE:
        // What came before the CLOSE is written first (it is the DISCONNECT, or the last acks).
        this.writeOut(link);
        conn.state = ConnState.CLOSING;
        conn.transport.end();
        return;
      case RecordKind.CLOSED:
        this.release(conn);
        return;
    }
  }

  /**
   * Write the batch's records: one Buffer and one write per connection, however many records it
   * got, so a batch costs one copy out of the ring (the ring is reused once the batch is released)
   * and one syscall per socket.
   */
  private writeOut(link: ShardLink): void {
    const spans = this.outSpans;
    if (spans.length === 0) return;
    const conns = this.outConns;
    for (const conn of conns) {
      conn.outBuf = Buffer.allocUnsafe(conn.outBytes);
      conn.outPos = 0;
    }
    const u8 = link.u8;
    for (let i = 0; i < spans.length; i += 3) {
      const conn = this.connections[spans[i]!];
      if (!conn?.outBuf) continue; // released within the batch: nothing to write to
      const offset = spans[i + 1]!;
      const len = spans[i + 2]!;
      conn.outBuf.set(u8.subarray(offset, offset + len), conn.outPos);
      conn.outPos += len;
    }
    for (const conn of conns) {
      const bytes = conn.outBuf!;
      conn.outBuf = undefined;
      conn.outBytes = 0;
      if (conn.socketClosed) continue;
      this.counters.bytesOut += bytes.length;
      if (!conn.transport.write(bytes) && !conn.congested) {
        // A slow reader: the shard stops sending to it (queues QoS 1/2, drops QoS 0) so that
        // nothing grows without bound here. Records already in the ring still come.
        conn.congested = true;
        this.toShard(link, conn, RecordKind.CONGESTED, EMPTY);
      }
    }
    spans.length = 0;
    conns.length = 0;
  }

  private release(conn: Connection): void {
    if (this.connections[conn.id] !== conn) return;
    conn.state = ConnState.CLOSED;
    this.connections[conn.id] = undefined;
    this.freeIds.push(conn.id);
  }

  /** A shard died: its connections lose their sessions' thread, so they are closed and forgotten. */
  private shardExited(index: number): void {
    for (const conn of this.connections) {
      if (!conn || conn.shard !== index || conn.state < ConnState.ROUTED) continue;
      conn.transport.destroy();
      conn.socketClosed = true;
      this.release(conn);
    }
  }
}

/** Size of the whole packet at the start of a framed run (the framer guarantees it is complete). */
function packetSize(run: Uint8Array): number {
  let value = 0;
  let i = 1;
  for (let shift = 0; i < 5; i++, shift += 7) {
    value += (run[i]! & 0x7f) * 2 ** shift;
    if ((run[i]! & 0x80) === 0) break;
  }
  return i + 1 + value;
}

/** The Protocol Level byte of a CONNECT (to answer in the client's version), or 0. */
function protocolLevel(connect: Uint8Array): number {
  let i = 1;
  while (i < 5 && (connect[i]! & 0x80) !== 0) i++;
  const nameAt = i + 1;
  if (nameAt + 2 > connect.length) return 0;
  const level = nameAt + 2 + ((connect[nameAt]! << 8) | connect[nameAt + 1]!);
  return level < connect.length ? connect[level]! : 0;
}

/** Rings big enough for two of the largest packets, at least 1 MiB. */
function ringFor(maxPacketSize: number): number {
  let capacity = 1 << 20;
  while ((capacity >> 1) - 64 < maxPacketSize + 16) capacity *= 2;
  return capacity;
}
