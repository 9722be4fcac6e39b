// A store that cannot write (a full disk): what the broker told a client must not be taken back by
// a restart, so nothing that waited for the store is confirmed. A persistent session's CONNACK
// becomes a refusal, a SUBACK a disconnect; clients that need no store are still served, and once
// the disk has room again the store is used again. Needs a small tmpfs (root, as in CI).
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker.js';
import { startBroker } from '../helpers/broker.js';
import { connected, connectPacket, destroyAll, mqttConnect, RawClient, str } from '../helpers/raw-client.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

let disk: Tmpfs | undefined;
let filler = '';
let broker: Broker | undefined;
/** What the broker told its operator (the CLI prints these on stderr). */
const warnings: string[] = [];

async function warned(pattern: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !warnings.some((w) => pattern.test(w)); i++) await sleep(50);
  expect(warnings).toContainEqual(expect.stringMatching(pattern));
}

/** Fill what is left of the tmpfs, so that the store's next growth fails. */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

/** A will big enough that the session record needs new pages in the store. */
const bigWill = { topic: 'sf/will', payload: Buffer.alloc(60_000, 1), qos: 1 as const, retain: false };
const keep = { clean: false, properties: { sessionExpiryInterval: 600 } };

beforeAll(async () => {
  disk = mountTmpfs('weir-store-failure', '8m');
  if (!disk) return;
  filler = join(disk.path, 'filler');
  broker = await startBroker({ dataDir: join(disk.path, 'data'), durability: 'flush' });
  broker.on('warning', ({ message }) => warnings.push(message));
});
afterAll(async () => {
  destroyAll();
  await broker?.close();
  disk?.unmount();
});

describe('a store that cannot write (full disk)', () => {
  it('[MQTT-5.0 3.2.2-6, 3.2.2-7] [MQTT-3.1.1 3.1.2-8, 3.2.2-4, 3.2.2-5] refuses persistent sessions, disconnects a SUBSCRIBE it cannot store, serves the rest, and recovers', async (ctx) => {
    if (!disk) return ctx.skip();
    const port = broker!.ports.tcp!;
    const subscriber = await connected(port, 5, 'sf-sub', keep);
    const willWatch = await connected(port, 5, 'sf-will-watch');
    await willWatch.subscribe('sf/will', 0);
    fillDisk();

    // A persistent session's CONNACK waits for its record: refused, then closed.
    const v5 = await mqttConnect(port, 5, 'sf-new5', { ...keep, will: bigWill });
    expect(v5.connack).toMatchObject({ reasonCode: 0x97, sessionPresent: false });
    await v5.client.expectClosed(5000);
    // The operator is told once what is wrong and what to do.
    await warned(
      /^shard 0: cannot write to the store at .*: (the disk is full|an I\/O error).*; free space on that disk/,
    );
    const v4 = await RawClient.connect(port);
    v4.send(connectPacket(4, 'sf-new4', { clean: false, will: bigWill }));
    await v4.expectClosed(5000);
    expect(v4.rawBytes().toString('hex')).toBe('20020003'); // Server unavailable, no session

    // Subscriptions it cannot store: a DISCONNECT with the reason, no SUBACK.
    const filters = Array.from({ length: 400 }, (_, i) => ({
      topic: `sf/${'x'.repeat(200)}/${i}`,
      qos: 1 as const,
    }));
    subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters });
    const got = await subscriber.expectClosed(5000);
    expect(got.map((p) => p.cmd)).toEqual(['disconnect']);
    expect(got[0]).toMatchObject({ reasonCode: 0x97 });

    // A clean session needs no store: served as before.
    const a = await connected(port, 5, 'sf-clean-a');
    const b = await connected(port, 5, 'sf-clean-b');
    await b.subscribe('sf/clean', 1);
    await a.publishAcked('sf/clean', 'still here', { qos: 1 });
    expect(str(((await b.expect('publish')) as { payload: Uint8Array }).payload)).toBe('still here');

    // The refused connections left no will [MQTT-3.1.1 3.1.2-8] (checked behind a round trip).
    await willWatch.ping();
    await willWatch.expectNothing(300);

    // Room again: the next persistent session is stored and confirmed; the refused one left none.
    rmSync(filler);
    const again = await RawClient.connect(port);
    again.send(connectPacket(5, 'sf-new5', keep));
    expect(await again.expect('connack', 5000)).toMatchObject({ reasonCode: 0, sessionPresent: false });
    await warned(/^shard 0: the store at .* writes again$/);
    expect(warnings.filter((w) => /cannot write/.test(w))).toHaveLength(1);
  });

  it("[MQTT-5.0 3.2.2-6] a refused reconnect leaves the stored session as it was: its expiry is not the refused CONNECT's", async (ctx) => {
    if (!disk) return ctx.skip();
    const port = broker!.ports.tcp!;
    const first = await connected(port, 5, 'sf-resume', keep);
    first.send({ cmd: 'disconnect', reasonCode: 0 });
    await first.expectClosed(5000);
    fillDisk();

    // Asks for a session that ends 1 s after this connection; the store cannot save that.
    const refused = await mqttConnect(port, 5, 'sf-resume', {
      clean: false,
      properties: { sessionExpiryInterval: 1 },
      will: bigWill,
    });
    expect(refused.connack).toMatchObject({ reasonCode: 0x97, sessionPresent: false });
    await refused.client.expectClosed(5000);

    // The session the client was last confirmed (expiry 600) is still there after the refused
    // CONNECT's 1 s would have ended it.
    rmSync(filler);
    await sleep(2100);
    const back = await RawClient.connect(port);
    back.send(connectPacket(5, 'sf-resume', keep));
    expect(await back.expect('connack', 5000)).toMatchObject({ reasonCode: 0, sessionPresent: true });
  });
});
