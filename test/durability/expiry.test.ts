// Expiry and limits across restarts: sessions and messages whose intervals pass while the broker
// is down (or after it came back) are gone, the others come back with what is left of their
// intervals; the per-session queue limit holds on disk; `--durability memory` keeps nothing and
// `--durability interval` keeps everything through a graceful stop. Two shards.
import { describe, expect, it } from 'vitest';
import type { ConnectOptions } from '../helpers/raw-client.js';
import { connected, mqttConnect, sleep, str } from '../helpers/raw-client.js';
import {
  disconnect,
  idOn,
  publishConfirmed,
  receiveAcking,
  sleepUntil,
  spawnBroker,
  useBrokerProcesses,
} from '../helpers/broker-process.js';

useBrokerProcesses();

const SHARDS = 2;
const keep: ConnectOptions = { clean: false, properties: { sessionExpiryInterval: 3600 } };
const payloads = (got: Array<{ payload: Uint8Array }>) => got.map((p) => str(p.payload));

describe('Session expiry across a restart, MQTT 5.0', () => {
  it('[MQTT-5.0 4.1.0-2, 3.2.2-3] a session whose Session Expiry Interval (2 s) passed while the broker was down is gone: Session Present 0, none of its messages', async () => {
    const broker = await spawnBroker({ shards: SHARDS });
    const shortId = idOn(1, SHARDS, 'sexp-short');
    const longId = idOn(0, SHARDS, 'sexp-long');
    const topic = `sexp/${shortId}`;
    const short = await connected(broker.port, 5, shortId, {
      clean: false,
      properties: { sessionExpiryInterval: 2 },
    });
    await short.subscribe(topic, 1);
    const long = await connected(broker.port, 5, longId, keep);
    await long.subscribe(topic, 1);
    await disconnect(short);
    const goneAt = Date.now();
    await disconnect(long);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'sexp-pub'));
    await publishConfirmed(pub, topic, 'old', { qos: 1 });

    await broker.kill();
    await sleepUntil(goneAt + 3000);
    await broker.start();
    const { client: s2, connack } = await mqttConnect(broker.port, 5, shortId, { clean: false });
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(false);
    await s2.expectNothing(700);
    // The long-lived session came through the same crash, with the message.
    const { client: l2, connack: longConnack } = await mqttConnect(broker.port, 5, longId, keep);
    expect(longConnack.sessionPresent, 'the long-lived session after the restart').toBe(true);
    const r = await receiveAcking(l2, { done: ({ got }) => got.length >= 1, timeoutMs: 10_000 });
    expect(payloads(r.got)).toEqual(['old']);
  }, 60_000);

  it('[MQTT-5.0 4.1.0-2] a session restored before its expiry still expires on time after the restart', async () => {
    const broker = await spawnBroker({ shards: SHARDS });
    const shortId = idOn(0, SHARDS, 'sexp2-short');
    const longId = idOn(1, SHARDS, 'sexp2-long');
    const topic = `sexp2/${shortId}`;
    const short = await connected(broker.port, 5, shortId, {
      clean: false,
      properties: { sessionExpiryInterval: 4 },
    });
    await short.subscribe(topic, 1);
    const long = await connected(broker.port, 5, longId, keep);
    await long.subscribe(topic, 1);
    await disconnect(short);
    const goneAt = Date.now();
    await disconnect(long);

    await broker.kill();
    await broker.start(); // well within the 4 s, usually: the session is restored, then expires
    await sleepUntil(goneAt + 5500);
    const { connack } = await mqttConnect(broker.port, 5, shortId, { clean: false });
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(false);
    const { connack: longConnack } = await mqttConnect(broker.port, 5, longId, keep);
    expect(longConnack.sessionPresent, 'the long-lived session after the restart').toBe(true);
  }, 60_000);
});

