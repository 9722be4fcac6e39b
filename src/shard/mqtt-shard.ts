// The MQTT logic of one shard: the sessions whose client IDs hash here, their connections, the
// shard's subscription index and retained messages. It receives whole packets from the gateway
// (records in the inbound ring), decodes them in place with the WASM codec, dispatches them to the
// handlers, and writes its packets into the outbound ring.
import { getHeapStatistics } from 'node:v8';
import { copyOut, own } from '../protocol/bytes.js';
import { Codec } from '../protocol/codec.js';
import { PacketType, type ProtocolVersion } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { WeirError } from '../errors.js';
import { SubscriptionIndex } from '../protocol/topic.js';
import { RecordKind } from '../ring/records.js';
import type { RingProducer } from '../ring/spsc-ring.js';
import type { Session, SubscriptionOptions } from '../session/session.js';
import { TimerWheel, type WheelEntry } from '../session/timer-wheel.js';
import { Channel, ChannelState } from './channel.js';
import { deliverForwarded, drainQueue } from './delivery.js';
import { connectionLost } from './handlers/close.js';
import { handleOpen } from './handlers/connect.js';
import { dispatch } from './handlers/index.js';
import { injectPublish, publishWill } from './handlers/broker-publish.js';
import type { ShardContext, ShardLogic, StartupReport } from './logic.js';
import { DurableAcks } from './durable-acks.js';
import { directBytes } from './direct-write.js';
import { Output, WriteResult } from './output.js';
import { FORWARD_ANSWER, FORWARD_DELIVER, FORWARD_RETAIN } from './peer-records.js';
import { Persistence } from './persist.js';
import type { SessionStore } from '../store/store.js';
import { MatcherFull } from './matcher-full.js';
import { Peers } from './peers.js';
import { RetainStore } from './retain.js';

/** Queued messages the expiry sweep looks at per tick (about a millisecond of work). */
const SWEEP_BUDGET = 20_000;

/** How packets from clients are decoded: client rules, and Payload Format Indicator 1 checked (0x99). */
const CLIENT_DECODE = Codec.flags({ fromClient: true, validatePayloadUtf8: true });

/** The limits a shard enforces (a subset of the broker's configuration). */
export interface ShardConfig {
  maxPacketSize: number;
  receiveMaximum: number;
  maxInflight: number;
  maxQueued: number;
  keepAliveMin: number;
  keepAliveMax: number;
  /** Topic Alias Maximum announced to clients (0: none). */
  topicAliasMaximum: number;
  /** Queue QoS 0 messages for offline persistent sessions. */
  queueQos0: boolean;
  /** The store: where, how durable, how large. */
  durability: 'flush' | 'interval' | 'memory';
  dataDir: string;
  flushIntervalMs: number;
  storeMaxBytes: number;
}

/** Deferred work in the wheel besides keep-alive: a will delay or a session expiry. */
export interface SessionTimer extends WheelEntry {
  kind: 'will' | 'expiry';
  session: Session;
  epoch: number;
}

export class MqttShard implements ShardLogic {
  readonly codec: Codec;
  readonly index: SubscriptionIndex;
  readonly output: Output;
  readonly retained: RetainStore;
  /** The other shards: the route table and the rings to them. */
  readonly peers: Peers;
  /** The store's side of the shard (null with durability "memory"). */
  persist: Persistence | null = null;
  /** Acks that wait for the store (durability "flush"). */
  readonly acks: DurableAcks;
  /** Filters refused because the matcher's memory is full, and the operator's warning. */
  readonly matcherFull: MatcherFull;
  /** Ack after durable is in force. */
  waitsForStore = false;
  /** Tokens for FORWARDs whose answer an ack waits for. */
  readonly tokenFor = (shard: number): number => this.acks.token(shard);
  readonly channels = new Map<number, Channel>();
  readonly sessions = new Map<string, Session>();
  /** Sessions by their handle in the subscription index. */
  readonly byHandle: Array<Session | undefined> = [];
  private readonly freeHandles: number[] = [];
  readonly wheel: TimerWheel<Channel | SessionTimer>;
  /** Sessions with queued messages waiting for room in the outbound ring. */
  readonly pendingDrain = new Set<Session>();
  /** Bytes of output that must fit before the next packet is handled. */
  private readonly headroom: number;
  /** How far into the current DATA record packets were handled, when output filled up. */
  private resumeAt = 0;
  private readonly tick: NodeJS.Timeout;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A staging region for re-decoding stored messages (wills, queued, retained). */
  readonly staging: { ptr: number; cap: number };
  /** Where a topic resolved from an inbound Topic Alias is placed for the codec's record. */
  readonly aliasTopic: number;
  readonly stats = { messagesIn: 0, messagesOut: 0, dropped: 0 };
  /** What start-up restored from the store (set by the logic module). */
  startup: StartupReport | undefined;
  /** Where the packet being handled lies in WASM memory (the codec's record has its fields). */
  packetPtr = 0;
  packetLen = 0;

