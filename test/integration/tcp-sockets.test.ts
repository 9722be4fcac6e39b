// Plain TCP on both socket layers (--tcp-sockets handle, the default, and net): what a client
// sees must not depend on which one the broker runs. The rest of the suite runs on the default.
import { networkInterfaces } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientInfo } from '../../src/net/gateway.js';
import type { ConnectPacket } from '../../src/protocol/packets.js';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { startBroker, useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) =>
  list?.some((i) => i.internal && i.family === 'IPv6' && i.address === '::1'),
);

function connect(clientId: string, version: 4 | 5 = 4, extra: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clientId,
    clean: true,
    keepalive: 0,
    ...extra,
  };
}

describe.each(['handle', 'net'] as const)('--tcp-sockets %s', (tcpSockets) => {
  const suite = useBroker({ tcpSockets, maxPacketSize: 2_000_000 });
  const events: Array<[string, ClientInfo]> = [];

  beforeAll(() => {
    suite.broker.on('client.connected', (info) => events.push(['connected', info]));
    suite.broker.on('client.disconnected', (info) => events.push(['disconnected', info]));
  });

  /** A client connected (CONNACK read) with `connect(...)`'s packet. */
  async function session(...args: Parameters<typeof connect>): Promise<RawClient> {
    const c = await RawClient.connect(suite.port);
    c.send(connect(...args));
    await c.next();
    return c;
  }

  it('reports the client address as address:port in client.connected', async () => {
    const c = await RawClient.connect(suite.port);
    c.send(connect('where-am-i'));
    expect(await c.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    const seen = events.find(([e, i]) => e === 'connected' && i.clientId === 'where-am-i');
    expect(seen?.[1].remoteAddress).toBe(`127.0.0.1:${c.socket.localPort}`);
    await c.end();
  });

  it('delivers a 1.5 MB message whole to a subscriber that reads it in pieces', async () => {
    const sub = await session('big-sub');
    await sub.subscribe({ topic: 'big', qos: 1 });
    const pub = await session('big-pub');
    // Bigger than what one write puts into the socket, so the rest is written asynchronously.
    const payload = Buffer.alloc(1_500_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    await pub.publishAcked('big', payload, { qos: 1 });
    const got = await sub.next(5000);
    expect(got).toMatchObject({ cmd: 'publish', topic: 'big', qos: 1 });
    expect(Buffer.from((got as { payload: Uint8Array }).payload).equals(payload)).toBe(true);
    await sub.end();
    await pub.end();
  });

  it('holds QoS 1 messages for a subscriber that stops reading, and sends them all in order once it reads again', async () => {
    const sub = await session('stops-reading');
    await sub.subscribe({ topic: 'stall', qos: 1 });
    sub.socket.pause();
    const pub = await session('stall-pub');
    // 300 x 64 KiB: more than the socket buffers on both sides and the 1 MiB write budget, so
    // the broker's writes go asynchronous, the shard is told to stop, and is told when to go on.
    const payload = Buffer.alloc(64 * 1024, 0x5a);
    for (let i = 0; i < 300; i++) {
      payload.writeUInt32BE(i, 0);
      await pub.publishAcked('stall', payload, { qos: 1 });
    }
    sub.socket.resume();
    const seq: number[] = [];
    for (let i = 0; i < 300; i++) {
      const p = (await sub.next(5000)) as { cmd: string; payload: Uint8Array };
      expect(p.cmd).toBe('publish');
      seq.push(Buffer.from(p.payload).readUInt32BE(0));
    }
    expect(seq).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await sub.end();
    await pub.end();
  });

  it('[MQTT-5.0 4.13.1-1] sends DISCONNECT 0x95 before closing on a packet over the maximum', async () => {
    const c = await RawClient.connect(suite.port);
    c.send(connect('too-big', 5));
    expect(await c.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    // A PUBLISH header announcing 3,000,000 bytes (over --max-packet-size 2,000,000).
    c.send(Buffer.from([0x30, 0xc0, 0x8d, 0xb7, 0x01]));
    const last = await c.expectClosed();
    expect(last).toEqual([
      expect.objectContaining({ cmd: 'disconnect', reasonCode: ReasonCode.PACKET_TOO_LARGE }),
    ]);
  });

  it('[MQTT-3.1.1 3.1.2-8] publishes the will of a client that half-closes without DISCONNECT', async () => {
    const watcher = await session('will-watcher');
    await watcher.subscribe('wills/#');
    const c = await session('half-closer', 4, {
      will: { topic: 'wills/half-closer', payload: Buffer.from('gone'), qos: 0, retain: false },
    });
    await c.end(); // FIN, no DISCONNECT: the broker closes its side too
    expect(c.closed).toBe(true);
    expect(await watcher.next()).toMatchObject({ cmd: 'publish', topic: 'wills/half-closer' });
    await watcher.end();
  });

  it('ends the session of a client reset mid-packet and reports it disconnected', async () => {
    const c = await session('reset-me');
    c.send(Buffer.from([0x30, 0x10, 0x00])); // a PUBLISH cut short
    c.socket.resetAndDestroy();
    const until = Date.now() + 3000;
    while (
      !events.some(([e, i]) => e === 'disconnected' && i.clientId === 'reset-me') &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const gone = events.find(([e, i]) => e === 'disconnected' && i.clientId === 'reset-me');
    expect(gone?.[1].remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('--tcp-sockets handle listens where asked', () => {
  /** A broker on `host` answers a client that connects to `host`. */
  async function answersOn(host: string, clientId: string): Promise<void> {
    const b = await startBroker({ host });
    try {
      const c = await RawClient.connect(b.ports.tcp!, host);
      c.send(connect(clientId));
      expect(await c.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
      await c.end();
    } finally {
      await b.close();
    }
  }

  it.runIf(hasIpv6Loopback)('on ::1 (IPv6)', () => answersOn('::1', 'v6'));

  it('on a host name (localhost), resolved first', () => answersOn('localhost', 'by-name'));
});
