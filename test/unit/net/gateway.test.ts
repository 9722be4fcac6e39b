import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway as GatewayType, shardOf as shardOfType } from '../../../src/net/gateway.js';
import type { listenTcp as listenTcpType, TcpListener } from '../../../src/net/tcp-listener.js';
import { distModule } from '../../helpers/dist.js';

const { Gateway, shardOf } = (await import(distModule('src/net/gateway.ts'))) as {
  Gateway: typeof GatewayType;
  shardOf: typeof shardOfType;
};
const { listenTcp } = (await import(distModule('src/net/tcp-listener.ts'))) as {
  listenTcp: typeof listenTcpType;
};

const logic = new URL('../../fixtures/echo-logic.mjs', import.meta.url).href;
let gateway: GatewayType;
let server: TcpListener;
let port: number;
const refused = new Set(['bad-user']);

beforeAll(async () => {
  gateway = new Gateway({
    shards: 2,
    logic,
    maxPacketSize: 1000,
    memoryBytes: 16 << 20,
    ringCapacity: 1 << 16,
    authenticate: async ({ username }) => !refused.has(username ?? ''),
  });
  await gateway.start();
  server = await listenTcp(gateway, { host: '127.0.0.1', port: 0 });
  port = server.port;
});

afterAll(async () => {
  server.close();
  await gateway.close();
});

/** A client that collects every byte it receives and knows when the server closed. */
function client() {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  let waiters: Array<() => void> = [];
  let ended = false;
  const wake = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  socket.on('data', (d) => {
    received = Buffer.concat([received, d]);
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  socket.on('error', () => {});
  const until = async (predicate: () => boolean) => {
    while (!predicate()) await new Promise<void>((r) => waiters.push(r));
  };
  return {
    socket,
    received: () => received,
    ended: () => ended,
    bytes: async (n: number) => {
      await until(() => received.length >= n || ended);
      return received;
    },
    line: async () => {
      await until(() => received.includes(10) || ended);
      return received.toString('latin1', 0, received.indexOf(10));
    },
    closed: () => until(() => ended),
  };
}

function connectPacket(
  clientId: string,
  protocolVersion: 4 | 5 = 4,
  extra: Record<string, unknown> = {},
): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clean: true,
    keepalive: 60,
    clientId,
    ...extra,
  });
}

describe('gateway over TCP', () => {
  it('routes a CONNECT to the shard its client ID hashes to, then moves whole packets both ways', async () => {
    const c = client();
    const connectBytes = connectPacket('dev-1');
    c.socket.write(connectBytes);
    expect(await c.line()).toBe(`OPEN ${shardOf('dev-1', 2)} dev-1 0 ${connectBytes.length}`);
    const start = c.received().length;
    // A PUBLISH sent one byte at a time reaches the shard as one whole packet, echoed as such.
    const publish = mqttPacket.generate({
      cmd: 'publish',
      topic: 'a/b',
      payload: Buffer.from('x'.repeat(300)),
      qos: 0,
      dup: false,
      retain: false,
    });
    for (const b of publish) c.socket.write(Buffer.of(b));
    expect((await c.bytes(start + publish.length)).subarray(start)).toEqual(publish);
    c.socket.destroy();
  });

  it('assigns a client ID to an empty one in MQTT 5 [MQTT-5.0 3.1.3-6]', async () => {
    const c = client();
    c.socket.write(connectPacket('', 5));
    expect(await c.line()).toMatch(/^OPEN [01] weir-[\w-]{12} 1 \d+$/);
    c.socket.destroy();
  });

  it('refuses an empty client ID without Clean Session in 3.1.1 with return code 0x02 [MQTT-3.1.1 3.1.3-8]', async () => {
    const c = client();
    // mqtt-packet will not generate this CONNECT, so here are its bytes: level 4, flags 0, keep-alive 60.
    c.socket.write(Buffer.of(0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 60, 0, 0));
    await c.closed();
    expect(c.received()).toEqual(Buffer.of(0x20, 0x02, 0x00, 0x02));
  });

  it('closes a connection whose first packet is not CONNECT [MQTT-3.1.1 3.1.0-1]', async () => {
    const c = client();
    c.socket.write(Buffer.of(0xc0, 0x00));
    await c.closed();
    expect(c.received().length).toBe(0);
  });

  it('answers an unsupported protocol level with return code 0x01 and closes [MQTT-3.1.1 3.1.2-2]', async () => {
    const c = client();
    const bytes = connectPacket('v6');
    bytes[8] = 6; // the Protocol Level byte
    c.socket.write(bytes);
    await c.closed();
    expect(c.received()).toEqual(Buffer.of(0x20, 0x02, 0x00, 0x01));
  });

  it('refuses what the authentication hook refuses: 0x87 in MQTT 5, 0x05 in 3.1.1', async () => {
    const v5 = client();
    v5.socket.write(connectPacket('x', 5, { username: 'bad-user' }));
    await v5.closed();
    expect(v5.received()).toEqual(Buffer.of(0x20, 0x03, 0x00, 0x87, 0x00));
    const v4 = client();
    v4.socket.write(connectPacket('y', 4, { username: 'bad-user' }));
    await v4.closed();
    expect(v4.received()).toEqual(Buffer.of(0x20, 0x02, 0x00, 0x05));
  });

  it('closes a connection that announces a packet above the maximum size', async () => {
    const c = client();
    c.socket.write(connectPacket('big'));
    await c.line();
    c.socket.write(Buffer.of(0x30, 0xe9, 0x07)); // Remaining Length 1001 > 1000
    await c.closed();
  });

  it('closes the socket when the shard says so', async () => {
    const c = client();
    c.socket.write(connectPacket('dev-2'));
    await c.line();
    c.socket.write(Buffer.of(0xe0, 0x00));
    await c.closed();
  });

  // Runs last: every connection above has closed, some by the client, some by the gateway
  // (framing error, refusal), some by the shard.
  it('forgets every closed connection and tells its shard, before an id is reused', async () => {
    for (let i = 0; i < 50 && gateway.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(gateway.connectionCount).toBe(0);
    // Each shard holds only the connection that asks it.
    for (const shard of [0, 1]) {
      let id = 0;
      while (shardOf(`probe-${id}`, 2) !== shard) id++;
      const c = client();
      c.socket.write(connectPacket(`probe-${id}`));
      await c.line();
      const start = c.received().length;
      c.socket.write(Buffer.of(0xc0, 0x00));
      await c.bytes(start + 8);
      expect(c.received().toString('latin1', start)).toBe('COUNT 1\n');
      c.socket.destroy();
    }
  });
});
