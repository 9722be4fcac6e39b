// Golden vectors: each is one packet in canonical wire form and its readable form. The codec must
// decode `bytes` to `packet` and encode `packet` to `bytes` (test/codec/<family>.test.ts); the fuzz
// test mutates every byte of every vector. The byte builders below only concatenate: lengths are
// counted here, independently of the codec. Checked once against mqtt-packet 9.0.2: it parses every
// vector to the same packet and generates the same bytes, except where it is not canonical (v5
// acks with a reason code and no properties, and DISCONNECT/AUTH with neither, which it writes
// with a property length) and the 5.0 password without a user name, which it refuses.
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';

export interface Vector {
  name: string;
  version: ProtocolVersion;
  bytes: number[];
  packet: Packet;
}

const enc = new TextEncoder();
/** UTF-8 bytes of a string, as a Uint8Array (for payloads and binary fields). */
export const b = (s: string): Uint8Array => enc.encode(s);
/** A length-prefixed UTF-8 string or binary. */
export const str = (s: string | number[]): number[] => {
  const bytes = typeof s === 'string' ? [...enc.encode(s)] : s;
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};
export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
export const vbi = (n: number): number[] => {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    out.push(d);
  } while (n > 0);
  return out;
};
/** A whole packet: first byte, Remaining Length, then the parts. */
export const pkt = (first: number, ...parts: number[][]): number[] => {
  const body = parts.flat();
  return [first, ...vbi(body.length), ...body];
};
/** A property block: Property Length, then the items. */
export const props = (...items: number[][]): number[] => {
  const body = items.flat();
  return [...vbi(body.length), ...body];
};
export const up = (k: string, v: string): number[] => [0x26, ...str(k), ...str(v)];

const MQTT = str('MQTT');
const MQISDP = str('MQIsdp');

const connect: Vector[] = [
  {
    name: 'CONNECT 3.1 minimal',
    version: 3,
    bytes: pkt(0x10, MQISDP, [3, 0x02], u16(30), str('c1')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clean: true,
      keepalive: 30,
      clientId: 'c1',
    },
  },
  {
    name: 'CONNECT 3.1 with will, username and password',
    version: 3,
    bytes: pkt(0x10, MQISDP, [3, 0xce], u16(10), str('c1'), str('w/t'), str('bye'), str('u'), str('p')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clean: true,
      keepalive: 10,
      clientId: 'c1',
      will: { topic: 'w/t', payload: b('bye'), qos: 1, retain: false },
      username: 'u',
      password: b('p'),
    },
  },
  {
    name: 'CONNECT 3.1.1 minimal',
    version: 4,
    bytes: pkt(0x10, MQTT, [4, 0x02], u16(60), str('test')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: 'test',
    },
  },
  {
    name: 'CONNECT 3.1.1 empty client id, keepalive 0',
    version: 4,
    bytes: pkt(0x10, MQTT, [4, 0x02], u16(0), str('')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: '',
    },
  },
  {
    name: 'CONNECT 3.1.1 will QoS 1 retain, username, password, persistent session',
    version: 4,
    bytes: pkt(
      0x10,
      MQTT,
      [4, 0xec],
      u16(65535),
      str('client-ü'),
      str('last/will'),
      str('gone'),
      str('user'),
      str('secret'),
    ),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: false,
      keepalive: 65535,
      clientId: 'client-ü',
      will: { topic: 'last/will', payload: b('gone'), qos: 1, retain: true },
      username: 'user',
      password: b('secret'),
    },
  },
  {
    name: 'CONNECT 3.1.1 will QoS 2 with an empty payload, username only',
    version: 4,
    bytes: pkt(0x10, MQTT, [4, 0x96], u16(5), str('id'), str('w'), str(''), str('u')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 5,
      clientId: 'id',
      will: { topic: 'w', payload: new Uint8Array(0), qos: 2, retain: false },
      username: 'u',
    },
  },
  {
    name: 'CONNECT 5.0 minimal (empty property block)',
    version: 5,
    bytes: pkt(0x10, MQTT, [5, 0x02], u16(60), props(), str('c5')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 60,
      clientId: 'c5',
    },
  },
  {
    name: 'CONNECT 5.0 with every CONNECT property',
    version: 5,
    bytes: pkt(
      0x10,
      MQTT,
      [5, 0x02],
      u16(30),
      props(
        [0x11, ...u32(3600)],
        [0x15, ...str('SCRAM-SHA-1')],
        [0x16, ...str([1, 2, 3])],
        [0x17, 0],
        [0x19, 1],
        [0x21, ...u16(100)],
        [0x22, ...u16(10)],
        up('a', '1'),
        up('a', '2'),
        [0x27, ...u32(1048576)],
      ),
      str('c5'),
    ),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 30,
      clientId: 'c5',
      properties: {
        sessionExpiryInterval: 3600,
        authenticationMethod: 'SCRAM-SHA-1',
        authenticationData: Uint8Array.of(1, 2, 3),
        requestProblemInformation: 0,
        requestResponseInformation: 1,
        receiveMaximum: 100,
        topicAliasMaximum: 10,
        userProperties: [
          ['a', '1'],
          ['a', '2'],
        ],
        maximumPacketSize: 1048576,
      },
    },
  },
  {
    name: 'CONNECT 5.0 will with every will property, username and password',
    version: 5,
    bytes: pkt(
      0x10,
      MQTT,
      [5, 0xf4],
      u16(10),
      props([0x11, ...u32(10)]),
      str('c'),
      props(
        [0x01, 1],
        [0x02, ...u32(60)],
        [0x03, ...str('text/plain')],
        [0x08, ...str('resp/t')],
        [0x09, ...str([9, 9])],
        [0x18, ...u32(5)],
        up('k', 'v'),
      ),
      str('will/t'),
      str('bye'),
      str('user'),
      str('pw'),
    ),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: false,
      keepalive: 10,
      clientId: 'c',
      properties: { sessionExpiryInterval: 10 },
      will: {
        topic: 'will/t',
        payload: b('bye'),
        qos: 2,
        retain: true,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 60,
          contentType: 'text/plain',
          responseTopic: 'resp/t',
          correlationData: Uint8Array.of(9, 9),
          willDelayInterval: 5,
          userProperties: [['k', 'v']],
        },
      },
      username: 'user',
      password: b('pw'),
    },
  },
  {
    name: 'CONNECT 5.0 password without username, will without properties',
    version: 5,
    bytes: pkt(0x10, MQTT, [5, 0x46], u16(0), props(), str('c'), props(), str('t'), str('x'), str('pw')),
    packet: {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 0,
      clientId: 'c',
      will: { topic: 't', payload: b('x'), qos: 0, retain: false },
      password: b('pw'),
    },
  },
];

