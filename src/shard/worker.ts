// A shard: one long-running piscina task on its own thread. It instantiates weir.wasm on the
// shared memory the gateway created for it, reserves its two rings inside that memory (so the
// inbound bytes are already where the WASM decoder reads them), tells the gateway where they are,
// and then drains the inbound ring in batches until a STOP record arrives.
import type { MessagePort } from 'node:worker_threads';
import { instantiate } from '../protocol/wasm.js';
import { ringBytes } from '../ring/layout.js';
import { RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { initRing, RingConsumer, RingProducer, type RingRef } from '../ring/spsc-ring.js';
import type { ShardLogicFactory } from './logic.js';

export interface ShardInit {
  index: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** DATA bytes of each ring (power of two). */
  ringCapacity: number;
  /** file:// URL of the module whose default export is the ShardLogicFactory. */
  logic: string;
  /** Passed to the logic as ShardContext.settings (structured-cloned). */
  settings: unknown;
  port: MessagePort;
}

/** Sent once on the port when the rings are ready: their base offsets in the shard's memory. */
export interface ShardReady {
  type: 'ready';
  index: number;
  inbound: number;
  outbound: number;
}

function reserveRing(wasm: ReturnType<typeof instantiate>, capacity: number, what: string): RingRef {
  // reserve() aligns to 16; the ring header wants its counters on separate 64-byte lines.
  const raw = wasm.reserve(ringBytes(capacity) + 48, what);
  const ring = { buffer: wasm.memory.buffer as SharedArrayBuffer, base: (raw + 63) & ~63, capacity };
  initRing(ring);
  return ring;
}

export default async function shardMain(init: ShardInit): Promise<string> {
  const wasm = instantiate({ module: init.module, memory: init.memory });
  const inboundRef = reserveRing(wasm, init.ringCapacity, `shard ${init.index} inbound ring`);
  const outboundRef = reserveRing(wasm, init.ringCapacity, `shard ${init.index} outbound ring`);
  const inbound = new RingConsumer(inboundRef);
  const out = new RingProducer(outboundRef);
  const factory = (await import(init.logic)).default as ShardLogicFactory;
  const logic = await factory({ index: init.index, wasm, out, port: init.port, settings: init.settings });
  const ready: ShardReady = {
    type: 'ready',
    index: init.index,
    inbound: inboundRef.base,
    outbound: outboundRef.base,
  };
  init.port.postMessage(ready);

  let stopping = false;
  while (!stopping) {
    for (let len = inbound.next(); len >= 0; len = inbound.next()) {
      const kind = tagKind(inbound.tag);
      if (kind === RecordKind.STOP) {
        stopping = true;
        break;
      }
      const conn = tagConnection(inbound.tag);
      while (!logic.record(kind, conn, inbound.offset, len)) {
        // The gateway is behind on this shard's output: hand over what we have and wait.
        out.flush();
        await out.waitForSpace();
      }
    }
    inbound.release();
    out.flush();
    if (stopping) break;
    const sleep = inbound.wait();
    if (sleep) await sleep;
  }
  logic.close?.();
  inbound.close();
  out.close();
  init.port.close();
  return `shard ${init.index} stopped`;
}
