// A Node.js without the TCP handle API (process.binding('tcp_wrap') gone or changed): plain TCP
// falls back to net.Socket, says so once, and serves clients as before. Vitest runs each file in
// a process of its own, so the stub below concerns this file only.
import { afterAll, describe, expect, it, vi } from 'vitest';

const proc = process as unknown as { binding: (name: string) => unknown };
const binding = proc.binding.bind(process);
proc.binding = (name: string) => (name === 'tcp_wrap' ? {} : binding(name));
const stderr = vi.spyOn(process.stderr, 'write');

const { startBroker } = await import('../helpers/broker.js');
const { RawClient, destroyAll } = await import('../helpers/raw-client.js');

describe('--tcp-sockets handle on a Node.js without TCP handles', () => {
  const brokers: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    destroyAll();
    for (const b of brokers) await b.close();
    stderr.mockRestore();
  });

  it('serves plain TCP on net.Socket and says why', async () => {
    const broker = await startBroker({ tcpSockets: 'handle' });
    brokers.push(broker);
    const said = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(said).toMatch(/lacks the TCP handle API \(tcp_wrap\).*serving it on net\.Socket instead/);
    const c = await RawClient.connect(broker.ports.tcp!);
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'fallback',
      clean: true,
      keepalive: 0,
    });
    expect(await c.next()).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    await c.end();
  });
});