const connack: Vector[] = [
  {
    name: 'CONNACK 3.1 accepted',
    version: 3,
    bytes: [0x20, 2, 0, 0],
    packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0 },
  },
  {
    name: 'CONNACK 3.1 identifier rejected',
    version: 3,
    bytes: [0x20, 2, 0, 2],
    packet: { cmd: 'connack', sessionPresent: false, reasonCode: 2 },
  },
  {
    name: 'CONNACK 3.1.1 accepted, session present',
    version: 4,
    bytes: [0x20, 2, 1, 0],
    packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0 },
  },
  {
    name: 'CONNACK 3.1.1 not authorized',
    version: 4,
    bytes: [0x20, 2, 0, 5],
    packet: { cmd: 'connack', sessionPresent: false, reasonCode: 5 },
  },
  {
    name: 'CONNACK 5.0 success, no properties',
    version: 5,
    bytes: [0x20, 3, 0, 0, 0],
    packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0 },
  },
  {
    name: 'CONNACK 5.0 with every CONNACK property',
    version: 5,
    bytes: pkt(
      0x20,
      [1, 0],
      props(
        [0x11, ...u32(120)],
        [0x12, ...str('auto-1')],
        [0x13, ...u16(45)],
        [0x15, ...str('m')],
        [0x16, ...str([7])],
        [0x1a, ...str('info')],
        [0x1c, ...str('other:1883')],
        [0x1f, ...str('welcome')],
        [0x21, ...u16(20)],
        [0x22, ...u16(5)],
        [0x24, 1],
        [0x25, 0],
        up('x', 'y'),
        [0x27, ...u32(65536)],
        [0x28, 1],
        [0x29, 0],
        [0x2a, 1],
      ),
    ),
    packet: {
      cmd: 'connack',
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 120,
        assignedClientIdentifier: 'auto-1',
        serverKeepAlive: 45,
        authenticationMethod: 'm',
        authenticationData: Uint8Array.of(7),
        responseInformation: 'info',
        serverReference: 'other:1883',
        reasonString: 'welcome',
        receiveMaximum: 20,
        topicAliasMaximum: 5,
        maximumQoS: 1,
        retainAvailable: 0,
        userProperties: [['x', 'y']],
        maximumPacketSize: 65536,
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifierAvailable: 0,
        sharedSubscriptionAvailable: 1,
      },
    },
  },
  {
    name: 'CONNACK 5.0 not authorized with a reason string',
    version: 5,
    bytes: pkt(0x20, [0, 0x87], props([0x1f, ...str('no')])),
    packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0x87, properties: { reasonString: 'no' } },
  },
];

