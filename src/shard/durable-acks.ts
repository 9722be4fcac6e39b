// Ack after durable (durability "flush"): a PUBACK, PUBREC or PUBCOMP whose packet stored
// something (a message for a persistent session here or on another shard, a retained message, an
// inbound QoS 2 identifier) waits until that is on disk. Group commit: every ack that waits on this
// shard's store in one batch waits on one `flushed()`. A message forwarded to another shard asks
// for an ACK record back (the token rides in the FORWARD's tag); that shard answers once its own
// store has flushed what the message wrote there, or at once when it wrote nothing.
//
// Acks of one connection leave in the order their packets came [MQTT-5.0 4.6.0-2]
// [MQTT-3.1.1 4.6.0-2]: each connection keeps a FIFO, and an ack is written only when everything
// it waits for is done and every ack before it has been written.
import { type Packet, PacketType } from '../protocol/packets.js';
import { connackRefusal, ReasonCode } from '../protocol/reason-codes.js';
import { type Channel, ChannelState } from './channel.js';
import type { MqttShard } from './mqtt-shard.js';
import { WriteResult } from './output.js';
import { emptyArray } from '../protocol/empty.js';

export interface PendingAck {
  ch: Channel;
  type: number;
  packetId: number;
  reason: number;
  /** Flushes and remote ACKs still to come. */
  waiting: number;
  /** Another shard refused its copy (its store is full). */
  refused: boolean;
  /** A SUBACK or UNSUBACK (written as a packet instead of type/packetId/reason). */
  packet?: Packet;
  /** Work that must follow the packet on the wire (the retained messages after a SUBACK). */
  then?: () => void;
  /** A CONNACK's: put back what its CONNECT changed, should the store refuse it (see `turnDown`). */
  undo?: () => void;
}

/** A FORWARD whose sender waits for this shard's flush. */
interface RemoteWait {
  from: number;
  token: number;
}

const MAX_TOKEN = 0xffffff;

export class DurableAcks {
  /** Acks and remote answers waiting on the next flush of this shard's store. */
  private batchAcks: PendingAck[] = [];
  private batchRemote: RemoteWait[] = [];
  /** Tokens given to FORWARDs of the current packet, and all tokens still unanswered. */
  private readonly current: Array<{ token: number; shard: number }> = [];
  private readonly tokens = new Map<number, { ack: PendingAck; shard: number }>();
  private nextToken = 1;
  /** Store flushes asked for and not yet answered. */
  private flushes = 0;
  /** Connections whose head ack could not be written for lack of room: retried by `retry`. */
  private readonly blocked = new Set<Channel>();

  constructor(private readonly shard: MqttShard) {}

  /** Before handling a packet that may have to wait. */
  begin(): void {
    emptyArray(this.current); // every packet, nearly always empty
    const persist = this.shard.persist;
    if (persist) {
      persist.dirty = false;
      persist.refused = false;
    }
  }

  /** A token for a FORWARD of the current packet to `shard` (it will answer with it). */
  token(shard: number): number {
    const token = this.nextToken;
    this.nextToken = token === MAX_TOKEN ? 1 : token + 1;
    this.current.push({ token, shard });
    return token;
  }

  /**
   * The ack of the current packet: now, or once what it stored is durable everywhere. A copy this
   * shard refused for a full store (`persist.refused`) is answered like one another shard
   * refused: 0x97 in MQTT 5, a disconnect in 3.1.1 (see `refuse`).
   */
  ack(ch: Channel, type: number, packetId: number, reason: number): void {
    const refused = this.shard.persist?.refused === true;
    const local = this.shard.waitsForStore && this.shard.persist!.dirty;
    const waiting = (local ? 1 : 0) + this.current.length;
    if (waiting === 0 && !refused && !ch.pendingAcks) {
      this.shard.output.ack(ch.conn, ch.version, type, packetId, reason);
      return;
    }
    const pending: PendingAck = { ch, type, packetId, reason, waiting, refused };
    for (const t of this.current) this.tokens.set(t.token, { ack: pending, shard: t.shard });
    this.current.length = 0;
    this.enqueue(pending, local);
  }

  /**
   * A CONNACK, SUBACK or UNSUBACK: now, or once what it confirms is durable (a persistent session,
   * subscriptions, that a crash could otherwise take back); `then` runs right after it is written,
   * `undo` (a CONNACK's) when a failed store turns it into a refusal.
   */
  send(ch: Channel, packet: Packet, then?: () => void, undo?: () => void): void {
    const local = this.shard.waitsForStore && this.shard.persist!.dirty;
    if (!local && !ch.pendingAcks) {
      this.shard.output.packet(ch.conn, packet, ch.version);
      then?.();
      return;
    }
    const waiting = local ? 1 : 0;
    this.enqueue({ ch, type: 0, packetId: 0, reason: 0, waiting, refused: false, packet, then, undo }, local);
  }

  /** Behind the connection's earlier acks; on this batch's flush when `local`. */
  private enqueue(pending: PendingAck, local: boolean): void {
    const { ch } = pending;
    if (ch.pendingAcks) ch.pendingAcks.push(pending);
    else ch.pendingAcks = [pending];
    if (local) this.batchAcks.push(pending);
    if (pending.waiting === 0) this.release(ch);
  }

  /** A FORWARD from `from` asked for an answer: after this shard's flush if it stored something. */
  forwarded(from: number, token: number): void {
    const persist = this.shard.persist;
    if (persist?.refused) this.shard.peers.sendAck(from, token, true);
    else if (this.shard.waitsForStore && persist!.dirty) this.batchRemote.push({ from, token });
    else this.shard.peers.sendAck(from, token, false);
  }

