import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, useBroker } from '../helpers/broker.js';

const suite = useBroker(async () => ({ httpPort: await freePort(), maxQueued: 100 }));
const clients: MqttClient[] = [];
let slow: Socket;

afterAll(async () => {
  slow?.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true)));
});

/** A subscriber that reads its CONNACK and SUBACK, then stops reading: a slow client. */
async function stalledSubscriber(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: 'stalled',
    }),
  );
  socket.write(
    mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 1 }] }),
  );
  let got = 0;
  await new Promise<void>((resolve) =>
    socket.on('data', (d) => {
      got += d.length;
      if (got >= 4 + 5) resolve(); // CONNACK (4 bytes) + SUBACK (5 bytes)
    }),
  );
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${suite.broker.ports.http}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

describe('a slow subscriber', () => {
  it('is limited (QoS 0 dropped, QoS 1/2 queued up to max-queued) while other clients are served in full', async () => {
    slow = await stalledSubscriber(suite.port);
    const fast = await mqtt.connectAsync(`mqtt://127.0.0.1:${suite.port}`, {
      clientId: 'fast',
      reconnectPeriod: 0,
    });
    clients.push(fast);
    // Only the QoS 1 topic: a client that also took the 30 MB flood could itself fall behind on a
    // loaded machine and be limited in turn (correctly), which is not what this test is about.
    await fast.subscribeAsync('flood/1', { qos: 1 });
    let fastQos1 = 0;
    const allQos1 = new Promise<void>((r) =>
      fast.on('message', (_t, _p, packet) => {
        if (packet.qos === 1 && ++fastQos1 === 500) r();
      }),
    );
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${suite.port}`, {
      clientId: 'flooder',
      reconnectPeriod: 0,
    });
    clients.push(pub);
    const kib = Buffer.alloc(1024, 7);
    // 30 MB of QoS 0: far more than the socket buffers, the rings and the write budget hold.
    for (let i = 0; i < 30_000; i++) await pub.publishAsync('flood/0', kib, { qos: 0 });
    for (let i = 0; i < 500; i++) await pub.publishAsync('flood/1', kib, { qos: 1 });
    await allQos1;
    expect(fastQos1).toBe(500);
    // The shard reports its counters about once a second.
    let dropped = 0;
    for (let i = 0; i < 30 && dropped === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      dropped = await metric('weir_messages_dropped_total');
    }
    expect(dropped).toBeGreaterThan(0);
  });
});