const publish: Vector[] = [
  {
    name: 'PUBLISH 3.1.1 QoS 0',
    version: 4,
    bytes: pkt(0x30, str('a/b'), [...b('hello')]),
    packet: { cmd: 'publish', topic: 'a/b', payload: b('hello'), qos: 0, dup: false, retain: false },
  },
  {
    name: 'PUBLISH 3.1.1 QoS 1 retain',
    version: 4,
    bytes: pkt(0x33, str('t'), u16(10), [1, 2, 3]),
    packet: {
      cmd: 'publish',
      topic: 't',
      payload: Uint8Array.of(1, 2, 3),
      qos: 1,
      dup: false,
      retain: true,
      messageId: 10,
    },
  },
  {
    name: 'PUBLISH 3.1.1 QoS 2 DUP retain, empty payload',
    version: 4,
    bytes: pkt(0x3d, str('x/y/z'), u16(65535)),
    packet: {
      cmd: 'publish',
      topic: 'x/y/z',
      payload: new Uint8Array(0),
      qos: 2,
      dup: true,
      retain: true,
      messageId: 65535,
    },
  },
  {
    name: 'PUBLISH 3.1.1 QoS 0 with a 200-byte payload (2-byte remaining length)',
    version: 4,
    bytes: pkt(0x30, str('big'), new Array<number>(200).fill(0x61)),
    packet: {
      cmd: 'publish',
      topic: 'big',
      payload: new Uint8Array(200).fill(0x61),
      qos: 0,
      dup: false,
      retain: false,
    },
  },
  {
    name: 'PUBLISH 5.0 QoS 0, no properties',
    version: 5,
    bytes: pkt(0x30, str('a/b'), props(), [...b('hi')]),
    packet: { cmd: 'publish', topic: 'a/b', payload: b('hi'), qos: 0, dup: false, retain: false },
  },
  {
    name: 'PUBLISH 5.0 QoS 1 with every PUBLISH property (server to client)',
    version: 5,
    bytes: pkt(
      0x32,
      str('s/t'),
      u16(7),
      props(
        [0x01, 1],
        [0x02, ...u32(30)],
        [0x03, ...str('json')],
        [0x08, ...str('reply/here')],
        [0x09, ...str([0xca, 0xfe])],
        [0x0b, ...vbi(1)],
        [0x0b, ...vbi(268435455)],
        [0x23, ...u16(3)],
        up('k1', 'v1'),
        up('k1', 'v2'),
      ),
      [...b('{}')],
    ),
    packet: {
      cmd: 'publish',
      topic: 's/t',
      payload: b('{}'),
      qos: 1,
      dup: false,
      retain: false,
      messageId: 7,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 30,
        contentType: 'json',
        responseTopic: 'reply/here',
        correlationData: Uint8Array.of(0xca, 0xfe),
        subscriptionIdentifiers: [1, 268435455],
        topicAlias: 3,
        userProperties: [
          ['k1', 'v1'],
          ['k1', 'v2'],
        ],
      },
    },
  },
  {
    name: 'PUBLISH 5.0 QoS 2 DUP with an empty topic and a Topic Alias',
    version: 5,
    bytes: pkt(0x3c, str(''), u16(1), props([0x23, ...u16(9)]), [0]),
    packet: {
      cmd: 'publish',
      topic: '',
      payload: Uint8Array.of(0),
      qos: 2,
      dup: true,
      retain: false,
      messageId: 1,
      properties: { topicAlias: 9 },
    },
  },
  {
    name: 'PUBLISH 5.0 retain, empty payload (clears a retained message)',
    version: 5,
    bytes: pkt(0x31, str('r'), props()),
    packet: { cmd: 'publish', topic: 'r', payload: new Uint8Array(0), qos: 0, dup: false, retain: true },
  },
];

