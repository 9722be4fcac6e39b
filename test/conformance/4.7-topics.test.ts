// Topic names and filters (MQTT 3.1.1 §4.7, MQTT 5.0 §4.7): wildcards, `$` topics, empty levels,
// no normalization; black-box over TCP.
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion, PublishPacket } from '../../src/protocol/packets.js';
import { connected } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker({ sysInterval: 1 });

/** Which of `topics` a subscriber on `filter` receives (each published once at QoS 0). */
async function received(v: ProtocolVersion, filter: string, topics: string[]): Promise<string[]> {
  const sub = await connected(port, v, uid('sub'));
  await sub.subscribe(filter, 0);
  const pub = await connected(port, v, uid('pub'));
  for (const t of topics) pub.publish(t, 'x');
  await pub.ping();
  await sub.ping(); // every delivery sent before the PINGRESP is now queued
  const got = await sub.collect(100);
  return got.filter((p): p is PublishPacket => p.cmd === 'publish').map((p) => p.topic);
}

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';

  describe(`Topics, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 4.7.2-1] does not match topics beginning with $ against filters beginning with # or +`, async () => {
      const id = uid('d');
      const topics = [`$${id}/x`, `$${id}`, `${id}/x`];
      expect(await received(v, '#', topics)).not.toContain(`$${id}/x`);
      expect(await received(v, '#', topics)).not.toContain(`$${id}`);
      expect(await received(v, '+/x', topics)).toEqual([`${id}/x`]);
      expect(await received(v, `$${id}/#`, topics)).toEqual([`$${id}/x`, `$${id}`]);
      expect(await received(v, `$${id}/+`, topics)).toEqual([`$${id}/x`]);
    });

    it(`[MQTT-${ed} 4.7.1-3] the single-level wildcard matches exactly one level, an empty one included`, async () => {
      const b = uid('plus');
      const topics = [`${b}/a/c`, `${b}//c`, `${b}/a/b/c`, `${b}/c`];
      expect(await received(v, `${b}/+/c`, topics)).toEqual([`${b}/a/c`, `${b}//c`]);
      expect(await received(v, `${b}/+`, [`${b}/`, `${b}`, `${b}/x`, `${b}/x/y`])).toEqual([
        `${b}/`,
        `${b}/x`,
      ]);
    });

    it(`[MQTT-${ed} 4.7.1-2] the multi-level wildcard matches the parent level and any number of levels below`, async () => {
      const b = uid('hash');
      const topics = [b, `${b}/`, `${b}/a`, `${b}/a/b/c`, `${b}x/a`];
      expect(await received(v, `${b}/#`, topics)).toEqual([b, `${b}/`, `${b}/a`, `${b}/a/b/c`]);
    });

    it(`[MQTT-${ed} 4.7.3-1, §4.7.1.1] a leading or trailing / makes a distinct topic level`, async () => {
      const b = uid('slash');
      expect(await received(v, `/${b}`, [`/${b}`, b, `${b}/`])).toEqual([`/${b}`]);
      expect(await received(v, `${b}/`, [`/${b}`, b, `${b}/`])).toEqual([`${b}/`]);
    });

    it(`[MQTT-${ed} 4.7.3-4] matches without normalization: case and Unicode forms are distinct`, async () => {
      const b = uid('norm');
      const composed = `${b}/caf\u00e9`;
      const decomposed = `${b}/cafe\u0301`;
      expect(await received(v, composed, [composed, decomposed, `${b}/CAF\u00c9`])).toEqual([composed]);
    });

    it(`[MQTT-${ed} 3.3.2-3] a message matching a wildcard filter keeps its own Topic Name`, async () => {
      const b = uid('name');
      expect(await received(v, `${b}/+/z/#`, [`${b}/y/z`, `${b}/y/z/1/2`])).toEqual([
        `${b}/y/z`,
        `${b}/y/z/1/2`,
      ]);
    });
  });
}

describe('$SYS topics, MQTT 5.0 and 3.1.1', () => {
  for (const v of [4, 5] as const) {
    const ed = v === 5 ? '5.0' : '3.1.1';
    it(`[MQTT-${ed} 4.7.2-1] the broker's own $SYS messages, retained or live, do not match # or +/...`, async () => {
      const sys = await connected(port, v, uid('sys'));
      await sys.subscribe('$SYS/#', 0);
      // The broker publishes $SYS every second here: wait (bounded) for the first one.
      const first = await sys.expect('publish', 3000);
      expect(first.topic.startsWith('$SYS/')).toBe(true);
      const all = await connected(port, v, uid('all'));
      await all.subscribe(['#', '+/broker/#'], 0);
      const got = (await all.collect(1500)).filter((p): p is PublishPacket => p.cmd === 'publish');
      expect(got.filter((p) => p.topic.startsWith('$'))).toEqual([]);
    });
  }
});
