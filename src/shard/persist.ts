// What a shard writes to the store, and what it reads back at start-up. Only persistent sessions
// (Session Expiry > 0, or Clean Session 0 in 3.1.1) are stored; a clean session's traffic never
// touches the disk. The session's outbound messages are mirrored through the Outbound observer:
// a message is written when it enters the session (with its packet identifier when it is sent at
// once), rewritten when a queued one is sent or its PUBREC comes, and removed when it leaves.
// The identifiers must survive a crash: unacknowledged PUBLISHes are re-sent with their original
// ones [MQTT-3.1.1 4.4.0-1] [MQTT-5.0 4.4.0-1], and a receiver holding a QoS 2 PUBLISH would take
// one under a new identifier for a new message.
//
// `dirty` says whether the packet being handled wrote something that must be durable before it
// is acknowledged (a message stored for a session, a retained message, an inbound QoS 2 id).
import type { OutboundObserver } from '../session/outbound.js';
import { OutboundState } from '../session/outbound.js';
import { Session, type StoredMessage } from '../session/session.js';
import { shardOf } from '../protocol/shard-of.js';
import {
  MessageState,
  type MessageStateValue,
  type PersistedMessage,
  type PersistedSession,
  type SessionStore,
} from '../store/store.js';
import type { MqttShard, SessionTimer } from './mqtt-shard.js';
import type { RetainedMessage } from './retain.js';

const NEVER = 0xffffffff;

/** The stored state of a message that went out with an identifier. */
function sentState(m: StoredMessage): MessageStateValue {
  return m.qos === 1 ? MessageState.AWAIT_PUBACK : MessageState.AWAIT_PUBREC;
}

/** Stored state → the flow to restore (QUEUED: none, it is queued again). */
const FLOW_STATE = [
  undefined,
  OutboundState.AWAIT_PUBACK,
  OutboundState.AWAIT_PUBREC,
  OutboundState.AWAIT_PUBCOMP,
] as const;

export class Persistence {
  /** Something durable was written since the last reset. */
  dirty = false;
  /** A copy for a persistent session was refused since the last reset: the store is full. */
  refused = false;

  constructor(
    private readonly shard: MqttShard,
    readonly store: SessionStore,
    /** --store-max-mb in bytes: past it, new messages for persistent sessions are refused. */
    private readonly maxBytes: number,
  ) {}

  /** The store holds as much as it may (pages in use; LMDB itself would grow the map). */
  get full(): boolean {
    return this.store.sizeBytes >= this.maxBytes;
  }

  static isPersistent(session: Session): boolean {
    return session.expiryInterval > 0;
  }

  /**
   * Write the session's record (connect, subscribe, unsubscribe, disconnect, will fired), or
   * remove it from the store when it is no longer persistent.
   */
  saveSession(session: Session, disconnectedAt = session.online ? 0 : Date.now()): void {
    if (!Persistence.isPersistent(session)) {
      this.removeSession(session);
      return;
    }
    const record: PersistedSession = {
      clientId: session.clientId,
      version: session.version,
      expiryInterval: session.expiryInterval,
      disconnectedAt,
      subscriptions: [...session.subscriptions].map(([key, s]) => ({
        key,
        filter: s.filter,
        options: s.options,
      })),
      will: session.will,
    };
    this.store.putSession(record);
    this.dirty = true;
    if (!session.persisted) {
      session.persisted = true;
      session.outbound.observer = this.observer(session);
      // Whatever it already holds is stored now (a session that became persistent).
      for (const f of session.outbound.inflight())
        if (f.message.seq === undefined) this.added(session, f.message, f.id);
      for (const m of session.outbound.messages()) if (m.seq === undefined) this.added(session, m, 0);
    }
  }

  removeSession(session: Session): void {
    if (!session.persisted) return;
    session.persisted = false;
    session.outbound.observer = null;
    for (const m of session.outbound.messages()) m.seq = undefined;
    this.store.removeSession(session.clientId);
  }

  inbound(session: Session, packetId: number, held: boolean): void {
    if (!session.persisted) return;
    if (held) this.store.putInboundQos2(session.clientId, packetId);
    else this.store.removeInboundQos2(session.clientId, packetId);
    this.dirty = true;
  }

  retained(topic: string, message: RetainedMessage | null): void {
    if (isSys(topic)) return;
    this.store.putRetained(topic, message);
    this.dirty = true;
  }

