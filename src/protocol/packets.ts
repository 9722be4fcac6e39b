// The readable form of MQTT packets, as the codec's JS layer returns and accepts them. This is the
// cold path (CONNECT, SUBSCRIBE, acks in tests and tools); the hot PUBLISH path reads a PacketView
// by offsets instead (src/protocol/codec.ts) and never builds these objects.
//
// Field names follow mqtt-packet (the codec of MQTT.js) where it has one, so that users and tests
// can move between the two; user properties keep their order and repeats as [key, value] pairs.

/** 3 = MQTT 3.1 ("MQIsdp"), 4 = MQTT 3.1.1, 5 = MQTT 5.0: the protocol level byte of CONNECT. */
export type ProtocolVersion = 3 | 4 | 5;

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;
export type PacketTypeNumber = (typeof PacketType)[keyof typeof PacketType];

/** The `cmd` of each packet type, indexed by the type number (0 is reserved). */
export const PACKET_CMDS = [
  '',
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;

export type QoS = 0 | 1 | 2;

/** MQTT 5 properties (§2.2.2.2). Which ones a packet may carry is checked by the codec. */
export interface Properties {
  payloadFormatIndicator?: 0 | 1; // 0x01
  messageExpiryInterval?: number; // 0x02
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Uint8Array; // 0x09
  /** 0x0B. SUBSCRIBE carries at most one; a server-to-client PUBLISH one per matching subscription. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13
  authenticationMethod?: string; // 0x15
  authenticationData?: Uint8Array; // 0x16
  requestProblemInformation?: 0 | 1; // 0x17
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: 0 | 1; // 0x19
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21
  topicAliasMaximum?: number; // 0x22
  topicAlias?: number; // 0x23
  maximumQoS?: 0 | 1; // 0x24
  retainAvailable?: 0 | 1; // 0x25
  /** 0x26, in order, repeats allowed [MQTT-5.0 3.3.2-18]. */
  userProperties?: Array<[string, string]>;
  maximumPacketSize?: number; // 0x27
  wildcardSubscriptionAvailable?: 0 | 1; // 0x28
  subscriptionIdentifierAvailable?: 0 | 1; // 0x29
  sharedSubscriptionAvailable?: 0 | 1; // 0x2A
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 only. */
  properties?: Properties;
}

export interface ConnectPacket {
  cmd: 'connect';
  /** 'MQTT' for 3.1.1 and 5.0, 'MQIsdp' for 3.1. */
  protocolId: 'MQTT' | 'MQIsdp';
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1.1) / Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Uint8Array;
  properties?: Properties;
}

export interface ConnackPacket {
  cmd: 'connack';
  sessionPresent: boolean;
  /** The return code (3.1/3.1.1) or the reason code (5.0). */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  cmd: 'publish';
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  dup: boolean;
  retain: boolean;
  /** Present iff qos > 0. */
  messageId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: same shape. reasonCode and properties are MQTT 5 only. */
export interface AckPacket {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  messageId: number;
  reasonCode?: number;
  properties?: Properties;
}

export interface Subscription {
  topic: string;
  qos: QoS;
  /** MQTT 5 subscription options; false / 0 on 3.1.1. */
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
}

export interface SubscribePacket {
  cmd: 'subscribe';
  messageId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  cmd: 'suback';
  messageId: number;
  /** Granted QoS or failure (0x80) on 3.1.1; reason codes on 5.0. */
  granted: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  cmd: 'unsubscribe';
  messageId: number;
  unsubscriptions: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  cmd: 'unsuback';
  messageId: number;
  /** MQTT 5 reason codes, one per topic filter; absent on 3.1.1. */
  granted?: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  cmd: 'pingreq';
}
export interface PingrespPacket {
  cmd: 'pingresp';
}

export interface DisconnectPacket {
  cmd: 'disconnect';
  /** MQTT 5 only; 0 (normal disconnection) when absent. */
  reasonCode?: number;
  properties?: Properties;
}

export interface AuthPacket {
  cmd: 'auth';
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | AckPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/** What the decoder says about the bytes at the start of a buffer. */
export type DecodeResult =
  /** A whole, valid packet of `length` bytes. */
  | { status: 'packet'; packet: Packet; length: number }
  /**
   * The bytes so far are a valid prefix; at least `needed` bytes in total are required before
   * the packet can be decoded (known exactly once the fixed header is complete).
   */
  | { status: 'more'; needed: number }
  /**
   * Malformed packet or protocol error: `reasonCode` is the MQTT 5 reason code the spec names
   * (0x81 malformed, 0x82 protocol error, 0x84 unsupported protocol version, 0x95 packet too
   * large, ...), `reason` says what was wrong for logs and the DISCONNECT reason string.
   */
  | { status: 'error'; reasonCode: number; reason: string };
