import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startBroker, useBroker } from '../helpers/broker.js';

// A self-signed certificate for 127.0.0.1, made by openssl for this run; clients verify it as
// their CA (no rejectUnauthorized: false), so the test covers a real TLS handshake.
const dir = mkdtempSync(join(tmpdir(), 'weir-tls-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
/** A self-signed certificate (a CA of its own) for `subject`, into keyPath and certPath. */
const selfSigned = (subject: string, keyPath: string, certPath: string, extra: string[] = []) =>
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    subject,
    ...extra,
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
selfSigned('/CN=127.0.0.1', key, cert, ['-addext', 'subjectAltName=IP:127.0.0.1']);
const ca = readFileSync(cert);

const suite = useBroker(async () => ({ tlsPort: await freePort(), wssPort: await freePort(), cert, key }));
const clients: MqttClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
});

async function open(url: string, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { clientId, ca, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(c);
  return c;
}

describe('MQTT over TLS and secure WebSocket', () => {
  it('carries messages between mqtts://, wss:// and plain mqtt:// clients', async () => {
    const tls = await open(`mqtts://127.0.0.1:${suite.broker.ports.tls}`, 'tls-client');
    const wss = await open(`wss://127.0.0.1:${suite.broker.ports.wss}/mqtt`, 'wss-client');
    const tcp = await open(`mqtt://127.0.0.1:${suite.port}`, 'tcp-client');
    await tls.subscribeAsync('secure/#', { qos: 1 });
    await wss.subscribeAsync('secure/#', { qos: 1 });
    const got = (c: MqttClient) => new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())));
    const both = Promise.all([got(tls), got(wss)]);
    await tcp.publishAsync('secure/1', 'sealed', { qos: 1 });
    expect(await both).toEqual(['sealed', 'sealed']);
  });

  it('refuses a client that does not trust the certificate (the handshake fails)', async () => {
    await expect(
      mqtt.connectAsync(`mqtts://127.0.0.1:${suite.broker.ports.tls}`, {
        clientId: 'untrusting',
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('names the file when the certificate cannot be read', async () => {
    await expect(
      startBroker({ tlsPort: await freePort(), cert: join(dir, 'missing.pem'), key }),
    ).rejects.toThrow(/cannot read the TLS certificate \(--cert\) at .*missing\.pem/);
  });
});

describe('client certificates (--ca)', () => {
  // A client certificate signed by a CA of its own: the broker is given that CA with --ca.
  const clientCa = join(dir, 'client-ca.pem');
  const clientCaKey = join(dir, 'client-ca-key.pem');
  const clientCert = join(dir, 'client.pem');
  const clientKey = join(dir, 'client-key.pem');
  const csr = join(dir, 'client.csr');
  selfSigned('/CN=Device CA', clientCaKey, clientCa);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=device-42/O=Fleet',
    '-keyout',
    clientKey,
    '-out',
    csr,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    clientCa,
    '-CAkey',
    clientCaKey,
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    clientCert,
  ]);

  const seen: Array<{ clientId: string; tls?: unknown }> = [];
  const withCa = useBroker(async () => ({
    tlsPort: await freePort(),
    cert,
    key,
    ca: clientCa,
    // Only clients whose certificate verified get in.
    authenticate: (info) => {
      seen.push({ clientId: info.clientId, tls: info.tls });
      return info.tls === undefined || info.tls.authorized;
    },
  }));

  const url = () => `mqtts://127.0.0.1:${withCa.broker.ports.tls}`;

  it('shows the hook a verified client certificate, with its subject', async () => {
    const c = await mqtt.connectAsync(url(), {
      clientId: 'with-cert',
      ca,
      cert: readFileSync(clientCert),
      key: readFileSync(clientKey),
      reconnectPeriod: 0,
    });
    expect(c.connected).toBe(true);
    await c.endAsync();
    const tls = seen.find((s) => s.clientId === 'with-cert')?.tls as {
      authorized: boolean;
      subject: Record<string, string>;
      issuer: Record<string, string>;
      fingerprint256: string;
    };
    expect(tls.authorized).toBe(true);
    expect(tls.subject).toMatchObject({ CN: 'device-42', O: 'Fleet' });
    expect(tls.issuer).toMatchObject({ CN: 'Device CA' });
    expect(tls.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('lets the hook refuse a client without a certificate (CONNACK 0x87 Not authorized)', async () => {
    const c = mqtt.connect(url(), { clientId: 'no-cert', ca, protocolVersion: 5, reconnectPeriod: 0 });
    const reason = await new Promise<number>((resolve) => {
      c.once('error', (e) => resolve((e as { code?: number }).code ?? -1));
      c.once('connect', () => resolve(0));
    });
    c.end(true);
    expect(reason).toBe(0x87);
    const tls = seen.find((s) => s.clientId === 'no-cert')?.tls as { authorized: boolean; subject?: unknown };
    expect(tls.authorized).toBe(false);
    expect(tls.subject).toBeUndefined();
  });
});