  private observer(session: Session): OutboundObserver<StoredMessage> {
    return {
      added: (m, id) => this.added(session, m, id),
      sent: (m, id) => this.put(session, m, sentState(m), id),
      released: (m, id) => this.put(session, m, MessageState.AWAIT_PUBCOMP, id),
      done: (m) => {
        if (m.seq !== undefined) this.store.removeMessage(session.clientId, m.seq);
      },
    };
  }

  private added(session: Session, m: StoredMessage, id: number): void {
    m.seq = session.nextSeq++;
    this.put(session, m, id === 0 ? MessageState.QUEUED : sentState(m), id);
    this.dirty = true;
  }

  private put(session: Session, m: StoredMessage, state: MessageStateValue, packetId: number): void {
    const record: PersistedMessage = {
      seq: m.seq!,
      state,
      packetId,
      bytes: m.bytes,
      version: m.version,
      qos: m.qos,
      retain: m.retain,
      subIds: m.subIds,
      expiresAt: m.expiresAt,
    };
    this.store.putMessage(session.clientId, record);
  }

  /**
   * Start-up: the retained messages, and the sessions this shard owns, with their subscriptions,
   * messages, inbound QoS 2 identifiers, expiry and pending wills. Returns how many sessions.
   */
  restore(): number {
    const { shard, store } = this;
    const now = Date.now();
    for (const [topic, m] of store.loadRetained()) {
      // A $SYS message kept by a version before they were left out: dropped.
      if (isSys(topic)) store.putRetained(topic, null);
      else if (m.expiresAt === 0 || m.expiresAt > now) shard.retained.set(topic, m);
    }
    let count = 0;
    const owns = (id: string) => shardOf(id, shard.ctx.shards) === shard.ctx.index;
    for (const { session: p, messages, inboundQos2 } of store.loadSessions(owns)) {
      // A session that was online when the broker stopped ends its connection now.
      const endedAt = p.disconnectedAt || now;
      if (p.expiryInterval !== NEVER && endedAt + p.expiryInterval * 1000 <= now) {
        store.removeSession(p.clientId);
        continue;
      }
      const session = new Session(
        p.clientId,
        shard.newHandle(),
        shard.config.maxInflight,
        shard.config.maxQueued,
      );
      session.version = p.version;
      session.expiryInterval = p.expiryInterval;
      session.will = p.will;
      shard.registerSession(session);
      for (const s of p.subscriptions) shard.subscribe(session, s.key, s.filter, s.options);
      for (const id of inboundQos2) session.inboundQos2.add(id);
      let last = 0;
      for (const r of messages) {
        last = Math.max(last, r.seq);
        if (r.expiresAt > 0 && r.expiresAt <= now) {
          store.removeMessage(p.clientId, r.seq);
          continue;
        }
        const m: StoredMessage = {
          bytes: r.bytes,
          version: r.version,
          qos: r.qos,
          retain: r.retain,
          subIds: r.subIds,
          expiresAt: r.expiresAt,
          seq: r.seq,
        };
        const state = FLOW_STATE[r.state];
        if (!(state && session.outbound.restore(r.packetId, state, m)) && !session.outbound.enqueue(m))
          store.removeMessage(p.clientId, r.seq); // over --max-queued now
      }
      session.nextSeq = last + 1;
      session.persisted = true;
      session.outbound.observer = this.observer(session);
      this.scheduleOffline(session, Math.floor(endedAt / 1000));
      count++;
    }
    return count;
  }

  /** The will (not before a second from now: the other shards must be up) and the expiry of an offline session. */
  private scheduleOffline(session: Session, endedAt: number): void {
    const { shard } = this;
    const now = shard.nowSeconds();
    if (session.will) {
      const due = endedAt + Math.min(session.will.delay, session.expiryInterval);
      const timer: SessionTimer = {
        kind: 'will',
        session,
        epoch: session.epoch,
        deadline: Math.max(due, now + 1),
      };
      shard.wheel.schedule(timer);
    }
    if (session.expiryInterval !== NEVER) {
      const timer: SessionTimer = {
        kind: 'expiry',
        session,
        epoch: session.epoch,
        deadline: endedAt + session.expiryInterval,
      };
      shard.wheel.schedule(timer);
    }
  }
}

/**
 * The broker's own $SYS messages are not kept: it publishes them again after a restart, and kept
 * ones would show the last run's uptime and counters until then (Mosquitto leaves them out of its
 * store for the same reason). Writing them also cost a store commit every $SYS interval, which
 * stalled the shard's deliveries for 3–7 ms at lat-10k (bench/HISTORY.md, "$SYS in the store").
 */
function isSys(topic: string): boolean {
  return topic.startsWith('$SYS/') || topic === '$SYS';
}
