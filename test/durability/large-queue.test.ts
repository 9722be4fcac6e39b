// A device that was offline while 100,000 QoS 1 messages were queued for it, with a restart in
// between (so the queue comes from disk): on reconnect it gets every one, in order, never more
// unacknowledged at once than its Receive Maximum, while another pair of clients keeps exchanging
// messages. Only completion is asserted here; how fast belongs in bench/.
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Codec } from '../../src/protocol/codec.js';
import type { ConnackPacket, Packet } from '../../src/protocol/packets.js';
import { connected, connectPacket, packetLength, str } from '../helpers/raw-client.js';
import {
  disconnect,
  idOn,
  publishWindowed,
  spawnBroker,
  useBrokerProcesses,
} from '../helpers/broker-process.js';

useBrokerProcesses();

const SHARDS = 2;
const N = 100_000;
const RECEIVE_MAXIMUM = 100;
const keep = { clean: false, properties: { sessionExpiryInterval: 3600 } };
const codec = new Codec();

interface Drain {
  connack: ConnackPacket | undefined;
  /** PUBLISHes received. */
  received: number;
  /** The next index expected (all before it arrived in order). */
  next: number;
  /** The first PUBLISH that broke the order, if any. */
  disorder: string | undefined;
  /** Most PUBLISHes unacknowledged at once, as this client counts them. */
  maxOutstanding: number;
  /** Anything other than PUBLISH after the CONNACK. */
  other: string[];
  closed: boolean;
  timedOut: boolean;
  /** Nothing arrived for `idleMs` before all had come. */
  stalled: boolean;
}

/**
 * Connect as the device (Receive Maximum 100) and take its queue. First it holds its acks until
 * the window is full and checks for `holdMs` that no more PUBLISH arrives [MQTT-5.0 4.9.0-2]; then
 * it acknowledges every PUBLISH at the end of each chunk of bytes, until `expected` arrived (then
 * `settleMs` more, for extras) or `timeoutMs` passed. A hand-made client: the generic raw client
 * queues every packet, this one counts them.
 */
function drainDevice(
  port: number,
  clientId: string,
  o: { expected: number; timeoutMs: number; holdMs: number; settleMs: number; idleMs: number },
): Promise<Drain> {
  const d: Drain = {
    connack: undefined,
    received: 0,
    next: 0,
    disorder: undefined,
    maxOutstanding: 0,
    other: [],
    closed: false,
    timedOut: false,
    stalled: false,
  };
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const unacked: number[] = [];
    let phase: 'filling' | 'holding' | 'flowing' | 'settling' | 'done' = 'filling';
    let buffer: Buffer = Buffer.alloc(0);
    const timers: NodeJS.Timeout[] = [];
    let lastArrival = Date.now();
    const idle = setInterval(() => {
      if (phase === 'flowing' && Date.now() - lastArrival > o.idleMs) {
        d.stalled = true;
        finish();
      }
    }, 250);
    const finish = () => {
      if (phase === 'done') return;
      phase = 'done';
      clearInterval(idle);
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve(d);
    };
    const ackAll = () => {
      if (unacked.length === 0) return;
      const out = Buffer.alloc(unacked.length * 4);
      for (const [k, id] of unacked.entries()) {
        out[k * 4] = 0x40;
        out[k * 4 + 1] = 2;
        out.writeUInt16BE(id, k * 4 + 2);
      }
      unacked.length = 0;
      socket.write(out);
    };
    const startFlowing = () => {
      if (phase !== 'holding' && phase !== 'filling') return;
      phase = 'flowing';
      lastArrival = Date.now();
      ackAll();
    };
    const hold = () => {
      if (phase !== 'filling') return;
      phase = 'holding';
      timers.push(setTimeout(startFlowing, o.holdMs));
    };
    timers.push(
      setTimeout(() => {
        d.timedOut = phase !== 'settling';
        finish();
      }, o.timeoutMs),
    );
    // If the window never fills (fewer queued than 100), stop holding after a while.
    timers.push(setTimeout(hold, 3000));
    const onPacket = (p: Packet) => {
      if (!d.connack) {
        if (p.cmd !== 'connack') {
          d.other.push(`before CONNACK: ${p.cmd}`);
          finish();
          return;
        }
        d.connack = p;
        // Refused, or no session: nothing queued to wait for.
        if (p.reasonCode !== 0 || !p.sessionPresent) finish();
        return;
      }
      if (p.cmd !== 'publish') {
        d.other.push(p.cmd === 'disconnect' ? `disconnect 0x${(p.reasonCode ?? 0).toString(16)}` : p.cmd);
        return;
      }
      d.received++;
      lastArrival = Date.now();
      const index = Number(str(p.payload));
      if (index === d.next && p.qos === 1) d.next++;
      else if (d.disorder === undefined) {
        d.disorder = `#${d.received}: payload ${str(p.payload)} at QoS ${p.qos} (dup ${p.dup}), expected ${d.next}`;
      }
      unacked.push(p.messageId!);
      d.maxOutstanding = Math.max(d.maxOutstanding, unacked.length);
      if (phase === 'filling' && unacked.length >= RECEIVE_MAXIMUM) hold();
      if (d.next === o.expected && phase === 'flowing') {
        phase = 'settling';
        timers.push(setTimeout(finish, o.settleMs));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (let guard = 0; guard < 1_000_000 && phase !== 'done'; guard++) {
        const len = packetLength(buffer);
        if (len === 0 || buffer.length < len) break;
        const result = codec.decode(buffer.subarray(0, len), 5);
        buffer = buffer.subarray(len);
        if (result.status !== 'packet') {
          d.other.push(`undecodable: ${JSON.stringify(result)}`);
          finish();
          return;
        }
        onPacket(result.packet);
      }
      if (phase === 'flowing' || phase === 'settling') ackAll();
    });
    socket.on('error', () => {
      /* reported as closed */
    });
    socket.once('close', () => {
      d.closed = phase !== 'done';
      finish();
    });
    socket.once('connect', () => {
      socket.write(
        codec.encode(
          connectPacket(5, clientId, {
            ...keep,
            properties: { ...keep.properties, receiveMaximum: RECEIVE_MAXIMUM },
          }),
          5,
        ),
      );
    });
  });
}

