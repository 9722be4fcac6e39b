// A session's outbound QoS 1/2 messages: those in flight (sent, awaiting their acks) and those
// queued behind them. Pure state: the handlers decide what to send from what this returns.
//
// Flow of one message, by QoS (the states of OutboundState):
//   QoS 1: send PUBLISH ─► AWAIT_PUBACK ──PUBACK──► done
//   QoS 2: send PUBLISH ─► AWAIT_PUBREC ──PUBREC──► send PUBREL ─► AWAIT_PUBCOMP ──PUBCOMP──► done
// The number in flight is bounded by the client's Receive Maximum [MQTT-5.0 4.9.0-2] and our
// own maxInflight; the queue by maxQueued, past which the oldest QoS 0 messages are dropped first
// and then new ones are refused (the caller counts and reports what it dropped).
import { PacketIds } from './packet-ids.js';

export const OutboundState = {
  AWAIT_PUBACK: 1,
  AWAIT_PUBREC: 2,
  AWAIT_PUBCOMP: 3,
} as const;
export type OutboundStateValue = (typeof OutboundState)[keyof typeof OutboundState];

/** What the session keeps of a message: opaque to this module (the shard keeps encoded bytes). */
export interface OutboundMessage {
  qos: 0 | 1 | 2;
  /** Set by the observer when the message is stored (its key in the store). */
  seq?: number;
}

/**
 * Told of every change to the messages a session holds, so a persistent session can mirror them
 * in the store: a message came in (`added`: queued with id 0, or sent at once with its
 * identifier), a queued message went out with its identifier (`sent`), its PUBREC came
 * (`released`), or it left the session for good (`done`: acknowledged, expired, dropped). The
 * identifiers matter: after a reconnect, unacknowledged PUBLISHes are re-sent with their
 * original ones [MQTT-3.1.1 4.4.0-1] [MQTT-5.0 4.4.0-1].
 */
export interface OutboundObserver<M extends OutboundMessage> {
  added(message: M, id: number): void;
  sent(message: M, id: number): void;
  released(message: M, id: number): void;
  done(message: M): void;
}

export interface Inflight<M extends OutboundMessage> {
  id: number;
  state: OutboundStateValue;
  message: M;
}

export const AckResult = {
  /** The flow advanced or completed. */
  OK: 0,
  /** No flow has this identifier (MQTT 5: 0x92 Packet Identifier not found, for PUBREL/PUBCOMP). */
  UNKNOWN_ID: 1,
  /** The identifier is in flight, but this ack does not fit its state (a protocol error). */
  WRONG_STATE: 2,
} as const;
export type AckResultValue = (typeof AckResult)[keyof typeof AckResult];

const NO_FLIGHTS: ReadonlyMap<number, never> = new Map<number, never>();

export class Outbound<M extends OutboundMessage> {
  private readonly ids = new PacketIds();
  /**
   * In flight, in the order sent: re-sent in this order on reconnect [MQTT-5.0 4.4.0-1]. Made
   * at the first QoS 1/2 delivery, like `unsent` at the first reconnect with flows: an empty Map
   * costs about 150 bytes, and most sessions of a large fleet never need one.
   */
  private flights: Map<number, Inflight<M>> | null = null;
  /**
   * Flows in flight that this connection has not been sent yet: after a reconnect every flow is
   * re-sent, but only as many at a time as the (possibly smaller) window allows; the rest keep
   * their packet identifiers (QoS 2 must) and go as acks come in [MQTT-5.0 3.3.4-9].
   */
  private unsent: Set<number> | null = null;
  private readonly queue: M[] = [];
  private queueHead = 0;
  /** min(client's Receive Maximum, our maxInflight); changes at every CONNECT. */
  window: number;
  observer: OutboundObserver<M> | null = null;

  constructor(
    window: number,
    private readonly maxQueued: number,
  ) {
    this.window = window;
  }

  get inflightCount(): number {
    return this.flights?.size ?? 0;
  }

  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Room for one more new QoS 1/2 message in flight now (flows waiting to be re-sent go first). */
  get canSend(): boolean {
    return (this.unsent?.size ?? 0) === 0 && this.inflightCount < this.window;
  }

  /** A reconnect: every flow in flight must be sent again on the new connection. */
  markAllUnsent(): void {
    if (!this.flights?.size) return;
    const unsent = (this.unsent ??= new Set());
    for (const id of this.flights.keys()) unsent.add(id);
  }

  /** The next flow to re-send, if the window has room for it (oldest first), now marked sent. */
  nextResend(): Inflight<M> | undefined {
    const unsent = this.unsent;
    if (!unsent?.size || this.inflightCount - unsent.size >= this.window) return undefined;
    const id = unsent.values().next().value as number;
    unsent.delete(id);
    return this.flights?.get(id);
  }

