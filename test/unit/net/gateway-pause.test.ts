// When the gateway stops reading a connection at CONNECT (src/net/gateway.ts): only while an
// authentication hook has not decided. Each pause and resume of a TCP handle is a readStop and a
// readStart, two epoll_ctl calls per connection, for nothing when there is no hook to wait for.
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthResult, Gateway as GatewayType } from '../../../src/net/gateway.js';
import type { Transport } from '../../../src/net/connection.js';
import { distModule } from '../../helpers/dist.js';

const { Gateway } = (await import(distModule('src/net/gateway.ts'))) as { Gateway: typeof GatewayType };
const logic = new URL('../../fixtures/echo-logic.mjs', import.meta.url).href;

let gateway: GatewayType | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** A transport that records what the gateway asks of it. */
function fakeTransport() {
  const calls: string[] = [];
  const transport: Transport = {
    remoteAddress: '127.0.0.1:1',
    write: () => true,
    pause: () => void calls.push('pause'),
    resume: () => void calls.push('resume'),
    end: () => void calls.push('end'),
    destroy: () => void calls.push('destroy'),
  };
  return { transport, calls };
}

async function started(authenticate?: () => Promise<AuthResult>): Promise<GatewayType> {
  gateway = new Gateway({ shards: 1, logic, maxPacketSize: 1000, memoryBytes: 16 << 20, authenticate });
  await gateway.start();
  return gateway;
}

const connect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: 'pause-test',
});

describe('reading at CONNECT', () => {
  it('goes on without a pause when there is no authentication hook', async () => {
    const gw = await started();
    const { transport, calls } = fakeTransport();
    gw.data(gw.accept(transport)!, connect);
    expect(calls).toEqual([]);
  });

  it('stops until an authentication hook has decided, then goes on', async () => {
    let decide: (ok: AuthResult) => void = () => {};
    const gw = await started(() => new Promise<AuthResult>((resolve) => (decide = resolve)));
    const { transport, calls } = fakeTransport();
    gw.data(gw.accept(transport)!, connect);
    expect(calls).toEqual(['pause']);
    decide(true);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['pause', 'resume']);
  });
});
