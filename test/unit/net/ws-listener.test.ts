import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Gateway as GatewayType } from '../../../src/net/gateway.js';
import type { listenWs as listenWsType, WsListener } from '../../../src/net/ws-listener.js';
import { distModule } from '../../helpers/dist.js';

const { Gateway } = (await import(distModule('src/net/gateway.ts'))) as { Gateway: typeof GatewayType };
const { listenWs } = (await import(distModule('src/net/ws-listener.ts'))) as {
  listenWs: typeof listenWsType;
};

let gateway: GatewayType;
let listener: WsListener;

beforeAll(async () => {
  gateway = new Gateway({
    shards: 1,
    logic: new URL('../../fixtures/echo-logic.mjs', import.meta.url).href,
    maxPacketSize: 4096,
    memoryBytes: 16 << 20,
    ringCapacity: 1 << 16,
  });
  await gateway.start();
  listener = await listenWs(gateway, { host: '127.0.0.1', port: 0, maxPacketSize: 4096 });
});

afterAll(async () => {
  listener.close();
  await gateway.close();
});

function open(protocols: string[]) {
  const ws = new WebSocket(`ws://127.0.0.1:${listener.port}/mqtt`, protocols);
  let received = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer) => {
    received = Buffer.concat([received, data]);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  return {
    ws,
    closed,
    opened: new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    }),
    until: async (n: number) => {
      while (received.length < n) await new Promise<void>((r) => waiters.push(r));
      return received;
    },
  };
}

describe('MQTT over WebSocket', () => {
  it('selects the "mqtt" subprotocol [MQTT-5.0 6.0.0-4] and frames packets across messages [MQTT-5.0 6.0.0-2]', async () => {
    const c = open(['mqtt']);
    await c.opened;
    expect(c.ws.protocol).toBe('mqtt');
    const connect = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      clientId: 'ws-1',
    });
    c.ws.send(connect);
    const line = `OPEN 0 ws-1 0 ${connect.length}\n`;
    expect((await c.until(line.length)).toString()).toBe(line);
    // One PUBLISH in two messages, then two packets in one message.
    const publish = mqttPacket.generate({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from('hello'),
      qos: 0,
      dup: false,
      retain: false,
    });
    c.ws.send(publish.subarray(0, 3));
    c.ws.send(Buffer.concat([publish.subarray(3), publish]));
    const got = await c.until(line.length + 2 * publish.length);
    expect(got.subarray(line.length)).toEqual(Buffer.concat([publish, publish]));
    c.ws.close();
    await c.closed;
  });

  it('accepts MQTT 3.1 clients offering "mqttv3.1"', async () => {
    const c = open(['mqttv3.1']);
    await c.opened;
    expect(c.ws.protocol).toBe('mqttv3.1');
    c.ws.close();
    await c.closed;
  });

  it('closes a WebSocket whose first packet is not CONNECT [MQTT-5.0 3.1.0-1]', async () => {
    const c = open(['mqtt']);
    await c.opened;
    c.ws.send(Buffer.of(0xc0, 0x00));
    await c.closed;
  });
});
