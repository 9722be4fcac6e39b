// Delivering a PUBLISH: the one the codec decoded last (from a client, a will, or the HTTP API).
// It is matched once against the shard's index; overlapping subscriptions of a session merge into
// one copy with the highest QoS and all their subscription identifiers [MQTT-5.0 3.3.4-3]
// [MQTT-5.0 3.3.4-4]; each shared group gets exactly one copy (MQTT 5.0 §4.8.2); each copy is
// encoded by WASM straight into the outbound ring, or kept in the session when it cannot go now.
import type { ForwardOptions } from '../protocol/codec.js';
import { own } from '../protocol/bytes.js';
import { PacketType, type QoS } from '../protocol/packets.js';
import { OutboundState } from '../session/outbound.js';
import type { Session, StoredMessage } from '../session/session.js';
import { type Channel, ChannelState } from './channel.js';
import type { MqttShard } from './mqtt-shard.js';
import { WriteResult, type WriteResultValue } from './output.js';

const subIdLists: number[][] = [];
/** Round-robin position per shared group id. */
const groupTurn = new Map<number, number>();

export interface PublishInfo {
  /** The publisher's session (No Local), or null for wills and the HTTP API. */
  from: Session | null;
  /** The message's QoS and RETAIN flag as published. */
  qos: QoS;
  retain: boolean;
  /** The publisher's protocol level: the level of the decoded bytes. */
  version: 3 | 4 | 5;
  /** The raw PUBLISH bytes, needed only if some copy must be stored (copied lazily). */
  bytes: () => Uint8Array;
  /**
   * Where the same bytes lie in WASM memory (len 0: only `bytes()` has them, e.g. a PUBLISH that
   * came with a Topic Alias is re-encoded with its topic). Forwarding to another shard copies
   * from here, with no copy of its own.
   */
  ptr: number;
  len: number;
  /** Absolute expiry in ms, or 0. */
  expiresAt: number;
}

/** The current PUBLISH's topic as a string, made once per message and only if an alias needs it. */
let topicString: string | undefined;
function currentTopic(shard: MqttShard): string {
  if (topicString === undefined) {
    const { view } = shard.codec;
    topicString = Buffer.from(shard.ctx.wasm.u8.buffer, view.topicPtr, view.topicLen).toString('utf8');
  }
  return topicString;
}

/**
 * The Topic Alias to send this topic with on a connection whose client accepts aliases: an
 * existing binding (topic omitted), or a new one while the client's maximum allows
 * [MQTT-5.0 3.3.2-11]. The caller records a new binding only once the packet is written.
 * Returns the alias (0: none), with KNOWN_ALIAS set when the binding exists.
 */
function outboundAlias(shard: MqttShard, ch: Channel): number {
  if (ch.aliasMaxOut === 0) return 0;
  const topic = currentTopic(shard);
  const known = ch.aliasesOut.get(topic);
  if (known !== undefined) return known | KNOWN_ALIAS;
  return ch.aliasesOut.size < ch.aliasMaxOut ? ch.aliasesOut.size + 1 : 0;
}

/** Flag in outboundAlias's result: the client already has this alias bound (a number, not an object, per copy). */
const KNOWN_ALIAS = 0x10000;

/**
 * The codec's current PUBLISH (from a client, a will, or the broker itself): kept as the topic's
 * retained message if RETAIN is set (an empty payload clears it [MQTT-5.0 3.3.1-6]
 * [MQTT-3.1.1 3.3.1-10]), then routed. Returns how many sessions matched.
 */