describe('A device reconnecting to 100,000 queued messages', () => {
  it('[MQTT-5.0 3.1.2-23, 4.9.0-2, 4.6.0-6] gets them all after a restart, in order, never more than its Receive Maximum (100) unacknowledged, while other clients keep exchanging messages', async () => {
    const broker = await spawnBroker({ shards: SHARDS, args: ['--max-queued', String(2 * N)] });
    const deviceId = idOn(0, SHARDS, 'device');
    const topic = `lq/${deviceId}`;
    const device = await connected(broker.port, 5, deviceId, keep);
    await device.subscribe(topic, 1);
    await disconnect(device);

    // 100,000 small QoS 1 messages, 500 in flight; at most 40 s.
    const pub = await connected(broker.port, 5, idOn(1, SHARDS, 'lq-pub'));
    const sent = await publishWindowed(pub, {
      count: N,
      window: 500,
      timeoutMs: 40_000,
      message: (i) => ({ topic, payload: String(i), qos: 1 }),
    });
    expect(
      sent.timedOut,
      `only ${sent.accepted.length} of ${N} messages were acknowledged within 40 s: the queue is too slow to fill for this test`,
    ).toBe(false);
    expect(sent.closed).toBe(false);
    expect(sent.accepted.length).toBe(N);
    expect([...sent.reasons.values()].filter((r) => r !== 0).length, 'PUBACKs with a reason code').toBe(0);
    await pub.end();

    // From disk: a graceful restart.
    await broker.stop();
    await broker.start();

    // A pair exchanging QoS 1 messages while the device drains: one on the device's shard.
    const ping = await connected(broker.port, 5, idOn(0, SHARDS, 'lq-ping'));
    const pong = await connected(broker.port, 5, idOn(1, SHARDS, 'lq-pong'));
    const rt = `lq-rt/${deviceId}`;
    await pong.subscribe(rt, 1);

    let drained = false;
    const draining = drainDevice(broker.port, deviceId, {
      expected: N,
      timeoutMs: 35_000,
      holdMs: 500,
      settleMs: 500,
      idleMs: 5000,
    }).finally(() => {
      drained = true;
    });
    let rounds = 0;
    let roundsWhileDraining = 0;
    for (let r = 0; r < 100_000 && !drained; r++) {
      const id = ping.publish(rt, String(r), { qos: 1 });
      const ack = await ping.expectWhere('puback', id, 5000);
      expect(ack.reasonCode ?? 0, `round trip ${r}: PUBACK`).toBe(0);
      const got = await pong.expect('publish', 5000);
      expect(str(got.payload), `round trip ${r}`).toBe(String(r));
      pong.send({ cmd: 'puback', messageId: got.messageId! });
      rounds++;
      if (!drained) roundsWhileDraining++;
    }
    const d = await draining;

    expect(d.connack?.reasonCode).toBe(0);
    expect(d.connack?.sessionPresent, 'the device session after the restart').toBe(true);
    expect(d.other).toEqual([]);
    expect(d.disorder).toBeUndefined();
    expect(d.next, `messages received in order (of ${N})`).toBe(N);
    expect(d.received, 'PUBLISHes received (no extra copies)').toBe(N);
    expect(d.timedOut).toBe(false);
    // [MQTT-5.0 4.9.0-2]: never more than Receive Maximum unacknowledged.
    // The device held its acks once the window was full: nothing more came meanwhile.
    expect(d.maxOutstanding).toBeLessThanOrEqual(RECEIVE_MAXIMUM);
    expect(d.stalled, 'the queue stopped coming before all of it had arrived').toBe(false);
    // The other pair was served while the device drained.
    expect(rounds).toBeGreaterThan(0);
    expect(roundsWhileDraining).toBeGreaterThan(0);
  }, 100_000);
});