type AckCmd = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const ACKS: Array<[AckCmd, number, number]> = [
  ['puback', 0x40, 0x10],
  ['pubrec', 0x50, 0x90],
  ['pubrel', 0x62, 0x92],
  ['pubcomp', 0x70, 0x92],
];
const ack: Vector[] = ACKS.flatMap(([cmd, first, rc]): Vector[] => {
  const NAME = cmd.toUpperCase();
  return [
    { name: `${NAME} 3.1.1`, version: 4, bytes: [first, 2, 0, 42], packet: { cmd, messageId: 42 } },
    {
      name: `${NAME} 5.0 shortest form (success, no properties)`,
      version: 5,
      bytes: [first, 2, 1, 0],
      packet: { cmd, messageId: 256, reasonCode: 0 },
    },
    {
      name: `${NAME} 5.0 reason code only`,
      version: 5,
      bytes: [first, 3, 0, 5, rc],
      packet: { cmd, messageId: 5, reasonCode: rc },
    },
    {
      name: `${NAME} 5.0 reason code and properties`,
      version: 5,
      bytes: pkt(first, u16(6), [rc], props([0x1f, ...str('why')], up('a', 'b'))),
      packet: {
        cmd,
        messageId: 6,
        reasonCode: rc,
        properties: { reasonString: 'why', userProperties: [['a', 'b']] },
      },
    },
    {
      name: `${NAME} 5.0 success with properties`,
      version: 5,
      bytes: pkt(first, u16(7), [0], props(up('a', 'b'))),
      packet: { cmd, messageId: 7, reasonCode: 0, properties: { userProperties: [['a', 'b']] } },
    },
  ];
});

const subscribe: Vector[] = [
  {
    name: 'SUBSCRIBE 3.1.1 one filter QoS 0',
    version: 4,
    bytes: pkt(0x82, u16(1), str('a/+'), [0]),
    packet: { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] },
  },
  {
    name: 'SUBSCRIBE 3.1.1 three filters QoS 0/1/2',
    version: 4,
    bytes: pkt(0x82, u16(300), str('a'), [0], str('b/#'), [1], str('$SYS/x'), [2]),
    packet: {
      cmd: 'subscribe',
      messageId: 300,
      subscriptions: [
        { topic: 'a', qos: 0 },
        { topic: 'b/#', qos: 1 },
        { topic: '$SYS/x', qos: 2 },
      ],
    },
  },
  {
    name: 'SUBSCRIBE 5.0 options, subscription identifier and user property',
    version: 5,
    bytes: pkt(
      0x82,
      u16(2),
      props([0x0b, ...vbi(300)], up('u', 'v')),
      str('a/b'),
      [0x2e],
      str('$share/g/c'),
      [0x01],
    ),
    packet: {
      cmd: 'subscribe',
      messageId: 2,
      properties: { subscriptionIdentifiers: [300], userProperties: [['u', 'v']] },
      subscriptions: [
        { topic: 'a/b', qos: 2, nl: true, rap: true, rh: 2 },
        { topic: '$share/g/c', qos: 1, nl: false, rap: false, rh: 0 },
      ],
    },
  },
  {
    name: 'SUBSCRIBE 5.0 no properties',
    version: 5,
    bytes: pkt(0x82, u16(3), props(), str('#'), [0x10]),
    packet: {
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [{ topic: '#', qos: 0, nl: false, rap: false, rh: 1 }],
    },
  },
];

const suback: Vector[] = [
  {
    name: 'SUBACK 3.1.1 granted QoS 0/1/2 and failure',
    version: 4,
    bytes: pkt(0x90, u16(300), [0, 1, 2, 0x80]),
    packet: { cmd: 'suback', messageId: 300, granted: [0, 1, 2, 0x80] },
  },
  {
    name: 'SUBACK 5.0 with reason string',
    version: 5,
    bytes: pkt(0x90, u16(2), props([0x1f, ...str('partly')]), [0, 1, 0x87, 0xa2]),
    packet: {
      cmd: 'suback',
      messageId: 2,
      granted: [0, 1, 0x87, 0xa2],
      properties: { reasonString: 'partly' },
    },
  },
  {
    name: 'SUBACK 5.0 no properties',
    version: 5,
    bytes: pkt(0x90, u16(3), props(), [2]),
    packet: { cmd: 'suback', messageId: 3, granted: [2] },
  },
];