export function publishCurrent(shard: MqttShard, info: PublishInfo): number {
  topicString = undefined;
  if (info.retain) {
    const empty = shard.codec.view.payloadLen === 0;
    const kept = { bytes: own(info.bytes()), version: info.version, expiresAt: info.expiresAt };
    shard.retained.set(currentTopic(shard), empty ? null : kept);
    shard.persist?.retained(currentTopic(shard), empty ? null : kept);
  }
  const { peers } = shard;
  if (!peers.active) return deliverCurrent(shard, info, null, false);
  // Other shards run: the route table says which of them get the message and which shard
  // serves each shared group; this shard then serves the rest.
  const view = shard.codec.view;
  peers.plan(view.topicPtr, view.topicLen);
  const matched = deliverCurrent(shard, info, peers.skipLocal.length > 0 ? peers.skipLocal : null, false);
  // Ack after durable: a QoS 1/2 message waits for the other shards' stores too.
  const answer = info.qos > 0 && info.from !== null && shard.waitsForStore ? shard.tokenFor : null;
  return matched + peers.forward(info, answer);
}

/**
 * A PUBLISH another shard forwarded (decoded last by the codec): to this shard's sessions, its
 * shared groups only those the publisher's shard gave to this one.
 */
export function deliverForwarded(shard: MqttShard, info: PublishInfo): number {
  topicString = undefined;
  return deliverCurrent(shard, info, shard.peers.onlyLocal, true);
}

/**
 * Route the codec's current PUBLISH to every matching session of this shard. Shared groups named
 * in `groups` are skipped (or, with `only`, served only if named). Returns how many matched.
 */
function deliverCurrent(
  shard: MqttShard,
  info: PublishInfo,
  groups: readonly string[] | null,
  only: boolean,
): number {
  const { index, codec } = shard;
  const view = codec.view;
  if (index.matchAt(view.topicPtr, view.topicLen) === 0) return 0;
  const n = index.dedupeByHandle(subIdLists);
  delivering = info;
  stored = undefined;
  owned = undefined;
  let matched = 0;
  for (let i = 0; i < n;) {
    const group = index.groupIdAt(i);
    if (group === 0) {
      if (deliverTo(shard, info, i)) matched++;
      i++;
      continue;
    }
    // A shared group's members are contiguous (sorted by group): pick one, round robin,
    // preferring a member that is online.
    let end = i;
    while (end < n && index.groupIdAt(end) === group) end++;
    if (groups !== null && groups.includes(index.groupAt(i)!) !== only) {
      i = end; // another shard serves this group for this message
      continue;
    }
    const turn = groupTurn.get(group) ?? 0;
    let pick = i + (turn % (end - i));
    for (let k = 0; k < end - i; k++) {
      const j = i + ((turn + k) % (end - i));
      if (shard.byHandle[index.handleAt(j)]?.online) {
        pick = j;
        break;
      }
    }
    groupTurn.set(group, turn + 1);
    if (deliverTo(shard, info, pick)) matched++;
    i = end;
  }
  delivering = stored = owned = undefined; // keep nothing of this message alive past its fan-out
  return matched;
}

// The message deliverCurrent is fanning out, and its copies: one per message, made only if a
// session must keep it; a second, unpooled one only if some session keeps it for long (queued),
// see src/protocol/bytes.ts. Module state rather than a closure per message: delivery never
// nests (a shard handles one PUBLISH at a time, and nothing it calls publishes).
let delivering: PublishInfo | undefined;
let stored: Uint8Array | undefined;
let owned: Uint8Array | undefined;

/** The current message's bytes: for a flow in flight (`keep` false) or to be kept queued. */
function currentBytes(keep: boolean): Uint8Array {
  stored ??= delivering!.bytes();
  if (!keep) return stored;
  owned ??= own(stored);
  return owned;
}

