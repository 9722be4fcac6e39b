import { describe, expect, it } from 'vitest';
import { AckResult, Outbound, OutboundState } from '../../../src/session/outbound.js';
import { PacketIds } from '../../../src/session/packet-ids.js';

describe('packet identifiers', () => {
  it('never hands out 0 and never one in use [MQTT-5.0 2.2.1-2] [MQTT-3.1.1 2.3.1-2]', () => {
    const ids = new PacketIds();
    const seen = new Set<number>();
    for (let i = 0; i < 65535; i++) {
      const id = ids.alloc();
      expect(id).toBeGreaterThan(0);
      seen.add(id);
    }
    expect(seen.size).toBe(65535);
    expect(ids.alloc()).toBe(0);
    ids.free(300);
    expect(ids.alloc()).toBe(300);
  });

  it('reuses freed identifiers as late as possible', () => {
    const ids = new PacketIds();
    const a = ids.alloc();
    ids.free(a);
    expect(ids.alloc()).toBe(a + 1);
  });

  it('restores identifiers of a stored session and rejects duplicates', () => {
    const ids = new PacketIds();
    expect(ids.take(7)).toBe(true);
    expect(ids.take(7)).toBe(false);
    expect(ids.take(0)).toBe(false);
    expect(ids.size).toBe(1);
  });
});

describe('outbound QoS flows', () => {
  it('completes a QoS 1 flow on PUBACK and frees its identifier', () => {
    const out = new Outbound<{ qos: 1 | 2 }>(10, 100);
    const id = out.send({ qos: 1 });
    expect(out.inflightCount).toBe(1);
    expect(out.pubrec(id)).toBe(AckResult.WRONG_STATE);
    expect(out.puback(id)).toBe(AckResult.OK);
    expect(out.inflightCount).toBe(0);
    expect(out.puback(id)).toBe(AckResult.UNKNOWN_ID);
  });

  it('walks a QoS 2 flow PUBREC → PUBCOMP; a repeated PUBREC is fine [MQTT-5.0 4.3.3-4]', () => {
    const out = new Outbound<{ qos: 2 }>(10, 100);
    const id = out.send({ qos: 2 });
    expect(out.pubcomp(id)).toBe(AckResult.WRONG_STATE);
    expect(out.pubrec(id)).toBe(AckResult.OK);
    expect([...out.inflight()][0]!.state).toBe(OutboundState.AWAIT_PUBCOMP);
    expect(out.pubrec(id)).toBe(AckResult.OK);
    expect(out.puback(id)).toBe(AckResult.WRONG_STATE);
    expect(out.pubcomp(id)).toBe(AckResult.OK);
    expect(out.pubcomp(id)).toBe(AckResult.UNKNOWN_ID);
  });

  it('ends a QoS 2 flow on a failed PUBREC, with nothing left to re-send [MQTT-5.0 4.4.0-2]', () => {
    const out = new Outbound<{ qos: 2 }>(10, 100);
    const id = out.send({ qos: 2 });
    expect(out.abandon(id)).toBe(AckResult.OK);
    expect([...out.inflight()]).toEqual([]);
  });

  it('bounds what is in flight by the window (Receive Maximum) [MQTT-5.0 4.9.0-2]', () => {
    const out = new Outbound<{ qos: 1 }>(2, 100);
    out.send({ qos: 1 });
    expect(out.canSend).toBe(true);
    out.send({ qos: 1 });
    expect(out.canSend).toBe(false);
  });

  it('keeps flows in the order sent, for re-sending on reconnect [MQTT-5.0 4.4.0-1]', () => {
    const out = new Outbound<{ qos: 1 | 2; n: number }>(100, 100);
    const ids = [1, 2, 3, 4].map((n) => out.send({ qos: n % 2 === 0 ? 2 : 1, n }));
    out.puback(ids[0]!);
    out.pubrec(ids[1]!);
    expect([...out.inflight()].map((f) => [f.message.n, f.state])).toEqual([
      [2, OutboundState.AWAIT_PUBCOMP],
      [3, OutboundState.AWAIT_PUBACK],
      [4, OutboundState.AWAIT_PUBREC],
    ]);
  });

  it('queues up to maxQueued, dropping the oldest QoS 0 message first, then refusing', () => {
    const out = new Outbound<{ qos: 0 | 1; n: number }>(1, 3);
    expect(out.enqueue({ qos: 1, n: 1 })).toBe(true);
    expect(out.enqueue({ qos: 0, n: 2 })).toBe(true);
    expect(out.enqueue({ qos: 1, n: 3 })).toBe(true);
    expect(out.enqueue({ qos: 1, n: 4 })).toBe(true); // drops n=2
    expect(out.enqueue({ qos: 1, n: 5 })).toBe(false);
    const got: number[] = [];
    for (let m = out.dequeue(); m; m = out.dequeue()) got.push(m.n);
    expect(got).toEqual([1, 3, 4]);
  });

  it('stays correct through a long queue that is compacted as it drains', () => {
    const out = new Outbound<{ qos: 1; n: number }>(1, 1_000_000);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) out.enqueue({ qos: 1, n: next++ });
      for (let i = 0; i < 2500; i++) expect(out.dequeue()!.n).toBe(expected++);
    }
    expect(out.queuedCount).toBe(next - expected);
  });

  it('after a reconnect re-sends in-flight flows no faster than the new window allows [MQTT-5.0 3.3.4-9]', () => {
    const out = new Outbound<{ qos: 1 | 2; n: number }>(5, 100);
    const ids = [1, 2, 3, 4, 5].map((n) => out.send({ qos: 1, n }));
    out.window = 2; // the client reconnected with Receive Maximum 2
    out.markAllUnsent();
    expect(out.canSend).toBe(false); // new messages wait behind the re-sends
    expect([out.nextResend()?.message.n, out.nextResend()?.message.n, out.nextResend()]).toEqual([
      1,
      2,
      undefined,
    ]);
    out.puback(ids[0]!);
    expect(out.nextResend()?.message.n).toBe(3);
    expect(out.nextResend()).toBeUndefined();
    for (const id of ids.slice(1, 3)) out.puback(id);
    expect([out.nextResend()?.message.n, out.nextResend()?.message.n]).toEqual([4, 5]);
    expect(out.canSend).toBe(false); // 2 in flight = the window
    out.puback(ids[3]!);
    expect(out.canSend).toBe(true);
  });
});

