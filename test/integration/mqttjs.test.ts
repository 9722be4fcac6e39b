import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { Clients } from '../helpers/mqttjs.js';

const suite = useBroker();
const clients = new Clients();

afterAll(() => clients.endAll());

function client(clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
  return clients.connect(`mqtt://127.0.0.1:${suite.port}`, clientId, { ...options });
}

function nextMessage(
  c: MqttClient,
): Promise<{ topic: string; payload: string; packet: mqtt.IPublishPacket }> {
  return new Promise((resolve) =>
    c.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), packet })),
  );
}

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT.js over TCP, protocol level ${protocolVersion}`, () => {
    const v = (id: string) => `${id}-v${protocolVersion}`;

    it('delivers QoS 0, 1 and 2 messages to a wildcard subscriber, at the granted QoS', async () => {
      const sub = await client(v('sub'), { protocolVersion });
      const pub = await client(v('pub'), { protocolVersion });
      const granted = await sub.subscribeAsync(`t/${protocolVersion}/#`, { qos: 2 });
      expect(granted[0]?.qos).toBe(2);
      for (const qos of [0, 1, 2] as const) {
        const got = nextMessage(sub);
        await pub.publishAsync(`t/${protocolVersion}/q${qos}`, `hello ${qos}`, { qos });
        const m = await got;
        expect([m.topic, m.payload, m.packet.qos]).toEqual([
          `t/${protocolVersion}/q${qos}`,
          `hello ${qos}`,
          qos,
        ]);
      }
    });

    it('sends the retained message to a new subscriber, with RETAIN set [MQTT-5.0 3.3.1-9]', async () => {
      const pub = await client(v('rpub'), { protocolVersion });
      await pub.publishAsync(`r/${protocolVersion}/x`, 'kept', { qos: 1, retain: true });
      const sub = await client(v('rsub'), { protocolVersion });
      const got = nextMessage(sub);
      await sub.subscribeAsync(`r/${protocolVersion}/+`, { qos: 1 });
      const m = await got;
      expect([m.topic, m.payload, m.packet.retain]).toEqual([`r/${protocolVersion}/x`, 'kept', true]);
    });

    it('publishes the will when a client vanishes without DISCONNECT', async () => {
      const watcher = await client(v('watch'), { protocolVersion });
      await watcher.subscribeAsync(`will/${protocolVersion}`, { qos: 1 });
      const doomed = await client(v('doomed'), {
        protocolVersion,
        will: { topic: `will/${protocolVersion}`, payload: Buffer.from('gone'), qos: 1, retain: false },
      });
      const got = nextMessage(watcher);
      doomed.stream.destroy();
      expect((await got).payload).toBe('gone');
    });

    it('keeps a persistent session: QoS 1 messages sent while offline arrive on reconnect', async () => {
      const opts: IClientOptions = { protocolVersion, clean: false };
      if (protocolVersion === 5) opts.properties = { sessionExpiryInterval: 300 };
      const sub = await client(v('persist'), opts);
      await sub.subscribeAsync(`p/${protocolVersion}`, { qos: 1 });
      await sub.endAsync();
      const pub = await client(v('ppub'), { protocolVersion });
      for (let i = 0; i < 5; i++) await pub.publishAsync(`p/${protocolVersion}`, `m${i}`, { qos: 1 });
      const received: string[] = [];
      const back = mqtt.connect(`mqtt://127.0.0.1:${suite.port}`, {
        ...opts,
        clientId: v('persist'),
        reconnectPeriod: 0,
      });
      clients.track(back);
      // Listen before CONNACK: the queued messages follow it at once, in the same read.
      const all = new Promise<void>((resolve) =>
        back.on('message', (_t, p) => {
          received.push(p.toString());
          if (received.length === 5) resolve();
        }),
      );
      const connack = await new Promise<mqtt.IConnackPacket>((r) => back.once('connect', r));
      expect(connack.sessionPresent).toBe(true);
      await all;
      expect(received).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('takes over a session: the older connection is closed', async () => {
      const first = await client(v('twin'), { protocolVersion });
      const closed = new Promise<void>((r) => first.once('close', () => r()));
      await client(v('twin'), { protocolVersion });
      await closed;
    });
  });
}