function deliverTo(shard: MqttShard, info: PublishInfo, i: number): boolean {
  const { index } = shard;
  const session = shard.byHandle[index.handleAt(i)];
  if (!session) return false;
  const options = index.optionsAt(i);
  // No Local: not to the publisher's own subscriptions [MQTT-5.0 3.8.3-3].
  if ((options & 4) !== 0 && session === info.from) return false;
  const qos = Math.min(info.qos, options & 3) as QoS;
  // Retain As Published keeps the flag; otherwise it is 0 on normal delivery [MQTT-5.0 3.3.1-12].
  const retain = (options & 8) !== 0 ? info.retain : false;
  const subIds = subIdLists[i] ?? [];
  if (qos > 0 && session.persisted && shard.persist!.full) {
    // The store is full: this copy cannot be kept durably, so it is not taken (the publisher
    // hears 0x97 in MQTT 5) and counted.
    shard.stats.dropped++;
    shard.persist!.refused = true;
    return true;
  }
  const ch = session.online ? shard.channels.get(session.conn) : undefined;
  if (ch?.congested || ch?.connackPending) {
    // A slow reader: QoS 0 is dropped and counted, QoS 1/2 waits in the session's bounded queue.
    // While the CONNACK waits for the store every QoS waits there: nothing may go before the
    // CONNACK [MQTT-5.0 3.2.0-1], and the wait is short, so QoS 0 is not dropped for it.
    if (qos === 0 && !ch.connackPending) shard.stats.dropped++;
    else if (!session.outbound.enqueue(store(info, qos, retain, subIds, currentBytes(true))))
      shard.stats.dropped++;
    return true;
  }
  if (ch && ch.state === ChannelState.CONNECTED) {
    const aliased = outboundAlias(shard, ch);
    const alias = aliased & 0xffff;
    const known = aliased >= KNOWN_ALIAS;
    if (qos === 0) {
      const r = forwardCopy(shard, ch, qos, 0, retain, subIds, alias, known);
      if (r === WriteResult.FULL) shard.stats.dropped++;
      else if (r === WriteResult.OK) {
        shard.stats.messagesOut++;
        if (alias > 0 && !known) ch.aliasesOut.set(currentTopic(shard), alias);
      }
      return true;
    }
    if (session.outbound.canSend && session.outbound.queuedCount === 0) {
      const message = store(info, qos, retain, subIds, currentBytes(false));
      const packetId = session.outbound.send(message);
      if (packetId !== 0) {
        const r = forwardCopy(shard, ch, qos, packetId, retain, subIds, alias, known);
        if (r === WriteResult.OK) {
          shard.stats.messagesOut++;
          if (alias > 0 && !known) ch.aliasesOut.set(currentTopic(shard), alias);
          return true;
        }
        // Not sent: give the identifier back. Too large for this client: dropped [MQTT-5.0
        // 3.1.2-25]. Ring full: queued, and sent when the gateway has drained the ring.
        session.outbound.abandon(packetId);
        if (r === WriteResult.TOO_LARGE) return true;
        shard.pendingDrain.add(session);
      }
    }
  } else if (qos === 0 && !(shard.config.queueQos0 && session.expiryInterval > 0)) {
    return true; // QoS 0 is not kept for offline sessions (unless --queue-qos0 asks for it)
  }
  if (!session.outbound.enqueue(store(info, qos, retain, subIds, currentBytes(true)))) shard.stats.dropped++;
  return true;
}

/** One options object for every copy of every message, filled per copy rather than allocated. */
const copy: ForwardOptions = {
  qos: 0,
  packetId: 0,
  retain: false,
  subscriptionIdentifiers: [],
  topicAlias: 0,
};

function forwardCopy(
  shard: MqttShard,
  ch: Channel,
  qos: QoS,
  packetId: number,
  retain: boolean,
  subIds: number[],
  alias: number,
  known: boolean,
): WriteResultValue {
  copy.qos = qos;
  copy.packetId = packetId;
  copy.retain = retain;
  copy.subscriptionIdentifiers = subIds;
  copy.topicAlias = alias;
  copy.omitTopic = known;
  return shard.output.forward(ch.conn, ch.version, copy, ch.maxPacketSize);
}

function store(
  info: PublishInfo,
  qos: QoS,
  retain: boolean,
  subIds: number[],
  bytes: Uint8Array,
): StoredMessage {
  return {
    bytes,
    version: info.version,
    qos,
    retain,
    subIds: subIds.slice(),
    expiresAt: info.expiresAt,
  };
}

