// Debian's mosquitto_sub / mosquitto_pub against Weir, in each protocol version they speak.
import { beforeAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { requireTool, run, subscribe } from './tools.js';

beforeAll(() => requireTool('/usr/bin/mosquitto_sub', 'mosquitto-clients'));
const suite = useBroker();

const common = () => ['-h', '127.0.0.1', '-p', String(suite.port)];

describe('mosquitto_pub and mosquitto_sub', () => {
  for (const version of ['mqttv31', 'mqttv311', 'mqttv5']) {
    it(`carry QoS 0, 1 and 2 messages (${version})`, async () => {
      const topic = `interop/${version}`;
      // -C 3: exit after three messages; -W 8: give up after 8 s.
      const sub = subscribe([
        ...common(),
        '-V',
        version,
        '-t',
        `${topic}/#`,
        '-q',
        '2',
        '-C',
        '3',
        '-W',
        '8',
      ]);
      await sub.ready;
      for (const qos of ['0', '1', '2']) {
        await run('mosquitto_pub', [
          ...common(),
          '-V',
          version,
          '-t',
          `${topic}/q${qos}`,
          '-q',
          qos,
          '-m',
          `hello ${qos}`,
        ]);
      }
      expect(await sub.messages).toEqual([
        `${topic}/q0 hello 0`,
        `${topic}/q1 hello 1`,
        `${topic}/q2 hello 2`,
      ]);
    });
  }

  it('get a retained message on subscribing, and clear it with an empty one', async () => {
    await run('mosquitto_pub', [...common(), '-t', 'interop/retained', '-r', '-q', '1', '-m', 'kept']);
    expect(
      (await run('mosquitto_sub', [...common(), '-t', 'interop/retained', '-C', '1', '-W', '5'])).trim(),
    ).toBe('kept');
    await run('mosquitto_pub', [...common(), '-t', 'interop/retained', '-r', '-n']);
    // Nothing retained any more: mosquitto_sub times out (-W 1) having printed nothing.
    const after = run('mosquitto_sub', [...common(), '-t', 'interop/retained', '-C', '1', '-W', '1']);
    await expect(after).rejects.toThrow(/failed/);
  });
});