describe('Message expiry across a restart, MQTT 5.0', () => {
  it('[MQTT-5.0 3.3.2-5, 3.3.2-6] a queued message whose Message Expiry Interval (2 s) passed is not delivered; one with 60 s is, with what is left of it', async () => {
    const broker = await spawnBroker({ shards: SHARDS });
    const subId = idOn(1, SHARDS, 'mexp-sub');
    const topic = `mexp/${subId}`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe(topic, 1);
    await disconnect(sub);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'mexp-pub'));
    const publishedAt = Date.now();
    await publishConfirmed(pub, topic, 'short', { qos: 1, properties: { messageExpiryInterval: 2 } });
    await publishConfirmed(pub, topic, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await publishConfirmed(pub, topic, 'forever', { qos: 1 });
    // Retained messages keep their deadlines too.
    await publishConfirmed(pub, `${topic}/retained/short`, 'rs', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 2 },
    });
    await publishConfirmed(pub, `${topic}/retained/long`, 'rl', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 60 },
    });

    await broker.kill();
    await sleepUntil(publishedAt + 3000);
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
    const r = await receiveAcking(sub2, {
      done: ({ got }) => got.length >= 2,
      timeoutMs: 10_000,
      settleMs: 700,
    });
    expect(payloads(r.got)).toEqual(['long', 'forever']);
    // At least 3 s went by: at most 57 s are left (and some are).
    const left = r.got[0]?.properties?.messageExpiryInterval;
    expect(left).toBeGreaterThanOrEqual(1);
    expect(left).toBeLessThanOrEqual(57);
    expect(r.got[1]?.properties?.messageExpiryInterval).toBeUndefined();

    const late = await connected(broker.port, 5, idOn(0, SHARDS, 'mexp-late'));
    await late.subscribe(`${topic}/retained/+`, 1);
    const rr = await receiveAcking(late, {
      done: ({ got }) => got.length >= 1,
      timeoutMs: 10_000,
      settleMs: 700,
    });
    expect(rr.got.map((p) => [str(p.payload), p.retain])).toEqual([['rl', true]]);
    expect(rr.got[0]?.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(1);
    expect(rr.got[0]?.properties?.messageExpiryInterval).toBeLessThanOrEqual(57);
  }, 60_000);
});

describe('Queue limit (--max-queued 10)', () => {
  it('an offline session keeps at most 10 queued messages, the first ten, through a crash; the broker keeps serving', async () => {
    const broker = await spawnBroker({ shards: SHARDS, args: ['--max-queued', '10'] });
    const subId = idOn(1, SHARDS, 'limit-sub');
    const topic = `limit/${subId}`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe(topic, 1);
    await disconnect(sub);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'limit-pub'));
    // Every PUBLISH is answered, the ones past the limit too (whatever their reason code).
    const reasons: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = pub.publish(topic, `m${i}`, { qos: 1 });
      reasons.push((await pub.expectWhere('puback', id, 5000)).reasonCode ?? 0);
    }
    expect(reasons.slice(0, 10)).toEqual(Array(10).fill(0));
    await pub.ping();
    // Another pair is served as before.
    const other = await connected(broker.port, 5, idOn(1, SHARDS, 'limit-other'));
    await other.subscribe(`${topic}/other`, 1);
    await publishConfirmed(pub, `${topic}/other`, 'still served', { qos: 1 });
    expect(str((await other.expect('publish', 5000)).payload)).toBe('still served');

    await broker.kill();
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
    const r = await receiveAcking(sub2, {
      done: ({ got }) => got.length >= 10,
      timeoutMs: 10_000,
      settleMs: 1000,
    });
    // src/session/outbound.ts: past max-queued, new QoS 1/2 messages are refused (dropped).
    expect(payloads(r.got)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    // The session goes on working once drained.
    const pub2 = await connected(broker.port, 5, idOn(0, SHARDS, 'limit-pub2'));
    await publishConfirmed(pub2, topic, 'after', { qos: 1 });
    const after = await receiveAcking(sub2, { done: ({ got }) => got.length >= 1, timeoutMs: 5000 });
    expect(payloads(after.got)).toEqual(['after']);
  }, 60_000);
});

describe('Store size limit (--store-max-mb 16)', () => {
  it('[MQTT-5.0 3.4.2.1] once the store is full a message that must be stored gets PUBACK 0x97; what was accepted before survives a crash, other clients are still served', async () => {
    const broker = await spawnBroker({
      shards: SHARDS,
      args: ['--store-max-mb', '16', '--max-queued', '100000'],
    });
    const subId = idOn(1, SHARDS, 'full-sub');
    const topic = `full/${subId}`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe(topic, 1);
    await disconnect(sub);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'full-pub'));
    // 32 KiB messages for the offline session until the store refuses one: at most 2,000 (64 MiB,
    // four times the limit).
    const payload = (i: number) => `${i} `.padEnd(32 * 1024, 'x');
    const accepted: number[] = [];
    let refusedAt = -1;
    for (let i = 0; i < 2000; i++) {
      const id = pub.publish(topic, payload(i), { qos: 1 });
      const reason = (await pub.expectWhere('puback', id, 5000)).reasonCode ?? 0;
      if (reason === 0) accepted.push(i);
      else {
        expect(reason, `PUBACK for message ${i}`).toBe(0x97);
        refusedAt = i;
        break;
      }
    }
    expect(
      refusedAt,
      'no PUBACK 0x97 after 64 MiB for an offline session with a 16 MiB store',
    ).toBeGreaterThan(0);
    // A message nobody must store (an online subscriber without a session) still goes through.
    const online = await connected(broker.port, 5, idOn(1, SHARDS, 'full-online'));
    await online.subscribe(`${topic}/live`, 1);
    expect(await publishConfirmed(pub, `${topic}/live`, 'live', { qos: 1 })).toBe(0);
    expect(str((await online.expect('publish', 5000)).payload)).toBe('live');

    await broker.kill();
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
    const r = await receiveAcking(sub2, {
      done: ({ got }) => got.length >= accepted.length,
      timeoutMs: 20_000,
      settleMs: 1000,
    });
    const got = r.got.map((p) => Number(str(p.payload).split(' ')[0]));
    expect(got).toEqual(accepted);
  }, 90_000);
});