  constructor(
    readonly ctx: ShardContext,
    readonly config: ShardConfig,
  ) {
    this.codec = new Codec(ctx.wasm);
    this.index = new SubscriptionIndex(ctx.wasm);
    this.matcherFull = new MatcherFull(ctx.index, ctx.wasm.memory.buffer.byteLength);
    this.output = new Output(ctx.out, this.codec);
    this.retained = new RetainStore(ctx.wasm, () => this.matcherFull.refused());
    this.peers = new Peers(this, ctx.index, ctx.shards);
    this.acks = new DurableAcks(this);
    this.wheel = new TimerWheel(this.nowSeconds());
    this.headroom = Math.min(config.maxPacketSize + 1024, ctx.out.maxPayload);
    // Room for the largest packet plus a topic an alias stood for (re-encoded for storing).
    const stagingCap = config.maxPacketSize + 65536;
    this.staging = { ptr: ctx.wasm.reserve(stagingCap, 'the shard staging region'), cap: stagingCap };
    this.aliasTopic = ctx.wasm.reserve(65535, 'the topic alias region');
    this.tick = setInterval(() => this.onTick(), 1000);
    this.tick.unref();
  }

  nowSeconds(): number {
    return Math.floor(performance.timeOrigin / 1000 + performance.now() / 1000);
  }

  /**
   * Room for the output of one packet: towards the gateway and, when other shards run, towards
   * each of them (a PUBLISH, a will fired by a takeover or a close may be forwarded).
   */
  private hasRoom(): boolean {
    if (!this.output.hasRoom(this.headroom)) return false;
    return !this.peers.active || this.peers.hasRoom(this.headroom);
  }

  /** Use `store` for persistent sessions, and restore what it holds; returns the sessions restored. */
  attachStore(store: SessionStore): number {
    this.persist = new Persistence(this, store, this.config.storeMaxBytes);
    this.waitsForStore = this.config.durability === 'flush';
    return this.persist.restore();
  }

  record(kind: number, conn: number, ptr: number, len: number): boolean {
    this.retryOutput();
    switch (kind) {
      case RecordKind.OPEN:
        if (!this.hasRoom()) return false;
        handleOpen(this, conn, ptr, len);
        return true;
      case RecordKind.DATA:
        return this.data(conn, ptr, len);
      case RecordKind.INJECT:
        if (!this.hasRoom()) return false;
        injectPublish(this, ptr, len);
        return true;
      case RecordKind.CONGESTED:
      case RecordKind.DRAINED: {
        const ch = this.channels.get(conn);
        if (!ch) return true;
        ch.congested = kind === RecordKind.CONGESTED;
        if (!ch.congested) this.pendingDrain.add(ch.session);
        return true;
      }
      case RecordKind.CLOSE: {
        if (!this.hasRoom()) return false;
        const ch = this.channels.get(conn);
        if (ch) connectionLost(this, ch);
        return this.output.closed(conn);
      }
      default:
        return true;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.tick);
    clearTimeout(this.retryTimer);
    await this.persist?.store.close();
  }

  peerRecord(from: number, kind: number, conn: number, ptr: number, len: number): boolean {
    if (kind === RecordKind.ROUTE) {
      this.peers.route(from, ptr);
      return true;
    }
    if (kind === RecordKind.ACK) {
      this.acks.answered(conn, len > 0 && this.ctx.wasm.u8[ptr] === 1);
      return true;
    }
    if (kind !== RecordKind.FORWARD) return true;
    if (!this.output.hasRoom(this.headroom)) return false;
    this.acks.begin();
    const h = this.peers.readForward(ptr, len);
    if (this.codec.decodeAt(h.publishPtr, h.publishLen, h.version) !== h.publishLen) return true;
    const { publishPtr, publishLen } = h;
    const bytes = () => copyOut(this.ctx.wasm.u8, publishPtr, publishPtr + publishLen);
    const view = this.codec.view;
    if (h.flags & FORWARD_RETAIN) {
      const topic = Buffer.from(this.ctx.wasm.u8.buffer, view.topicPtr, view.topicLen).toString('utf8');
      const kept = { bytes: own(bytes()), version: h.version, expiresAt: h.expiresAt };
      this.retained.set(topic, view.payloadLen === 0 ? null : kept);
    }
    if (h.flags & FORWARD_DELIVER) {
      deliverForwarded(this, {
        from: null,
        qos: view.qos as 0 | 1 | 2,
        retain: view.retain,
        version: h.version,
        ptr: publishPtr,
        len: publishLen,
        bytes,
        expiresAt: h.expiresAt,
      });
    }
    if (h.flags & FORWARD_ANSWER) this.acks.forwarded(from, conn);
    return true;
  }

