import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { Clients } from '../helpers/mqttjs.js';

const suite = useBroker({ topicAliasMaximum: 10 });
const clients = new Clients();
afterAll(() => clients.endAll());

function client(clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
  return clients.connect(`mqtt://127.0.0.1:${suite.port}`, clientId, {
    protocolVersion: 5,
    ...options,
  });
}

describe('Topic Alias (MQTT 5)', () => {
  it('[MQTT-5.0 3.2.2-17] CONNACK announces the Topic Alias Maximum', async () => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${suite.port}`, {
      clientId: 'alias-max',
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    clients.track(c);
    const connack = await new Promise<mqtt.IConnackPacket>((r) => c.once('connect', r));
    expect(connack.properties?.topicAliasMaximum).toBe(10);
  });

  it('[MQTT-5.0 3.3.2-12] accepts aliases from a publisher: subscribers get the real topic', async () => {
    const sub = await client('alias-sub');
    await sub.subscribeAsync('alias/in/#', { qos: 1 });
    const received: string[] = [];
    const all = new Promise<void>((r) =>
      sub.on('message', (t, p) => {
        received.push(`${t} ${p.toString()}`);
        if (received.length === 3) r();
      }),
    );
    const pub = await client('alias-pub', { autoAssignTopicAlias: true });
    const sent: Array<[string, number | undefined]> = [];
    pub.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent.push([p.topic, p.properties?.topicAlias]);
    });
    for (let i = 0; i < 3; i++) await pub.publishAsync('alias/in/x', `m${i}`, { qos: 1 });
    await all;
    expect(received).toEqual(['alias/in/x m0', 'alias/in/x m1', 'alias/in/x m2']);
    // The publisher really used the alias: a topic once, then only the alias.
    expect(sent).toEqual([
      ['alias/in/x', 1],
      ['', 1],
      ['', 1],
    ]);
  });

  it('[MQTT-5.0 3.3.2-11] gives a subscriber that accepts aliases the topic once, then only the alias', async () => {
    const sub = await client('alias-out', { properties: { topicAliasMaximum: 2 } });
    await sub.subscribeAsync('alias/out/#', { qos: 0 });
    const wire: Array<[string, number | undefined]> = [];
    const topics: string[] = [];
    const done = new Promise<void>((r) =>
      sub.on('message', (t) => {
        topics.push(t);
        if (topics.length === 4) r();
      }),
    );
    sub.on('packetreceive', (p) => {
      if (p.cmd === 'publish') wire.push([p.topic, p.properties?.topicAlias]);
    });
    const pub = await client('alias-out-pub');
    for (const t of ['alias/out/a', 'alias/out/a', 'alias/out/b', 'alias/out/c'])
      await pub.publishAsync(t, 'x');
    await done;
    expect(topics).toEqual(['alias/out/a', 'alias/out/a', 'alias/out/b', 'alias/out/c']);
    // MQTT.js fills the topic back in before 'packetreceive' when it resolves an alias, so what
    // proves the alias was used is the alias number; c gets none: the client's maximum is 2.
    expect(wire.map(([, a]) => a)).toEqual([1, 1, 2, undefined]);
  });

  it('stores a message published through an alias with its real topic (queued for an offline session)', async () => {
    const opts: IClientOptions = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub = await client('alias-offline', opts);
    await sub.subscribeAsync('alias/q/#', { qos: 1 });
    await sub.endAsync();
    const pub = await client('alias-q-pub', { autoAssignTopicAlias: true });
    await pub.publishAsync('alias/q/1', 'first', { qos: 1 });
    await pub.publishAsync('alias/q/1', 'second', { qos: 1 });
    const back = mqtt.connect(`mqtt://127.0.0.1:${suite.port}`, {
      clientId: 'alias-offline',
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...opts,
    });
    clients.track(back);
    const got: string[] = [];
    await new Promise<void>((r) =>
      back.on('message', (t, p) => {
        got.push(`${t} ${p.toString()}`);
        if (got.length === 2) r();
      }),
    );
    expect(got).toEqual(['alias/q/1 first', 'alias/q/1 second']);
  });
});