  /** Start the flow of a QoS 1/2 message: its packet identifier, or 0 when none is free. */
  send(message: M): number {
    const id = this.ids.alloc();
    if (id === 0) return 0;
    const state = message.qos === 1 ? OutboundState.AWAIT_PUBACK : OutboundState.AWAIT_PUBREC;
    (this.flights ??= new Map()).set(id, { id, state, message });
    if (this.observer) {
      if (message.seq === undefined) this.observer.added(message, id);
      else this.observer.sent(message, id);
    }
    return id;
  }

  /**
   * Keep a message for later (window full, or the client is offline). False when the queue is
   * full and nothing older could make room: the caller drops the message and counts it.
   */
  enqueue(message: M): boolean {
    if (this.queuedCount >= this.maxQueued && !this.dropOldestQos0()) return false;
    this.queue.push(message);
    if (message.seq === undefined) this.observer?.added(message, 0);
    return true;
  }

  /** The next queued message, removed from the queue; undefined when empty. */
  dequeue(): M | undefined {
    if (this.queueHead === this.queue.length) return undefined;
    const m = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as M;
    // Compact now and then, so a long-lived queue does not keep its consumed head alive.
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return m;
  }

  puback(id: number): AckResultValue {
    return this.finish(id, OutboundState.AWAIT_PUBACK);
  }

  /** PUBREC: the flow moves to AWAIT_PUBCOMP (the caller sends PUBREL). */
  pubrec(id: number): AckResultValue {
    const f = this.flights?.get(id);
    if (!f) return AckResult.UNKNOWN_ID;
    // A repeated PUBREC (after a reconnect) is answered with PUBREL again [MQTT-5.0 4.3.3-4].
    if (f.state === OutboundState.AWAIT_PUBCOMP) return AckResult.OK;
    if (f.state !== OutboundState.AWAIT_PUBREC) return AckResult.WRONG_STATE;
    f.state = OutboundState.AWAIT_PUBCOMP;
    this.observer?.released(f.message, id);
    return AckResult.OK;
  }

  pubcomp(id: number): AckResultValue {
    return this.finish(id, OutboundState.AWAIT_PUBCOMP);
  }

  /**
   * A PUBREC with a failure reason code (>= 0x80) ends a QoS 2 flow at once: the message counts
   * as acknowledged, is never re-sent, and no PUBREL follows [MQTT-5.0 4.4.0-2] [MQTT-5.0 4.3.3-4].
   */
  abandon(id: number): AckResultValue {
    const f = this.flights?.get(id);
    if (!f) return AckResult.UNKNOWN_ID;
    this.flights!.delete(id);
    this.unsent?.delete(id);
    this.ids.free(id);
    this.observer?.done(f.message);
    return AckResult.OK;
  }

  /**
   * Remove the queued messages `expired` says are past their time, keeping the order of the
   * rest; returns how many were looked at (the caller bounds its work by that).
   */
  dropExpired(expired: (message: M) => boolean): number {
    const n = this.queue.length - this.queueHead;
    let kept = this.queueHead;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const m = this.queue[i]!;
      if (expired(m)) this.observer?.done(m);
      else this.queue[kept++] = m;
    }
    this.queue.length = kept;
    return n;
  }

  /** A message taken from the queue that will not be sent (it expired). */
  discard(message: M): void {
    this.observer?.done(message);
  }

  /** Every message held, in flight or queued (to store them all when a session becomes persistent). */
  *messages(): IterableIterator<M> {
    if (this.flights) for (const f of this.flights.values()) yield f.message;
    for (let i = this.queueHead; i < this.queue.length; i++) yield this.queue[i]!;
  }

  /** The flows to resume on reconnect, in the order they were first sent. */
  inflight(): IterableIterator<Inflight<M>> {
    return (this.flights ?? NO_FLIGHTS).values();
  }

  /** Restore a flow from the store (a session that survived a restart). */
  restore(id: number, state: OutboundStateValue, message: M): boolean {
    if (!this.ids.take(id)) return false;
    (this.flights ??= new Map()).set(id, { id, state, message });
    return true;
  }

  private finish(id: number, expected: OutboundStateValue): AckResultValue {
    const f = this.flights?.get(id);
    if (!f) return AckResult.UNKNOWN_ID;
    if (f.state !== expected) return AckResult.WRONG_STATE;
    this.flights!.delete(id);
    this.unsent?.delete(id);
    this.ids.free(id);
    this.observer?.done(f.message);
    return AckResult.OK;
  }

  private dropOldestQos0(): boolean {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      if (this.queue[i]!.qos === 0) {
        const [dropped] = this.queue.splice(i, 1);
        this.observer?.done(dropped!);
        return true;
      }
    }
    return false;
  }
}
