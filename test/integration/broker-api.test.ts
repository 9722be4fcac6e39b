import { connect } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import type { ClientInfo } from '../../src/net/gateway.js';
import { startBroker } from '../helpers/broker.js';

const open: Array<MqttClient | Broker> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('endAsync' in x ? x.endAsync(true) : x.close());
});

async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const b = await startBroker(options);
  open.push(b);
  return b;
}
async function client(b: Broker, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.ports.tcp}`, {
    clientId,
    reconnectPeriod: 0,
    protocolVersion: 5,
  });
  open.push(c);
  return c;
}

describe('library API', () => {
  it('publish() from the host program reaches subscribers, and retained messages stay', async () => {
    const b = await broker();
    const sub = await client(b, 'host-sub');
    await sub.subscribeAsync('host/#', { qos: 1 });
    const got = new Promise<[string, string, number]>((r) =>
      sub.once('message', (t, p, pk) => r([t, p.toString(), pk.qos])),
    );
    expect(b.publish('host/1', 'from the host', { qos: 1 })).toBe(true);
    expect(await got).toEqual(['host/1', 'from the host', 1]);
    b.publish('host/kept', 'retained', { retain: true });
    const late = await client(b, 'host-late');
    const retained = new Promise<string>((r) => late.once('message', (_t, p) => r(p.toString())));
    await late.subscribeAsync('host/kept');
    expect(await retained).toBe('retained');
  });

  it('publish() refuses an invalid topic, and a broker that is not listening', async () => {
    const b = await broker();
    expect(() => b.publish('a/+/b', 'x')).toThrow(/cannot publish to "a\/\+\/b"/);
    await b.close();
    expect(() => b.publish('a', 'x')).toThrow(/call listen\(\) first/);
  });

  it('emits client.connected and client.disconnected', async () => {
    const b = await broker();
    const events: Array<[string, ClientInfo]> = [];
    b.on('client.connected', (info) => events.push(['connected', info]));
    const gone = new Promise<void>((r) =>
      b.on('client.disconnected', (info) => (events.push(['disconnected', info]), r())),
    );
    const c = await client(b, 'watched');
    await c.endAsync();
    await gone;
    expect(events.map(([e, i]) => [e, i.clientId, i.protocolVersion])).toEqual([
      ['connected', 'watched', 5],
      ['disconnected', 'watched', 5],
    ]);
  });

  it('publishes $SYS/broker/... counters, retained, every sys-interval seconds', async () => {
    const b = await broker({ sysInterval: 1 });
    const c = await client(b, 'sys-reader');
    const seen = new Map<string, string>();
    const enough = new Promise<void>((r) =>
      c.on('message', (t, p) => {
        seen.set(t, p.toString());
        if (seen.has('$SYS/broker/clients/connected') && seen.has('$SYS/broker/uptime')) r();
      }),
    );
    await c.subscribeAsync('$SYS/broker/#');
    await enough;
    expect(seen.get('$SYS/broker/clients/connected')).toBe('1');
    expect(seen.get('$SYS/broker/version')).toMatch(/^weir version \d+\.\d+\.\d+$/);
    expect(seen.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
  });

  it('closes connections beyond max-connections at once', async () => {
    const b = await broker({ maxConnections: 1 });
    await client(b, 'first');
    const socket = connect(b.ports.tcp!, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('close', () => r()));
  });

  it('closes a connection that sends no CONNECT within connect-timeout seconds', async () => {
    const b = await broker({ connectTimeout: 1 });
    const socket = connect(b.ports.tcp!, '127.0.0.1');
    socket.on('error', () => {});
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      // Bounded: if the broker kept the silent connection, the test fails after 5 s.
      setTimeout(() => resolve(false), 5000).unref();
    });
    socket.destroy();
    expect(closed).toBe(true);
  });
});