const unsubscribe: Vector[] = [
  {
    name: 'UNSUBSCRIBE 3.1.1 two filters',
    version: 4,
    bytes: pkt(0xa2, u16(4), str('a/+'), str('b/#')),
    packet: { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a/+', 'b/#'] },
  },
  {
    name: 'UNSUBSCRIBE 5.0 with a user property',
    version: 5,
    bytes: pkt(0xa2, u16(5), props(up('k', 'v')), str('x')),
    packet: {
      cmd: 'unsubscribe',
      messageId: 5,
      unsubscriptions: ['x'],
      properties: { userProperties: [['k', 'v']] },
    },
  },
  {
    name: 'UNSUBSCRIBE 5.0 no properties',
    version: 5,
    bytes: pkt(0xa2, u16(6), props(), str('y/z')),
    packet: { cmd: 'unsubscribe', messageId: 6, unsubscriptions: ['y/z'] },
  },
];

const unsuback: Vector[] = [
  {
    name: 'UNSUBACK 3.1.1',
    version: 4,
    bytes: [0xb0, 2, 0, 4],
    packet: { cmd: 'unsuback', messageId: 4 },
  },
  {
    name: 'UNSUBACK 5.0 with reason string',
    version: 5,
    bytes: pkt(0xb0, u16(5), props([0x1f, ...str('ok')]), [0x00, 0x11]),
    packet: { cmd: 'unsuback', messageId: 5, granted: [0, 0x11], properties: { reasonString: 'ok' } },
  },
  {
    name: 'UNSUBACK 5.0 no properties',
    version: 5,
    bytes: pkt(0xb0, u16(6), props(), [0x8f]),
    packet: { cmd: 'unsuback', messageId: 6, granted: [0x8f] },
  },
];

const ping: Vector[] = [
  { name: 'PINGREQ 3.1.1', version: 4, bytes: [0xc0, 0], packet: { cmd: 'pingreq' } },
  { name: 'PINGRESP 3.1.1', version: 4, bytes: [0xd0, 0], packet: { cmd: 'pingresp' } },
  { name: 'PINGREQ 5.0', version: 5, bytes: [0xc0, 0], packet: { cmd: 'pingreq' } },
  { name: 'PINGRESP 5.0', version: 5, bytes: [0xd0, 0], packet: { cmd: 'pingresp' } },
];

const disconnect: Vector[] = [
  { name: 'DISCONNECT 3.1.1', version: 4, bytes: [0xe0, 0], packet: { cmd: 'disconnect' } },
  {
    name: 'DISCONNECT 5.0 shortest form (normal disconnection)',
    version: 5,
    bytes: [0xe0, 0],
    packet: { cmd: 'disconnect', reasonCode: 0 },
  },
  {
    name: 'DISCONNECT 5.0 reason code only (with will message)',
    version: 5,
    bytes: [0xe0, 1, 0x04],
    packet: { cmd: 'disconnect', reasonCode: 4 },
  },
  {
    name: 'DISCONNECT 5.0 with every DISCONNECT property',
    version: 5,
    bytes: pkt(
      0xe0,
      [0x9c],
      props([0x11, ...u32(0)], [0x1c, ...str('other')], [0x1f, ...str('moving')], up('a', 'b')),
    ),
    packet: {
      cmd: 'disconnect',
      reasonCode: 0x9c,
      properties: {
        sessionExpiryInterval: 0,
        serverReference: 'other',
        reasonString: 'moving',
        userProperties: [['a', 'b']],
      },
    },
  },
];

const auth: Vector[] = [
  {
    name: 'AUTH 5.0 shortest form (success)',
    version: 5,
    bytes: [0xf0, 0],
    packet: { cmd: 'auth', reasonCode: 0 },
  },
  {
    name: 'AUTH 5.0 continue authentication with method and data',
    version: 5,
    bytes: pkt(0xf0, [0x18], props([0x15, ...str('SCRAM')], [0x16, ...str([1, 2])], up('a', 'b'))),
    packet: {
      cmd: 'auth',
      reasonCode: 0x18,
      properties: {
        authenticationMethod: 'SCRAM',
        authenticationData: Uint8Array.of(1, 2),
        userProperties: [['a', 'b']],
      },
    },
  },
  {
    name: 'AUTH 5.0 re-authenticate with a reason string',
    version: 5,
    bytes: pkt(0xf0, [0x19], props([0x15, ...str('K')], [0x1f, ...str('again')])),
    packet: {
      cmd: 'auth',
      reasonCode: 0x19,
      properties: { authenticationMethod: 'K', reasonString: 'again' },
    },
  },
];

/** The vectors by packet family (one test file each). */
export const vectorsByFamily = {
  connect,
  connack,
  publish,
  ack,
  subscribe,
  suback,
  unsubscribe,
  unsuback,
  ping,
  disconnect,
  auth,
} as const;

export const vectors: Vector[] = Object.values(vectorsByFamily).flat();