describe('--durability memory', () => {
  it('keeps nothing across a crash: Session Present 0, no queued or retained messages', async () => {
    const broker = await spawnBroker({ shards: SHARDS, args: ['--durability', 'memory'] });
    const subId = idOn(1, SHARDS, 'mem-sub');
    const topic = `mem/${subId}`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe(topic, 1);
    await disconnect(sub);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'mem-pub'));
    await publishConfirmed(pub, topic, 'queued', { qos: 1 });
    await publishConfirmed(pub, `${topic}/retained`, 'retained', { qos: 1, retain: true });
    // In memory it is all there while the broker runs.
    const probe = await connected(broker.port, 5, idOn(0, SHARDS, 'mem-probe'));
    await probe.subscribe(`${topic}/retained`, 1);
    expect(str((await probe.expect('publish', 5000)).payload)).toBe('retained');

    await broker.kill();
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(false);
    await sub2.expectNothing(700);
    const late = await connected(broker.port, 5, idOn(1, SHARDS, 'mem-late'));
    await late.subscribe(`${topic}/retained`, 1);
    await late.expectNothing(700);
  }, 60_000);
});

describe('--durability interval', () => {
  it('keeps everything through a graceful stop (SIGTERM), though the flush interval (30 s) had not come', async () => {
    const broker = await spawnBroker({
      shards: SHARDS,
      args: ['--durability', 'interval', '--flush-interval', '30000'],
    });
    const subId = idOn(0, SHARDS, 'ival-sub');
    const t1 = `ival/${subId}/q1`;
    const t2 = `ival/${subId}/q2`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe([
      { topic: t1, qos: 1 },
      { topic: t2, qos: 2 },
    ]);
    await disconnect(sub);
    const pub = await connected(broker.port, 4, idOn(1, SHARDS, 'ival-pub'));
    for (let i = 0; i < 6; i++)
      await publishConfirmed(pub, i % 2 === 0 ? t1 : t2, `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    await publishConfirmed(pub, `ival/${subId}/retained`, 'retained', { qos: 1, retain: true });

    await broker.stop();
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
    const r = await receiveAcking(sub2, {
      done: ({ got }) => got.length >= 6,
      timeoutMs: 10_000,
      settleMs: 700,
    });
    expect(r.got.map((p) => [str(p.payload), p.qos])).toEqual(
      Array.from({ length: 6 }, (_, i) => [`m${i}`, i % 2 === 0 ? 1 : 2]),
    );
    const late = await connected(broker.port, 5, idOn(1, SHARDS, 'ival-late'));
    await late.subscribe(`ival/${subId}/retained`, 1);
    const rr = await receiveAcking(late, { done: ({ got }) => got.length >= 1, timeoutMs: 5000 });
    expect(rr.got.map((p) => [str(p.payload), p.retain])).toEqual([['retained', true]]);
  }, 60_000);

  it('loses nothing to a crash (SIGKILL) that comes long after the flush interval (50 ms)', async () => {
    const broker = await spawnBroker({
      shards: SHARDS,
      args: ['--durability', 'interval', '--flush-interval', '50'],
    });
    const subId = idOn(1, SHARDS, 'ival2-sub');
    const topic = `ival2/${subId}`;
    const sub = await connected(broker.port, 5, subId, keep);
    await sub.subscribe(topic, 2);
    await disconnect(sub);
    const pub = await connected(broker.port, 5, idOn(0, SHARDS, 'ival2-pub'));
    for (let i = 0; i < 5; i++) await publishConfirmed(pub, topic, `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    await sleep(1500); // thirty flush intervals: what "a crash loses at most that window" allows for

    await broker.kill();
    await broker.start();
    const { client: sub2, connack } = await mqttConnect(broker.port, 5, subId, keep);
    expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
    const r = await receiveAcking(sub2, {
      done: ({ got }) => got.length >= 5,
      timeoutMs: 10_000,
      settleMs: 700,
    });
    expect(payloads(r.got)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  }, 60_000);
});
