// MQTT reason codes: the one place that maps Weir's errors to what goes on the wire.
// - ReasonCode: every MQTT 5 reason code (§2.4, Table 2-6) with the packets that may carry it.
// - DecodeError: why the codec rejected bytes (the index asm/codec/status.ts records) with the MQTT 5
//   reason code it maps to and a message; test/codec/reason-codes.test.ts checks both tables
//   against the WASM module.
// - connackReturnCodeV3: the CONNACK return code a 3.1/3.1.1 client gets for a 5.0 reason code.
import { type ConnackPacket, PacketType, type PacketTypeNumber, type ProtocolVersion } from './packets.js';

export const ReasonCode = {
  SUCCESS: 0x00,
  NORMAL_DISCONNECTION: 0x00,
  GRANTED_QOS_0: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL_MESSAGE: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  CONTINUE_AUTHENTICATION: 0x18,
  RE_AUTHENTICATE: 0x19,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  USE_ANOTHER_SERVER: 0x9c,
  SERVER_MOVED: 0x9d,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  CONNECTION_RATE_EXCEEDED: 0x9f,
  MAXIMUM_CONNECT_TIME: 0xa0,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
} as const;

type AckName =
  'CONNACK' | 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP' | 'SUBACK' | 'UNSUBACK' | 'DISCONNECT' | 'AUTH';

interface ReasonInfo {
  code: number;
  /** The name per packet where the spec gives 0x00 several names; otherwise one name. */
  name: string;
  packets: readonly AckName[];
}

const ERRORS_ANY: readonly AckName[] = ['CONNACK', 'PUBACK', 'PUBREC', 'SUBACK', 'UNSUBACK', 'DISCONNECT'];
const CONNACK_DISCONNECT: readonly AckName[] = ['CONNACK', 'DISCONNECT'];