  /** Another shard's answer: its copies are durable, or (`refused`) its store was full. */
  answered(token: number, refused: boolean): void {
    const t = this.tokens.get(token);
    if (!t) return;
    this.tokens.delete(token);
    if (refused) t.ack.refused = true;
    this.done(t.ack);
  }

  /** A shard died: what waited for its answers waits no more (its sessions' copies are gone with it). */
  peerDown(index: number): void {
    for (const [token, t] of this.tokens) {
      if (t.shard !== index) continue;
      this.tokens.delete(token);
      this.done(t.ack);
    }
  }

  /** The connection is gone: its acks are not sent. */
  forget(ch: Channel): void {
    ch.pendingAcks = null;
    this.blocked.delete(ch);
  }

  /** End of a batch: one flush for everything this batch stored. */
  commit(): void {
    const store = this.shard.persist?.store;
    if (!store || (this.batchAcks.length === 0 && this.batchRemote.length === 0)) return;
    const acks = this.batchAcks;
    const remote = this.batchRemote;
    this.batchAcks = [];
    this.batchRemote = [];
    this.flushes++;
    store.flushed().then(
      () => {
        this.flushes--;
        for (const r of remote) this.shard.peers.sendAck(r.from, r.token, false);
        for (const a of acks) this.done(a);
        this.shard.flushOutput();
      },
      (error: Error) => {
        this.flushes--;
        // Not stored: never acknowledge it. The publishers are disconnected and will send again.
        for (const a of acks) this.failed(a, error);
        this.shard.flushOutput();
      },
    );
  }

  /** A flush this shard asked the store for has not answered yet (it answers on the event loop). */
  get flushing(): boolean {
    return this.flushes > 0;
  }

  /** Acks wait for room in the outbound ring. */
  get hasBlocked(): boolean {
    return this.blocked.size > 0;
  }

  /** Write acks that found no room before. */
  retry(): void {
    for (const ch of this.blocked) {
      this.blocked.delete(ch);
      this.release(ch);
    }
  }

  private done(a: PendingAck): void {
    a.waiting--;
    if (a.waiting <= 0) this.release(a.ch);
  }

  /** What it stored is not durable: never acknowledged as accepted (see `turnDown`). */
  private failed(a: PendingAck, error: Error): void {
    const full = /full|space/i.test(error.message);
    const code = full ? ReasonCode.QUOTA_EXCEEDED : ReasonCode.UNSPECIFIED_ERROR;
    if (this.turnDown(a, code, `the store could not save the message: ${error.message}`)) this.done(a);
  }

  /** A copy was refused for a full store (here or on another shard). False when the connection was closed. */
  private refuse(a: PendingAck): boolean {
    a.refused = false;
    return this.turnDown(a, ReasonCode.QUOTA_EXCEEDED, 'the store is full (--store-max-mb)');
  }

  /**
   * Make the ack a refusal: MQTT 5 hears `code` in the PUBACK/PUBREC [MQTT-5.0 3.4.2.1], and a
   * refused QoS 2 PUBLISH frees its identifier [MQTT-5.0 4.3.3-4]; 3.1.1 (and a PUBCOMP) has no
   * refusal, so the client is disconnected rather than acknowledged and sends again. Returns
   * false when it disconnected.
   */
  private turnDown(a: PendingAck, code: number, why: string): boolean {
    // Not taken: a QoS 2 PUBLISH sent again must be a new message, not a duplicate.
    if (a.type === PacketType.PUBREC && a.ch.session.inboundQos2.delete(a.packetId))
      this.shard.persist?.inbound(a.ch.session, a.packetId, false);
    if (a.packet?.cmd === 'connack') {
      // The session's record is not on disk: a refusal instead of the CONNACK, then the close
      // [MQTT-5.0 3.2.2-6, 3.2.2-7] (3.1.1: 0x03 Server unavailable [MQTT-3.1.1 3.2.2-4, 3.2.2-5]).
      const refusal = connackRefusal(a.ch.version, code);
      if (refusal) {
        a.packet = refusal;
        const { undo } = a;
        a.then = () => {
          undo?.();
          this.forget(a.ch);
          this.shard.disconnect(a.ch, code, why);
        };
        return true;
      }
    }
    // A SUBACK or UNSUBACK has no code for "accepted but not stored": the client is told with a
    // disconnect, as in 3.1.1 for everything, and subscribes again on its next connection.
    if (a.ch.version !== 5 || a.type === PacketType.PUBCOMP || a.packet) {
      this.forget(a.ch);
      this.shard.disconnect(a.ch, code, why);
      return false;
    }
    if (a.reason < 0x80) a.reason = code;
    return true;
  }

  private release(ch: Channel): void {
    const queue = ch.pendingAcks;
    if (!queue) return;
    if (ch.state !== ChannelState.CONNECTED) {
      this.forget(ch);
      return;
    }
    while (queue.length > 0 && queue[0]!.waiting <= 0) {
      const a = queue[0]!;
      if (a.refused && !this.refuse(a)) return;
      const written = a.packet
        ? this.shard.output.packet(ch.conn, a.packet, ch.version)
        : this.shard.output.ack(ch.conn, ch.version, a.type, a.packetId, a.reason);
      if (written === WriteResult.FULL) {
        this.blocked.add(ch);
        return;
      }
      queue.shift();
      a.then?.();
      if (ch.state !== ChannelState.CONNECTED) return; // a refused CONNACK closed it
    }
    if (queue.length === 0) ch.pendingAcks = null;
  }
}
