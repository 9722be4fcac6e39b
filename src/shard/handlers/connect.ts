// CONNECT, as the OPEN record brings it (the gateway already decoded, authenticated and routed
// it): attach the connection to its session, answer CONNACK, resume the session's flows.
import type { ConnackPacket, ConnectPacket, Properties, ProtocolVersion } from '../../protocol/packets.js';
import { connackRefusal, ReasonCode } from '../../protocol/reason-codes.js';
import { validateTopicName } from '../../protocol/topic.js';
import { decodeOpen, OPEN_ASSIGNED_ID } from '../../ring/records.js';
import { Session } from '../../session/session.js';
import { Channel, ChannelState } from '../channel.js';
import { drainQueue } from '../delivery.js';
import type { MqttShard } from '../mqtt-shard.js';
import { connectionLost } from './close.js';

const NEVER = 0xffffffff;

export function handleOpen(shard: MqttShard, conn: number, ptr: number, len: number): void {
  const u8 = shard.ctx.wasm.u8;
  const open = decodeOpen(u8, ptr, len);
  const n = shard.codec.decodeAt(open.connectOffset, open.connectLength, 4, { fromClient: true });
  if (n <= 0) {
    // The gateway decoded this CONNECT already; failing now would be a bug: close quietly.
    shard.output.close(conn);
    return;
  }
  const packet = shard.codec.readPacket() as ConnectPacket;
  // What this CONNECT writes to the store is what its CONNACK waits for (see the end).
  shard.acks.begin();
  const version = packet.protocolVersion;
  const props = packet.properties ?? {};
  const refuse = (reasonCode: number) => {
    const connack = connackRefusal(version, reasonCode);
    if (connack) shard.output.packet(conn, connack, version);
    shard.output.close(conn);
  };
  // Weir has no enhanced authentication: refuse a method rather than ignore it [MQTT-5.0 4.12.0-1].
  if (props.authenticationMethod !== undefined) {
    refuse(ReasonCode.BAD_AUTHENTICATION_METHOD);
    return;
  }
  if (packet.will && validateTopicName(packet.will.topic, shard.ctx.wasm) !== null) {
    refuse(ReasonCode.TOPIC_NAME_INVALID);
    return;
  }
  const keepAlive = negotiateKeepAlive(shard, packet.keepalive, version);
  if (keepAlive < 0) {
    refuse(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID);
    return;
  }

  let session = shard.sessions.get(open.clientId);
  if (session?.online) {
    takeOver(shard, session);
    // Closing the old connection may have ended the session (Session Expiry 0): look again.
    session = shard.sessions.get(open.clientId);
  }
  // Clean Start / Clean Session discards any existing session [MQTT-5.0 3.1.2-4] [MQTT-3.1.1 3.1.2-6].
  if (session && packet.clean) {
    shard.dropSession(session);
    session = undefined;
  }
  const sessionPresent = session !== undefined;
  const storedExpiry = session?.expiryInterval ?? 0;
  const window = Math.min(props.receiveMaximum ?? 65535, shard.config.maxInflight);
  if (!session) {
    session = new Session(open.clientId, shard.newHandle(), window, shard.config.maxQueued);
    shard.registerSession(session);
  }
  session.outbound.window = window;
  // 3.1.1: Clean Session 0 keeps the session with no end; 5.0: the client's interval, default 0.
  session.expiryInterval = version === 5 ? (props.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER;
  session.will = packet.will ? encodeWill(shard, packet, version) : null;
  session.conn = conn;
  session.version = version;
  session.epoch++; // pending will delay and expiry timers are void now [MQTT-5.0 3.1.3-9]
  shard.persist?.saveSession(session);

  const ch = new Channel(conn, version, session);
  ch.keepAlive = keepAlive;
  ch.maxPacketSize = props.maximumPacketSize ?? ch.maxPacketSize;
  ch.aliasMaxOut = props.topicAliasMaximum ?? 0;
  ch.lastSeen = shard.nowSeconds();
  shard.channels.set(conn, ch);
  if (keepAlive > 0) {
    ch.deadline = ch.lastSeen + Math.ceil(keepAlive * 1.5);
    shard.wheel.schedule(ch);
  }
  const assigned = open.flags & OPEN_ASSIGNED_ID ? open.clientId : undefined;
  // A persistent session's CONNECT changed what the store holds (its will, its expiry, the end of
  // a pending will delay): with durability "flush" the CONNACK waits for the store, as a SUBACK
  // does, so that a crash after it cannot bring back what the client was told is gone (a will
  // cancelled by this reconnect [MQTT-5.0 3.1.3-9]). The session's flows resume after it.
  ch.connackPending = true;
  const reply = connack(shard, version, sessionPresent, keepAlive, packet.keepalive, assigned);
  shard.acks.send(
    ch,
    reply,
    () => {
      ch.connackPending = false;
      resume(shard, ch.session);
    },
    () => {
      // Refused because the store could not save this CONNECT's changes: a refused CONNECT leaves
      // no will [MQTT-3.1.1 3.1.2-8], a session it created ends with the connection, and one it
      // resumed keeps the expiry the store still has (not the one this CONNECT asked for).
      session.will = null;
      session.expiryInterval = storedExpiry;
    },
  );
}

/** The keep-alive to use, or -1 to refuse (3.1.1 cannot tell the client another value). */
function negotiateKeepAlive(shard: MqttShard, requested: number, version: ProtocolVersion): number {
  const { keepAliveMin, keepAliveMax } = shard.config;
  const inBounds = requested <= keepAliveMax && (requested >= keepAliveMin || keepAliveMin === 0);
  if (inBounds) return requested;
  // MQTT 5 answers with Server Keep Alive, which the client must use [MQTT-5.0 3.2.2-21].
  if (version === 5) return requested > keepAliveMax || requested === 0 ? keepAliveMax : keepAliveMin;
  return -1;
}

function connack(
  shard: MqttShard,
  version: ProtocolVersion,
  sessionPresent: boolean,
  keepAlive: number,
  requested: number,
  assignedClientId: string | undefined,
): ConnackPacket {
  const packet: ConnackPacket = { cmd: 'connack', sessionPresent, reasonCode: 0 };
  if (version !== 5) return packet;
  const properties: Properties = {
    receiveMaximum: shard.config.receiveMaximum,
    maximumPacketSize: shard.config.maxPacketSize,
  };
  if (shard.config.topicAliasMaximum > 0) properties.topicAliasMaximum = shard.config.topicAliasMaximum;
  if (keepAlive !== requested) properties.serverKeepAlive = keepAlive;
  // An assigned client ID must be told to the client [MQTT-5.0 3.2.2-16].
  if (assignedClientId !== undefined) properties.assignedClientIdentifier = assignedClientId;
  packet.properties = properties;
  return packet;
}

/** Another connection with this client ID is live: it is closed, 0x8E in MQTT 5 [MQTT-5.0 3.1.4-3]. */
function takeOver(shard: MqttShard, session: Session): void {
  const old = shard.channels.get(session.conn);
  if (!old) return;
  if (old.state === ChannelState.CONNECTED) shard.disconnect(old, ReasonCode.SESSION_TAKEN_OVER);
  connectionLost(shard, old);
}

/** The will as a PUBLISH for the session's version, published later exactly like one. */
function encodeWill(shard: MqttShard, packet: ConnectPacket, version: ProtocolVersion) {
  const will = packet.will!;
  const { willDelayInterval, ...properties } = will.properties ?? {};
  const bytes = shard.codec.encode(
    {
      cmd: 'publish',
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      dup: false,
      messageId: will.qos > 0 ? 1 : undefined,
      properties: version === 5 && Object.keys(properties).length > 0 ? properties : undefined,
    },
    version,
  );
  return { bytes, version, delay: willDelayInterval ?? 0 };
}

/**
 * Re-send what was in flight, in order, PUBLISH with DUP 1 and PUBREL as they were
 * [MQTT-5.0 4.4.0-1] [MQTT-3.1.1 4.4.0-1], no more at a time than the client's Receive Maximum
 * now allows [MQTT-5.0 3.3.4-9]; then fill the window from the queue.
 */
function resume(shard: MqttShard, session: Session): void {
  session.outbound.markAllUnsent();
  drainQueue(shard, session);
}