/** Table 2-6 of MQTT 5.0: each reason code, its name and the packets that may carry it. */
export const ReasonCodes: readonly ReasonInfo[] = [
  {
    code: 0x00,
    name: 'Success / Normal disconnection / Granted QoS 0',
    packets: ['CONNACK', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBACK', 'UNSUBACK', 'DISCONNECT', 'AUTH'],
  },
  { code: 0x01, name: 'Granted QoS 1', packets: ['SUBACK'] },
  { code: 0x02, name: 'Granted QoS 2', packets: ['SUBACK'] },
  { code: 0x04, name: 'Disconnect with Will Message', packets: ['DISCONNECT'] },
  { code: 0x10, name: 'No matching subscribers', packets: ['PUBACK', 'PUBREC'] },
  { code: 0x11, name: 'No subscription existed', packets: ['UNSUBACK'] },
  { code: 0x18, name: 'Continue authentication', packets: ['AUTH'] },
  { code: 0x19, name: 'Re-authenticate', packets: ['AUTH'] },
  { code: 0x80, name: 'Unspecified error', packets: ERRORS_ANY },
  { code: 0x81, name: 'Malformed Packet', packets: CONNACK_DISCONNECT },
  { code: 0x82, name: 'Protocol Error', packets: CONNACK_DISCONNECT },
  { code: 0x83, name: 'Implementation specific error', packets: ERRORS_ANY },
  { code: 0x84, name: 'Unsupported Protocol Version', packets: ['CONNACK'] },
  { code: 0x85, name: 'Client Identifier not valid', packets: ['CONNACK'] },
  { code: 0x86, name: 'Bad User Name or Password', packets: ['CONNACK'] },
  { code: 0x87, name: 'Not authorized', packets: ERRORS_ANY },
  { code: 0x88, name: 'Server unavailable', packets: ['CONNACK'] },
  { code: 0x89, name: 'Server busy', packets: CONNACK_DISCONNECT },
  { code: 0x8a, name: 'Banned', packets: ['CONNACK'] },
  { code: 0x8b, name: 'Server shutting down', packets: ['DISCONNECT'] },
  { code: 0x8c, name: 'Bad authentication method', packets: CONNACK_DISCONNECT },
  { code: 0x8d, name: 'Keep Alive timeout', packets: ['DISCONNECT'] },
  { code: 0x8e, name: 'Session taken over', packets: ['DISCONNECT'] },
  { code: 0x8f, name: 'Topic Filter invalid', packets: ['SUBACK', 'UNSUBACK', 'DISCONNECT'] },
  { code: 0x90, name: 'Topic Name invalid', packets: ['CONNACK', 'PUBACK', 'PUBREC', 'DISCONNECT'] },
  { code: 0x91, name: 'Packet Identifier in use', packets: ['PUBACK', 'PUBREC', 'SUBACK', 'UNSUBACK'] },
  { code: 0x92, name: 'Packet Identifier not found', packets: ['PUBREL', 'PUBCOMP'] },
  { code: 0x93, name: 'Receive Maximum exceeded', packets: ['DISCONNECT'] },
  { code: 0x94, name: 'Topic Alias invalid', packets: ['DISCONNECT'] },
  { code: 0x95, name: 'Packet too large', packets: CONNACK_DISCONNECT },
  { code: 0x96, name: 'Message rate too high', packets: ['DISCONNECT'] },
  { code: 0x97, name: 'Quota exceeded', packets: ['CONNACK', 'PUBACK', 'PUBREC', 'SUBACK', 'DISCONNECT'] },
  { code: 0x98, name: 'Administrative action', packets: ['DISCONNECT'] },
  { code: 0x99, name: 'Payload format invalid', packets: ['CONNACK', 'PUBACK', 'PUBREC', 'DISCONNECT'] },
  { code: 0x9a, name: 'Retain not supported', packets: CONNACK_DISCONNECT },
  { code: 0x9b, name: 'QoS not supported', packets: CONNACK_DISCONNECT },
  { code: 0x9c, name: 'Use another server', packets: CONNACK_DISCONNECT },
  { code: 0x9d, name: 'Server moved', packets: CONNACK_DISCONNECT },
  { code: 0x9e, name: 'Shared Subscriptions not supported', packets: ['SUBACK', 'DISCONNECT'] },
  { code: 0x9f, name: 'Connection rate exceeded', packets: CONNACK_DISCONNECT },
  { code: 0xa0, name: 'Maximum connect time', packets: ['DISCONNECT'] },
  { code: 0xa1, name: 'Subscription Identifiers not supported', packets: ['SUBACK', 'DISCONNECT'] },
  { code: 0xa2, name: 'Wildcard Subscriptions not supported', packets: ['SUBACK', 'DISCONNECT'] },
];

const byCode = new Map(ReasonCodes.map((r) => [r.code, r]));

/** The name of a reason code, e.g. 'Packet too large'; undefined if the code is not defined. */
export function reasonName(code: number): string | undefined {
  return byCode.get(code)?.name;
}

/** May `packetType` carry reason code `code` (MQTT 5.0 Table 2-6)? */
export function reasonAllowed(packetType: PacketTypeNumber, code: number): boolean {
  const info = byCode.get(code);
  if (!info) return false;
  return info.packets.some((p) => PacketType[p] === packetType);
}

/** 3.1/3.1.1 CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
export const ConnackReturnCode = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_NAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/**
 * The CONNACK return code a 3.1/3.1.1 client gets for a 5.0 reason code; undefined when 3.1.1 says
 * to close the connection without a CONNACK (a malformed CONNECT or a protocol error,
 * [MQTT-3.1.1 3.1.4-1]).
 */
export function connackReturnCodeV3(reasonCode: number): number | undefined {
  switch (reasonCode) {
    case ReasonCode.SUCCESS:
      return ConnackReturnCode.ACCEPTED;
    case ReasonCode.MALFORMED_PACKET:
    case ReasonCode.PROTOCOL_ERROR:
      return undefined;
    case ReasonCode.UNSUPPORTED_PROTOCOL_VERSION:
      return ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION;
    case ReasonCode.CLIENT_IDENTIFIER_NOT_VALID:
      return ConnackReturnCode.IDENTIFIER_REJECTED;
    case ReasonCode.BAD_USER_NAME_OR_PASSWORD:
      return ConnackReturnCode.BAD_USER_NAME_OR_PASSWORD;
    case ReasonCode.NOT_AUTHORIZED:
    case ReasonCode.BANNED:
    case ReasonCode.BAD_AUTHENTICATION_METHOD:
      return ConnackReturnCode.NOT_AUTHORIZED;
    default:
      return ConnackReturnCode.SERVER_UNAVAILABLE;
  }
}

/**
 * The CONNACK that refuses a connection for an MQTT 5 reason code, in the client's version; none
 * when 3.1.1 has no return code for it (the connection is just closed [MQTT-3.1.1 3.1.4-1]).
 */
export function connackRefusal(version: ProtocolVersion, reasonCode: number): ConnackPacket | undefined {
  const code = version === 5 ? reasonCode : connackReturnCodeV3(reasonCode);
  return code === undefined ? undefined : { cmd: 'connack', sessionPresent: false, reasonCode: code };
}

/** The 5.0 reason code closest to a 3.1/3.1.1 CONNACK return code (for logs and tools). */
export function connackReasonFromV3(returnCode: number): number {
  switch (returnCode) {
    case ConnackReturnCode.ACCEPTED:
      return ReasonCode.SUCCESS;
    case ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION:
      return ReasonCode.UNSUPPORTED_PROTOCOL_VERSION;
    case ConnackReturnCode.IDENTIFIER_REJECTED:
      return ReasonCode.CLIENT_IDENTIFIER_NOT_VALID;
    case ConnackReturnCode.SERVER_UNAVAILABLE:
      return ReasonCode.SERVER_UNAVAILABLE;
    case ConnackReturnCode.BAD_USER_NAME_OR_PASSWORD:
      return ReasonCode.BAD_USER_NAME_OR_PASSWORD;
    case ConnackReturnCode.NOT_AUTHORIZED:
      return ReasonCode.NOT_AUTHORIZED;
    default:
      return ReasonCode.UNSPECIFIED_ERROR;
  }
}

const TYPE_NAMES = [
  'reserved type 0',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

export function packetTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`;

/** Why the codec rejected a packet: the indices of asm/codec/status.ts, with their reason codes. */
export const DecodeError = {
  NONE: 0,
  TYPE_RESERVED: 1,
  FLAGS_RESERVED: 2,
  REMAINING_LENGTH_TOO_LONG: 3,
  VARINT_NOT_MINIMAL: 4,
  TOO_LARGE: 5,
  TRUNCATED: 6,
  TRAILING: 7,
  UTF8_INVALID: 8,
  UTF8_NULL: 9,
  PACKET_ID_ZERO: 10,
  QOS_INVALID: 11,
  DUP_WITH_QOS_0: 12,
  TOPIC_WILDCARD: 13,
  TOPIC_EMPTY: 14,
  PROTOCOL_NAME: 15,
  PROTOCOL_LEVEL: 16,
  CONNECT_RESERVED: 17,
  WILL_FLAGS: 18,
  WILL_QOS: 19,
  PASSWORD_WITHOUT_USERNAME: 20,
  CLIENT_ID_INVALID: 21,
  CONNACK_FLAGS: 22,
  CONNACK_RETURN_CODE: 23,
  SESSION_PRESENT_ON_ERROR: 24,
  PROPERTY_UNKNOWN: 25,
  PROPERTY_NOT_ALLOWED: 26,
  PROPERTY_DUPLICATE: 27,
  PROPERTY_VALUE: 28,
  PROPERTY_LENGTH: 29,
  REASON_CODE_INVALID: 30,
  NO_FILTERS: 31,
  FILTER_EMPTY: 32,
  SUBSCRIPTION_OPTIONS_RESERVED: 33,
  RETAIN_HANDLING: 34,
  SHARED_NO_LOCAL: 35,
  SERVER_ONLY: 36,
  SUBSCRIPTION_ID_FROM_CLIENT: 37,
  PAYLOAD_UTF8: 38,
  AUTH_DATA_WITHOUT_METHOD: 39,
  RESPONSE_TOPIC_WILDCARD: 40,
  REASON_LIST_EMPTY: 41,
  VERSION_INVALID: 42,
  ENCODE_TYPE: 43,
  ENCODE_FIELD: 44,
  ENCODE_PROPERTY: 45,
  ENCODE_SPAN: 46,
  INPUT_OUTSIDE_MEMORY: 47,
  SUBSCRIPTION_QOS: 48,
  TOPIC_ALIAS_ZERO: 49,
} as const;

const M = ReasonCode.MALFORMED_PACKET;
const P = ReasonCode.PROTOCOL_ERROR;
const U = ReasonCode.UNSPECIFIED_ERROR;

/** [reason code, message(detail, type)] per DecodeError index (the same order). */
const ERROR_TABLE: ReadonlyArray<readonly [number, (d: number, t: number) => string]> = [
  [0, () => 'no error'],
  [M, (d) => `packet type ${d} is reserved`],
  [
    M,
    (d) =>
      `reserved flag bits of ${packetTypeName(d)} must be ${d === 6 || d === 8 || d === 10 ? '0010' : '0000'}`,
  ],
  [M, () => 'remaining length or variable byte integer longer than 4 bytes'],
  [M, () => 'variable byte integer not in its shortest form'],
  [ReasonCode.PACKET_TOO_LARGE, (d) => `packet of ${d} bytes exceeds the maximum packet size`],
  [M, (_d, t) => `${packetTypeName(t)} ends inside a field`],
  [M, (d, t) => `${d} bytes after the last field of ${packetTypeName(t)}`],
  [M, (d) => `string is not well-formed UTF-8 (byte ${hex(d)})`],
  [M, () => 'string contains U+0000'],
  [M, (_d, t) => `${packetTypeName(t)} has packet identifier 0`],
  [M, () => 'QoS 3 is not a valid QoS'],
  [M, () => 'DUP flag set on a QoS 0 PUBLISH'],
  [ReasonCode.TOPIC_NAME_INVALID, () => "topic name contains a wildcard ('+' or '#')"],
  [P, () => 'empty topic name (allowed only with a Topic Alias in MQTT 5)'],
  [ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, () => "protocol name is not 'MQTT' or 'MQIsdp'"],
  [ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, (d) => `protocol level ${d} does not match the protocol name`],
  [M, () => 'reserved bit 0 of the CONNECT flags must be 0'],
  [M, () => 'will QoS or will retain set without the will flag'],
  [M, () => 'will QoS 3'],
  [M, () => 'password flag set without the user name flag'],
  [ReasonCode.CLIENT_IDENTIFIER_NOT_VALID, (d) => `client identifier of ${d} bytes is not valid here`],
  [M, (d) => `reserved bits of the CONNACK flags must be 0 (got ${hex(d)})`],
  [M, (d) => `CONNACK return code ${d} is reserved`],
  [P, () => 'session present set on a refused connection'],
  [M, (d) => `unknown property identifier ${hex(d)}`],
  [M, (d, t) => `property ${hex(d)} is not allowed in ${packetTypeName(t)}`],
  [P, (d) => `property ${hex(d)} appears twice`],
  [P, (d) => `property ${hex(d)} has a value out of range`],
  [M, (d) => `property length ${d} runs past the end of the packet`],
  [M, (d, t) => `reason code ${hex(d)} is not allowed in ${packetTypeName(t)}`],
  [P, (_d, t) => `${packetTypeName(t)} has no topic filters`],
  [M, () => 'empty topic filter'],
  [M, (d) => `reserved bits of the subscription options must be 0 (got ${hex(d)})`],
  [P, () => 'retain handling 3 is not valid'],
  [P, () => 'no local set on a shared subscription'],
  [P, (d) => `${packetTypeName(d)} is sent only by servers`],
  [P, () => 'a PUBLISH from a client carries a subscription identifier'],
  [
    ReasonCode.PAYLOAD_FORMAT_INVALID,
    () => 'payload is not UTF-8 although the payload format indicator is 1',
  ],
  [P, () => 'authentication data without an authentication method'],
  [P, () => 'response topic contains a wildcard'],
  [M, (_d, t) => `${packetTypeName(t)} has no reason codes`],
  [ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, (d) => `protocol level ${d} is not 3, 4 or 5`],
  [U, (d) => `cannot encode packet type ${d}`],
  [U, (d) => `invalid field at record offset ${d}`],
  [U, (d) => `invalid property ${hex(d)}`],
  [U, (d) => `span at record offset ${d} is outside the memory`],
  [U, (d) => `the ${d} input bytes are not inside the WASM memory`],
  [P, () => 'maximum QoS 3 in the subscription options'],
  [ReasonCode.TOPIC_ALIAS_INVALID, () => 'Topic Alias 0 is not allowed'],
];

/** The MQTT 5 reason code for a DecodeError index (the same table asm/codec/status.ts keeps). */
export function decodeErrorReasonCode(index: number): number {
  return ERROR_TABLE[index]?.[0] ?? U;
}

/** A message saying what was wrong, for logs and the DISCONNECT Reason String. */
export function decodeErrorMessage(index: number, detail: number, packetType: number): string {
  const entry = ERROR_TABLE[index];
  return entry ? entry[1](detail, packetType) : `unknown decode error ${index}`;
}

export const DECODE_ERROR_COUNT = ERROR_TABLE.length;