/**
 * Send a stored message on a session's connection (resend with DUP, or from the queue). The
 * codec's record is overwritten: never call this during the fan-out of another PUBLISH.
 * Returns the WriteResult (TOO_LARGE also when the connection is gone or the bytes are bad).
 */
export function sendStored(
  shard: MqttShard,
  session: Session,
  m: StoredMessage,
  packetId: number,
  dup: boolean,
): WriteResultValue {
  const ch = shard.channels.get(session.conn);
  if (!ch || !shard.decodeStored(m.bytes, m.version)) return WriteResult.TOO_LARGE;
  const options: ForwardOptions = {
    qos: m.qos,
    packetId,
    dup,
    retain: m.retain,
    subscriptionIdentifiers: m.subIds,
  };
  if (m.expiresAt > 0) {
    // Forward the remaining lifetime [MQTT-5.0 3.3.2-6].
    options.messageExpiry = Math.max(0, Math.ceil((m.expiresAt - Date.now()) / 1000));
  }
  return shard.output.forward(ch.conn, ch.version, options, ch.maxPacketSize);
}

/**
 * Fill the session's window: first the flows a reconnect left to re-send, then the queue, in
 * order; expired messages are dropped [MQTT-5.0 3.3.2-5]. A message too large for the client is
 * dropped and its packet identifier freed [MQTT-5.0 3.1.2-25]. Stops when the ring lacks room,
 * leaving the session marked for the next drain.
 */
export function drainQueue(shard: MqttShard, session: Session): void {
  shard.pendingDrain.delete(session);
  const ch = shard.channels.get(session.conn);
  if (!ch || ch.congested || ch.connackPending) return; // DRAINED, the CONNACK (or a reconnect) brings it back
  const out = session.outbound;
  for (;;) {
    if (!shard.output.hasRoom(shard.config.maxPacketSize)) {
      shard.pendingDrain.add(session);
      return;
    }
    const f = out.nextResend();
    if (f) {
      if (f.state === OutboundState.AWAIT_PUBCOMP)
        shard.output.ack(ch.conn, ch.version, PacketType.PUBREL, f.id);
      else if (sendStored(shard, session, f.message, f.id, true) === WriteResult.TOO_LARGE) out.abandon(f.id);
      continue;
    }
    if (!out.canSend || out.queuedCount === 0) return;
    const m = out.dequeue()!;
    if (m.expiresAt > 0 && m.expiresAt <= Date.now()) {
      out.discard(m);
      continue;
    }
    if (m.qos === 0) {
      // A queued QoS 0 message (--queue-qos0) is done once written: nothing acknowledges it.
      sendStored(shard, session, m, 0, false);
      out.discard(m);
      continue;
    }
    const id = out.send(m);
    if (id === 0) return; // every identifier in use (canSend said there was room: not reached)
    if (sendStored(shard, session, m, id, false) === WriteResult.TOO_LARGE) out.abandon(id);
  }
}

/** Deliver a stored message (a retained one, at SUBSCRIBE) to a session: now, or queued. */
export function deliverStored(shard: MqttShard, session: Session, m: StoredMessage): void {
  if (m.qos === 0) {
    sendStored(shard, session, m, 0, false);
    return;
  }
  const out = session.outbound;
  if (out.canSend && out.queuedCount === 0 && shard.output.hasRoom(m.bytes.length + 256)) {
    const id = out.send(m);
    if (id === 0) return;
    const r = sendStored(shard, session, m, id, false);
    if (r === WriteResult.OK) return;
    out.abandon(id);
    // Too large for this client: dropped, not queued (it would never fit) [MQTT-5.0 3.1.2-25].
    if (r === WriteResult.TOO_LARGE) return;
  }
  if (out.enqueue(m)) shard.pendingDrain.add(session);
  else shard.stats.dropped++;
}