  peerUp(index: number, ring: RingProducer, syncRetained: boolean): void {
    this.peers.up(index, ring, syncRetained);
  }

  peerDown(index: number): void {
    this.peers.down(index);
    this.acks.peerDown(index);
  }

  waitingForPeer(): boolean {
    return this.peers.waiting;
  }

  /**
   * The end of a batch. Sessions that a DRAINED record made sendable again, or that waited for
   * room in the outbound ring, are served here rather than at the next record or the next tick:
   * a slow reader that catches up gets its queue at once, not a second later per window.
   */
  flush(): void {
    this.retryOutput();
    this.acks.commit();
    if (this.peers.active) this.peers.flush();
  }

  /** Publish what was written outside the batch loop (acks released by a store flush). */
  flushOutput(): void {
    this.retryOutput();
    if (this.peers.active) this.peers.flush();
    this.ctx.out.flush();
  }

  busy(): boolean {
    return this.peers.active && this.peers.busy;
  }

  awaitsLoop(): boolean {
    return this.retryTimer !== undefined || this.acks.flushing;
  }

  /**
   * Queued messages and acks that found the outbound ring full, written now if they fit. What
   * still does not fit is looked at again within a millisecond: a publisher waiting for its
   * PUBACK sends nothing that would bring the shard back, nor does a slow reader after DRAINED.
   */
  private retryOutput(): void {
    if (this.pendingDrain.size > 0) this.drainPending();
    this.acks.retry();
    if ((this.pendingDrain.size > 0 || this.acks.hasBlocked) && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flushOutput();
      }, 1);
    }
  }

  /**
   * Subscribe a session (the full filter as the client sent it is the key); returns true when it
   * replaced a subscription of the session to the same filter [MQTT-5.0 3.8.4-3].
   */
  /**
   * Add (or replace) a session's subscription. Returns whether it existed, or undefined when the
   * topic matcher's memory is full and nothing was added (the caller refuses the filter).
   */
  subscribe(
    session: Session,
    key: string,
    filter: string,
    options: SubscriptionOptions,
  ): boolean | undefined {
    const existed = session.subscriptions.has(key);
    try {
      this.index.add(filter, { handle: session.handle, ...options });
    } catch (error) {
      if ((error as WeirError).code !== 'ERR_WASM_MEMORY') throw error;
      this.matcherFull.refused();
      return undefined;
    }
    session.subscriptions.set(key, { filter, options });
    if (!existed) this.peers.localAdded(filter, options.group);
    return existed;
  }

  /** Remove a session's subscription by its full filter; false when there was none. */
  unsubscribe(session: Session, key: string): boolean {
    const sub = session.subscriptions.get(key);
    if (!sub) return false;
    session.subscriptions.delete(key);
    this.index.remove(sub.filter, session.handle, sub.options.group);
    this.peers.localRemoved(sub.filter, sub.options.group);
    return true;
  }

  /** Handle the packets of one record, pausing between packets when output is short of room. */
  private data(conn: number, ptr: number, len: number): boolean {
    const ch = this.channels.get(conn);
    if (!ch || ch.state !== ChannelState.CONNECTED) return true;
    ch.lastSeen = this.nowSeconds();
    let at = this.resumeAt;
    while (at < len) {
      if (!this.hasRoom()) {
        this.resumeAt = at;
        return false;
      }
      const n = this.codec.decodeAtFlags(
        ptr + at,
        len - at,
        ch.version,
        CLIENT_DECODE,
        this.config.maxPacketSize,
      );
      if (n <= 0) {
        // The gateway hands over whole packets only, so "need more" means a length field lied.
        this.disconnect(ch, n === 0 ? ReasonCode.MALFORMED_PACKET : -n, this.codec.errorReason());
        break;
      }
      this.packetPtr = ptr + at;
      this.packetLen = n;
      dispatch(this, ch);
      if (ch.state !== ChannelState.CONNECTED) break;
      at += n;
    }
    this.resumeAt = 0;
    return true;
  }

  /**
   * End a connection for a protocol reason: MQTT 5 clients get DISCONNECT with the reason code
   * and string (MQTT 5.0 §4.13.1); 3.1.1 has no DISCONNECT from the server, so the connection is
   * closed [MQTT-3.1.1 4.8.0-1].
   */
  disconnect(ch: Channel, reasonCode: number, reason?: string): void {
    if (ch.state !== ChannelState.CONNECTED) return;
    // Before its CONNACK a client gets nothing [MQTT-5.0 3.2.0-1]: the connection just closes.
    if (ch.version === 5 && !ch.connackPending) {
      const properties = reason && reason.length < 200 ? { reasonString: reason } : undefined;
      const sent = this.output.packet(
        ch.conn,
        { cmd: 'disconnect', reasonCode, properties },
        5,
        ch.maxPacketSize,
      );
      // The Reason String is the part the client's Maximum Packet Size can refuse: send without
      // it rather than exceed the limit [MQTT-5.0 3.1.2-24] [MQTT-5.0 3.14.2-3].
      if (sent === WriteResult.TOO_LARGE) this.output.packet(ch.conn, { cmd: 'disconnect', reasonCode }, 5);
    }
    ch.state = ChannelState.CLOSING;
    this.output.close(ch.conn);
  }

  newHandle(): number {
    const h = this.freeHandles.pop() ?? this.byHandle.length;
    return h;
  }

  registerSession(session: Session): void {
    this.sessions.set(session.clientId, session);
    this.byHandle[session.handle] = session;
  }

  /** Forget a session: its subscriptions, queued messages and handle. */
  dropSession(session: Session): void {
    // Idempotent: a takeover can end a session (expiry 0) that a Clean Start then ends again, and
    // a handle freed twice would be given to two sessions.
    if (this.byHandle[session.handle] !== session) return;
    if (session.hasSubscriptions)
      for (const key of [...session.subscriptions.keys()]) this.unsubscribe(session, key);
    this.persist?.removeSession(session);
    session.epoch++;
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    this.byHandle[session.handle] = undefined;
    this.freeHandles.push(session.handle);
  }

  /** Copy stored PUBLISH bytes into WASM memory and decode them; false if they do not fit. */
  decodeStored(bytes: Uint8Array, version: ProtocolVersion): boolean {
    if (bytes.length > this.staging.cap) return false;
    this.ctx.wasm.u8.set(bytes, this.staging.ptr);
    const n = this.codec.decodeAt(this.staging.ptr, bytes.length, version);
    return n > 0 && this.codec.view.type === PacketType.PUBLISH;
  }

  private drainPending(): void {
    for (const session of this.pendingDrain) {
      if (!this.output.hasRoom(this.headroom)) return;
      drainQueue(this, session);
    }
  }

  /** Where the sweep for expired queued messages stopped last time (a live Map iterator). */
  private sweep: Iterator<Session> | undefined;

  /**
   * Remove expired messages from offline sessions' queues (and so from the store), looking at
   * no more than SWEEP_BUDGET messages a tick so that a large backlog never stalls the shard;
   * online sessions drop theirs as they reach the front [MQTT-5.0 3.3.2-5].
   */
  private sweepExpired(): void {
    const now = Date.now();
    const expired = (m: { expiresAt: number }) => m.expiresAt > 0 && m.expiresAt <= now;
    let budget = SWEEP_BUDGET;
    for (;;) {
      this.sweep ??= this.sessions.values();
      const next = this.sweep.next();
      if (next.done) {
        this.sweep = undefined;
        return;
      }
      const session = next.value;
      if (!session.online && session.outbound.queuedCount > 0)
        budget -= session.outbound.dropExpired(expired);
      if (budget <= 0) return;
    }
  }

  private onTick(): void {
    this.sweepExpired();
    this.ctx.port.postMessage({
      type: 'stats',
      sessions: this.sessions.size,
      connections: this.channels.size,
      subscriptions: this.index.size,
      retained: this.retained.size,
      ...this.stats,
      forwarded: this.peers.stats.forwarded,
      storeBytes: this.persist?.store.sizeBytes ?? 0,
      heapBytes: getHeapStatistics().used_heap_size,
      directBytes: directBytes(this.ctx.out),
    });
    this.wheel.advance(this.nowSeconds(), (entry) => {
      if (entry instanceof Channel) this.keepAliveDue(entry);
      else this.sessionTimerDue(entry);
    });
    this.flush();
    this.ctx.out.flush();
  }

  /** 1.5 × keep-alive without a packet: the client is gone [MQTT-5.0 3.1.2-22] [MQTT-3.1.1 3.1.2-24]. */
  private keepAliveDue(ch: Channel): void {
    if (ch.state !== ChannelState.CONNECTED || this.channels.get(ch.conn) !== ch) return;
    const due = ch.lastSeen + Math.ceil(ch.keepAlive * 1.5);
    if (due > this.nowSeconds()) {
      ch.deadline = due;
      this.wheel.schedule(ch);
      return;
    }
    this.disconnect(ch, ReasonCode.KEEP_ALIVE_TIMEOUT);
  }

  private sessionTimerDue(timer: SessionTimer): void {
    const { session } = timer;
    if (session.epoch !== timer.epoch) return; // the client came back, or the session ended
    if (timer.kind === 'will') {
      publishWill(this, session);
      return;
    }
    this.dropSession(session);
  }
}
