// Which packets may carry each MQTT 5 reason code (MQTT 5.0 §2.4, Table 2-6). A bit per packet
// type (1 << type); src/protocol/reason-codes.ts holds the names and the same table, and a test
// checks that they agree through `reasonCodePackets`.

export const enum PacketType {
  Reserved = 0,
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
  Auth = 15,
}

const CONNACK: u32 = 1 << PacketType.Connack;
const PUBACK: u32 = 1 << PacketType.Puback;
const PUBREC: u32 = 1 << PacketType.Pubrec;
const PUBREL: u32 = 1 << PacketType.Pubrel;
const PUBCOMP: u32 = 1 << PacketType.Pubcomp;
const SUBACK: u32 = 1 << PacketType.Suback;
const UNSUBACK: u32 = 1 << PacketType.Unsuback;
const DISCONNECT: u32 = 1 << PacketType.Disconnect;
const AUTH: u32 = 1 << PacketType.Auth;

/** The packet types (as a bit mask) that may carry reason code `rc`. */
export function reasonCodePackets(rc: i32): u32 {
  switch (rc) {
    case 0x00:
      return CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH;
    case 0x01:
    case 0x02:
      return SUBACK;
    case 0x04:
      return DISCONNECT;
    case 0x10:
      return PUBACK | PUBREC;
    case 0x11:
      return UNSUBACK;
    case 0x18:
    case 0x19:
      return AUTH;
    case 0x80:
    case 0x83:
    case 0x87:
      return CONNACK | PUBACK | PUBREC | SUBACK | UNSUBACK | DISCONNECT;
    case 0x81:
    case 0x82:
    case 0x89:
    case 0x8c:
    case 0x95:
    case 0x9a:
    case 0x9b:
    case 0x9c:
    case 0x9d:
    case 0x9f:
      return CONNACK | DISCONNECT;
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x88:
    case 0x8a:
      return CONNACK;
    case 0x8b:
    case 0x8d:
    case 0x8e:
    case 0x93:
    case 0x94:
    case 0x96:
    case 0x98:
    case 0xa0:
      return DISCONNECT;
    case 0x8f:
      return SUBACK | UNSUBACK | DISCONNECT;
    case 0x90:
    case 0x99:
      return CONNACK | PUBACK | PUBREC | DISCONNECT;
    case 0x91:
      return PUBACK | PUBREC | SUBACK | UNSUBACK;
    case 0x92:
      return PUBREL | PUBCOMP;
    case 0x97:
      return CONNACK | PUBACK | PUBREC | SUBACK | DISCONNECT;
    case 0x9e:
    case 0xa1:
    case 0xa2:
      return SUBACK | DISCONNECT;
    default:
      return 0;
  }
}

@inline export function reasonAllowed(type: i32, rc: i32): bool {
  return (reasonCodePackets(rc) & (1 << type)) != 0;
}

/** The 3.1.1 SUBACK return codes [MQTT-3.1.1 3.9.3-2]: 0x00, 0x01, 0x02, 0x80. */
@inline export function subackV3Allowed(rc: i32): bool {
  return rc <= 2 || rc == 0x80;
}
