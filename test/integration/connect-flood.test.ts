// A flood of CONNECTs: many connections at once, valid and not, some vanishing mid-packet, some
// taking over the same client ID, on two shards. The broker answers each as the spec says,
// forgets every one of them, and keeps serving a client that was there before.
import { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { connected, connectPacket, RawClient, str } from '../helpers/raw-client.js';

// A truncated CONNECT is closed after connect-timeout (1 s here).
const suite = useBroker({ shards: 2, connectTimeout: 1 });

const FLOOD = 400;

interface Shot {
  bytes: Buffer;
  /** The broker closed the connection (not our 5 s limit, nor our own hang-up). */
  closedByBroker: boolean;
}

/** Send bytes on a fresh socket and collect what comes back until the broker closes it (bounded). */
function shoot(bytes: Buffer, closeEarly: boolean): Promise<Shot> {
  return new Promise((resolve) => {
    const s = new Socket();
    const got: Buffer[] = [];
    let closedByBroker = true;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ bytes: Buffer.concat(got), closedByBroker });
    };
    const timer = setTimeout(() => {
      closedByBroker = false;
      done();
    }, 5000);
    s.on('data', (d) => {
      got.push(d);
      // A CONNACK is enough for a valid CONNECT: hang up like a flooding client would.
      if (closeEarly) {
        closedByBroker = false;
        done();
      }
    });
    s.on('close', done);
    s.on('error', done);
    s.connect(suite.port, '127.0.0.1', () => s.write(bytes));
  });
}

describe('a flood of CONNECTs', () => {
  it('[MQTT-5.0 3.1.4-1, 3.1.4-3] answers every one, forgets them all, and keeps serving the others', async () => {
    const before = await connected(suite.port, 5, 'flood-witness');
    await before.subscribe('flood/witness', 1);
    const valid = (i: number) =>
      mqttPacket.generate(connectPacket(5, `flood-${i % 50}`, {}) as mqttPacket.IConnectPacket, {
        protocolVersion: 5,
      });
    const shots: Array<Promise<Shot>> = [];
    for (let i = 0; i < FLOOD; i++) {
      const kind = i % 4;
      if (kind === 0)
        shots.push(shoot(valid(i), true)); // valid; many take over the same 50 ids
      else if (kind === 1)
        shots.push(shoot(valid(i).subarray(0, 7), false)); // truncated, then gone
      else if (kind === 2)
        shots.push(shoot(Buffer.from([0x10, 0x04, 0x00, 0x02, 0x4d, 0x51]), false)); // bad protocol name
      else shots.push(shoot(Buffer.from([0x20, 0x02, 0x00, 0x00]), false)); // not a CONNECT first
    }
    const answers = await Promise.all(shots);
    for (const [i, a] of answers.entries()) {
      // Every valid CONNECT got a CONNACK with reason 0 first [MQTT-5.0 3.2.0-1].
      if (i % 4 === 0) expect([a.bytes[0], a.bytes[2], a.bytes[3]]).toEqual([0x20, 0, 0]);
      // Truncated, bad protocol name, or not a CONNECT first [MQTT-5.0 3.1.0-1]: no CONNACK
      // success, and the broker closed the connection.
      else {
        expect(a.closedByBroker).toBe(true);
        expect(a.bytes[0] === 0x20 && a.bytes[3] === 0).toBe(false);
      }
    }
    // The client that was there all along still gets a full round trip.
    await before.publishAcked('flood/witness', 'still here', { qos: 1 });
    expect(str((await before.expect('publish')).payload)).toBe('still here');
    // And every flooding connection is forgotten (only the witness is left).
    for (let i = 0; i < 250 && suite.broker.connections > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(suite.broker.connections).toBe(1);
    const after = await RawClient.connect(suite.port);
    after.send(connectPacket(4, 'flood-after', {}));
    expect((await after.expect('connack')).reasonCode).toBe(0);
  });
});