describe('the outbound observer (what a persistent session mirrors in the store)', () => {
  type M = { qos: 0 | 1 | 2; seq?: number; name: string };
  function observed(maxQueued = 10) {
    const events: string[] = [];
    const out = new Outbound<M>(2, maxQueued);
    let seq = 0;
    out.observer = {
      added: (m, id) => {
        m.seq = ++seq;
        events.push(`added ${m.name}${id ? ` ${id}` : ''}`);
      },
      sent: (m, id) => events.push(`sent ${m.name} ${id}`),
      released: (m, id) => events.push(`released ${m.name} ${id}`),
      done: (m) => events.push(`done ${m.name}`),
    };
    return { out, events };
  }

  it('sees a QoS 1 and a QoS 2 flow from arrival to completion, once each', () => {
    const { out, events } = observed();
    const a = out.send({ qos: 1, name: 'a' });
    const b = out.send({ qos: 2, name: 'b' });
    out.enqueue({ qos: 1, name: 'c' });
    expect(out.puback(a)).toBe(AckResult.OK);
    expect(out.pubrec(b)).toBe(AckResult.OK);
    expect(out.pubcomp(b)).toBe(AckResult.OK);
    const c = out.dequeue()!;
    out.send(c); // already stored when queued: not added again
    expect(events).toEqual([
      'added a 1',
      'added b 2',
      'added c',
      'done a',
      'released b 2',
      'done b',
      'sent c 3',
    ]);
  });

  it('reports messages that leave without an ack: abandoned, discarded, or dropped for room', () => {
    const { out, events } = observed(1);
    const id = out.send({ qos: 2, name: 'x' });
    out.abandon(id);
    out.enqueue({ qos: 0, name: 'q0' });
    out.enqueue({ qos: 1, name: 'q1' }); // the queue is full: the oldest QoS 0 makes room
    out.discard(out.dequeue()!);
    expect(events).toEqual(['added x 1', 'done x', 'added q0', 'done q0', 'added q1', 'done q1']);
  });

  it('restores stored flows and queued messages without reporting them again', () => {
    const { out, events } = observed();
    expect(out.restore(9, OutboundState.AWAIT_PUBCOMP, { qos: 2, seq: 4, name: 'r' })).toBe(true);
    expect(out.enqueue({ qos: 1, seq: 5, name: 'q' })).toBe(true);
    expect(events).toEqual([]);
    expect([...out.messages()].map((m) => m.name)).toEqual(['r', 'q']);
  });
});
