// PINGREQ and PINGRESP (MQTT 3.1.1 §3.12–3.13, MQTT 5.0 §3.12–3.13) and keep-alive; black-box over TCP.
import { describe, expect, it } from 'vitest';
import { connected, sleep } from '../helpers/raw-client.js';
import { port, uid, useBroker } from './setup.js';

useBroker();

for (const v of [4, 5] as const) {
  const ed = v === 5 ? '5.0' : '3.1.1';

  describe(`PINGREQ, MQTT ${ed}`, () => {
    it(`[MQTT-${ed} 3.12.4-1] answers PINGREQ with PINGRESP (bytes D0 00)`, async () => {
      const c = await connected(port, v, uid('ping'));
      const before = c.rawBytes().length;
      c.send(Buffer.from([0xc0, 0x00]));
      const { bytes, packet } = await c.nextRaw();
      expect(packet.cmd).toBe('pingresp');
      expect(bytes.toString('hex')).toBe('d000');
      expect(c.rawBytes().subarray(before).toString('hex')).toBe('d000');
    });

    it(`[MQTT-${ed} 3.12.4-1] answers every PINGREQ of a burst, in one write or many`, async () => {
      const c = await connected(port, v, uid('burst'));
      c.send(Buffer.alloc(20, Buffer.from([0xc0, 0x00])));
      for (let i = 0; i < 10; i++) expect((await c.next()).cmd).toBe('pingresp');
      await c.expectNothing(200);
    });

    it(`[MQTT-${ed} ${v === 5 ? '3.1.2-22' : '3.1.2-24'}] a client that sends PINGREQ within its Keep Alive stays connected`, async () => {
      const c = await connected(port, v, uid('alive'), { keepalive: 1 });
      for (let i = 0; i < 6; i++) {
        await sleep(500);
        await c.ping();
      }
      expect(c.closed).toBe(false);
    });

    it(`[MQTT-${ed} ${v === 5 ? '2.1.3-1' : '2.2.2-1, 2.2.2-2'}] closes the connection on a PINGREQ with reserved flags set`, async () => {
      const c = await connected(port, v, uid('flags'));
      c.send(Buffer.from([0xc8, 0x00]));
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('pingresp');
      if (v === 5) for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x81);
    });

    it(`[MQTT-${ed} ${v === 5 ? '2.1.3-1' : '2.2.2-2'}] closes the connection on a PINGREQ with a non-zero remaining length`, async () => {
      const c = await connected(port, v, uid('len'));
      c.send(Buffer.from([0xc0, 0x01, 0x00]));
      const got = await c.expectClosed();
      expect(got.map((p) => p.cmd)).not.toContain('pingresp');
      if (v === 5) for (const p of got) if (p.cmd === 'disconnect') expect(p.reasonCode).toBe(0x81);
    });
  });
}
