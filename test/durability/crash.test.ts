// Crashes in the middle of QoS 1 and QoS 2 traffic: the real broker process is killed with SIGKILL
// and started again on the same data directory. Whatever the broker acknowledged before it died
// (PUBACK, PUBREC) must reach the persistent sessions that subscribed, QoS 2 exactly once; what it
// had in flight to a subscriber is sent again; a QoS 2 message it had taken (PUBREC) but not yet
// released (PUBREL) is still known after the restart. Two shards, with the publisher and the
// subscriber on different ones unless said otherwise. MQTT 3.1.1 and 5.0.
import { describe, expect, it } from 'vitest';
import type { ConnectOptions } from '../helpers/raw-client.js';
import { connected, mqttConnect, str } from '../helpers/raw-client.js';
import {
  disconnect,
  duplicates,
  firstOccurrences,
  idOn,
  increasing,
  indices,
  missing,
  publishWindowed,
  receiveAcking,
  spawnBroker,
  useBrokerProcesses,
} from '../helpers/broker-process.js';

useBrokerProcesses();

const SHARDS = 2;

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';
  const both = (v5: string, v311: string) => (v === 5 ? v5 : v311);
  /** A persistent session: Clean Session 0 (3.1.1), Clean Start 0 with a Session Expiry Interval (5.0). */
  const keep: ConnectOptions = { clean: false, properties: { sessionExpiryInterval: 3600 } };

  describe(`SIGKILL during QoS 1/2 traffic, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} ${both('3.1.2-23, 3.2.2-3, 4.6.0-6', '3.1.2-5, 3.2.2-2, 4.6.0-6')}] every message acknowledged before the crash reaches the offline persistent session: QoS 1 at least once, QoS 2 exactly once, in order`, async () => {
      const N = 600; // 300 at QoS 1, 300 at QoS 2, interleaved
      const broker = await spawnBroker({ shards: SHARDS });
      const subId = idOn(1, SHARDS, `crash${v}-sub`);
      const pubId = idOn(0, SHARDS, `crash${v}-pub`);
      const t1 = `crash/${subId}/q1`;
      const t2 = `crash/${subId}/q2`;
      const sub = await connected(broker.port, v, subId, keep);
      const suback = await sub.subscribe([
        { topic: t1, qos: 1 },
        { topic: t2, qos: 2 },
      ]);
      expect(suback.granted).toEqual([1, 2]);
      await disconnect(sub);

      const pub = await connected(broker.port, v, pubId, keep);
      let killed: Promise<void> | undefined;
      let unfinishedAtKill = 0;
      const sent = await publishWindowed(pub, {
        count: N,
        window: 50,
        timeoutMs: 30_000,
        message: (i) =>
          i % 2 === 0 ? { topic: t1, payload: `${i}`, qos: 1 } : { topic: t2, payload: `${i}`, qos: 2 },
        onAccepted: (accepted, unfinished) => {
          if (accepted >= N / 2 && !killed) {
            unfinishedAtKill = unfinished;
            killed = broker.kill();
          }
        },
      });
      expect(
        killed,
        `the broker acknowledged only ${sent.accepted.length} of ${N}: it was never killed`,
      ).toBeDefined();
      await killed;
      expect(sent.timedOut).toBe(false);
      // The crash really came in the middle of the stream: flows were open when it died.
      expect(unfinishedAtKill).toBeGreaterThan(0);
      expect(sent.accepted.length).toBeGreaterThanOrEqual(N / 2);

      await broker.start();
      // The publisher resumes its session and completes the QoS 2 flows it had started (4.4.0-1 in
      // both editions): each PUBREL gets its PUBCOMP (0x92 only for one whose PUBREL the broker
      // had already handled before it died).
      const { client: pub2, connack: pubConnack } = await mqttConnect(broker.port, v, pubId, keep);
      expect.soft(pubConnack.sessionPresent, 'the publisher session after the crash').toBe(true);
      for (const id of sent.awaitingPubcomp.keys()) pub2.send({ cmd: 'pubrel', messageId: id });
      for (const id of sent.awaitingPubcomp.keys()) {
        const comp = await pub2.expectWhere('pubcomp', id, 5000);
        expect.soft([0, 0x92]).toContain(comp.reasonCode ?? 0);
      }

      const { client: sub2, connack } = await mqttConnect(broker.port, v, subId, keep);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const accepted1 = sent.accepted.filter((i) => i % 2 === 0);
      const accepted2 = sent.accepted.filter((i) => i % 2 === 1);
      const want = new Set(sent.accepted);
      let scanned = 0;
      const r = await receiveAcking(sub2, {
        done: ({ got }) => {
          for (; scanned < got.length; scanned++) want.delete(Number(str(got[scanned]!.payload)));
          return want.size === 0;
        },
        timeoutMs: 30_000,
        settleMs: 1000,
      });
      const got1 = indices(r.got, t1);
      const got2 = indices(r.got, t2);
      expect(missing(accepted1, got1), 'acknowledged QoS 1 messages lost').toEqual([]);
      expect(missing(accepted2, got2), 'acknowledged QoS 2 messages lost').toEqual([]);
      expect(duplicates(got2), 'QoS 2 messages delivered twice').toEqual([]);
      expect(increasing(firstOccurrences(got1)), `QoS 1 out of order: ${got1.join(',')}`).toBe(true);
      expect(increasing(got2), `QoS 2 out of order: ${got2.join(',')}`).toBe(true);
      // Nothing that was never published, each at its subscription's QoS.
      expect(r.got.every((p) => Number(str(p.payload)) < sent.sent)).toBe(true);
      expect(r.got.filter((p) => p.topic === t1).every((p) => p.qos === 1)).toBe(true);
      expect(r.got.filter((p) => p.topic === t2).every((p) => p.qos === 2)).toBe(true);
    }, 90_000);

    it(`[MQTT-${ed} 4.4.0-1] a subscriber online at the crash gets its unacknowledged messages again, with their identifiers, and the PUBREL it was owed`, async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const subId = idOn(0, SHARDS, `inflight${v}-sub`);
      const t1 = `inflight/${subId}/q1`;
      const t2 = `inflight/${subId}/q2`;
      const sub = await connected(broker.port, v, subId, keep);
      await sub.subscribe([
        { topic: t1, qos: 1 },
        { topic: t2, qos: 2 },
      ]);
      const pub = await connected(broker.port, v, idOn(1, SHARDS, `inflight${v}-pub`));
      const messages = Array.from({ length: 10 }, (_, i) => ({
        topic: i % 2 === 0 ? t1 : t2,
        payload: `m${i}`,
      }));
      for (const [i, m] of messages.entries())
        await pub.publishAcked(m.topic, m.payload, { qos: i % 2 === 0 ? 1 : 2 });
      await pub.publishAcked(t2, 'released', { qos: 2 });
      // The subscriber receives all eleven and acknowledges none, except PUBREC for the last.
      const first = [];
      for (let i = 0; i < 11; i++) first.push(await sub.expect('publish', 5000));
      expect(first.map((p) => str(p.payload))).toEqual([...messages.map((m) => m.payload), 'released']);
      const released = first[10]!;
      sub.send({ cmd: 'pubrec', messageId: released.messageId! });
      await sub.expectWhere('pubrel', released.messageId, 5000);
      await sub.ping();
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the store write the PUBREC state

      await broker.kill();
      await broker.start();
      const { client: sub2, connack } = await mqttConnect(broker.port, v, subId, keep);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const r = await receiveAcking(sub2, {
        done: ({ got, pubrels }) => got.length >= 10 && pubrels.includes(released.messageId!),
        timeoutMs: 10_000,
        settleMs: 1000,
      });
      // The ten PUBLISHes again (DUP may be set), with their original identifiers, in order.
      expect(r.got.map((p) => str(p.payload))).toEqual(messages.map((m) => m.payload));
      expect(r.got.map((p) => p.messageId)).toEqual(first.slice(0, 10).map((p) => p.messageId));
      expect(r.got.map((p) => p.qos)).toEqual(first.slice(0, 10).map((p) => p.qos));
      // The released one: only its PUBREL, never the PUBLISH again ([MQTT-5.0 4.3.3-6],
      // [MQTT-3.1.1 4.3.3-1]). The other five PUBRELs answer the PUBRECs this client now sends
      // for the re-sent QoS 2 messages.
      expect(r.pubrels.filter((id) => id === released.messageId)).toEqual([released.messageId]);
      expect(r.pubrels.length).toBe(6);
    }, 60_000);

    it(`[MQTT-${ed} ${both('4.3.3-11, 4.4.0-1, §3.7.2.1', '4.3.3-2, 4.4.0-1')}] a QoS 2 message awaiting PUBREL at the crash: the PUBREL after the restart gets PUBCOMP${v === 5 ? ' 0 (not 0x92)' : ''} and the message is delivered once`, async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      const subId = idOn(1, SHARDS, `rel${v}-sub`);
      const pubId = idOn(0, SHARDS, `rel${v}-pub`);
      const topic = `rel/${subId}`;
      const sub = await connected(broker.port, v, subId, keep);
      await sub.subscribe(topic, 2);
      await disconnect(sub);
      const pub = await connected(broker.port, v, pubId, keep);
      const id = pub.publish(topic, 'exactly once', { qos: 2 });
      const rec = await pub.expectWhere('pubrec', id, 5000);
      expect(rec.reasonCode ?? 0).toBe(0);

      await broker.kill();
      await broker.start();
      const { client: pub2, connack: pubConnack } = await mqttConnect(broker.port, v, pubId, keep);
      expect.soft(pubConnack.sessionPresent, 'the publisher session after the crash').toBe(true);
      pub2.send({ cmd: 'pubrel', messageId: id });
      const comp = await pub2.expectWhere('pubcomp', id, 5000);
      expect(comp.reasonCode ?? 0, 'PUBCOMP reason (0x92: Packet Identifier not found)').toBe(0);

      const { client: sub2, connack } = await mqttConnect(broker.port, v, subId, keep);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const r = await receiveAcking(sub2, {
        done: ({ got }) => got.length >= 1,
        timeoutMs: 10_000,
        settleMs: 1000,
      });
      expect(r.got.map((p) => [p.topic, str(p.payload), p.qos])).toEqual([[topic, 'exactly once', 2]]);
    }, 60_000);

    it(`[MQTT-${ed} ${both('4.3.3-10', '4.3.3-2')}] a QoS 2 PUBLISH re-sent after the crash, before PUBREL, is acknowledged again and not delivered twice`, async () => {
      const broker = await spawnBroker({ shards: SHARDS });
      // Both on one shard here: the inbound identifiers and the queue live in the same shard.
      const subId = idOn(1, SHARDS, `dup${v}-sub`);
      const pubId = idOn(1, SHARDS, `dup${v}-pub`);
      const topic = `dup/${subId}`;
      const sub = await connected(broker.port, v, subId, keep);
      await sub.subscribe(topic, 2);
      await disconnect(sub);
      const pub = await connected(broker.port, v, pubId, keep);
      const id = pub.publish(topic, 'once only', { qos: 2 });
      await pub.expectWhere('pubrec', id, 5000);

      await broker.kill();
      await broker.start();
      const { client: pub2, connack: pubConnack } = await mqttConnect(broker.port, v, pubId, keep);
      expect.soft(pubConnack.sessionPresent, 'the publisher session after the crash').toBe(true);
      pub2.publish(topic, 'once only', { qos: 2, messageId: id, dup: true });
      const rec = await pub2.expectWhere('pubrec', id, 5000);
      expect(rec.reasonCode ?? 0, 'PUBREC reason (0x10: the subscription was lost)').toBe(0);
      pub2.send({ cmd: 'pubrel', messageId: id });
      const comp = await pub2.expectWhere('pubcomp', id, 5000);
      expect(comp.reasonCode ?? 0, 'PUBCOMP reason (0x92: Packet Identifier not found)').toBe(0);

      const { client: sub2, connack } = await mqttConnect(broker.port, v, subId, keep);
      expect(connack.sessionPresent, 'CONNACK Session Present after the restart').toBe(true);
      const r = await receiveAcking(sub2, {
        done: ({ got }) => got.length >= 1,
        timeoutMs: 10_000,
        settleMs: 1000,
      });
      expect(r.got.map((p) => str(p.payload))).toEqual(['once only']);
    }, 60_000);
  });
}
