// A shard: one long-running piscina task on its own thread. It instantiates weir.wasm on the
// shared memory the gateway created for it, reserves its rings inside that memory (so inbound
// bytes are already where the WASM decoder reads them): one pair with the gateway and one inbound
// ring from every other shard, all waking it through one doorbell. It tells the gateway where
// they are, and then drains them in batches until a STOP record arrives.
import type { MessagePort } from 'node:worker_threads';
import { instantiate } from '../protocol/wasm.js';
import { BELL_BYTES, Doorbell } from '../ring/doorbell.js';
import { ringBytes } from '../ring/layout.js';
import { RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { initRing, RingConsumer, RingProducer, type RingRef } from '../ring/spsc-ring.js';
import { WriteSlots } from '../ring/write-slots.js';
import { DirectOutbound } from './direct-write.js';
import { Idle } from './idle.js';
import type { ShardLogic, ShardLogicFactory, StartupReport } from './logic.js';

/** Where shard `index` receives from another shard: its memory, ring and doorbell. */
export interface PeerRef {
  index: number;
  memory: WebAssembly.Memory;
  base: number;
  bell: number;
  capacity: number;
}

export interface ShardInit {
  index: number;
  /** How many shards the pool runs (this one included). */
  shards: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** DATA bytes of each ring (power of two). */
  ringCapacity: number;
  /** file:// URL of the module whose default export is the ShardLogicFactory. */
  logic: string;
  /** Passed to the logic as ShardContext.settings (structured-cloned). */
  settings: unknown;
  port: MessagePort;
  /** The rings of the shards already running that this one writes to (a restart). */
  peers: PeerRef[];
  /** The gateway's write slots: with them, batches below saturation go to the sockets from here (./direct-write.ts). */
  writeSlots?: SharedArrayBuffer;
}

/** Sent once on the port when the rings are ready: their base offsets in the shard's memory. */
export interface ShardReady {
  type: 'ready';
  index: number;
  inbound: number;
  outbound: number;
  /** The doorbell every producer into this shard rings. */
  bell: number;
  /** peerRings[k]: the base of the ring shard k writes into (-1 for this shard itself). */
  peerRings: number[];
  /** What the logic restored at start-up. */
  startup?: StartupReport;
}

/** Pool → shard control messages (never per packet). */
export type ShardControl =
  | { type: 'peer-up'; peer: PeerRef; syncRetained: boolean }
  /** Shard `index` died: forget its routes, stop writing to it, reset its ring (then ack). */
  | { type: 'peer-down'; index: number };

/** The shard's answer to peer-up, once what the new shard must know is in its ring. */
export interface PeerUpDone {
  type: 'peer-up-done';
  index: number;
}

/** Something the operator should hear of (a store that cannot write, and when it can again). */
export interface ShardWarning {
  type: 'warning';
  message: string;
}

/** The shard's answer to peer-down, once its ring from the dead shard is reset. */
export interface PeerDownDone {
  type: 'peer-down-done';
  index: number;
}

function reserveRing(
  wasm: ReturnType<typeof instantiate>,
  capacity: number,
  what: string,
  bell: number | undefined,
): RingRef {
  // reserve() aligns to 16; the ring header wants its counters on separate 64-byte lines.
  const raw = wasm.reserve(ringBytes(capacity) + 48, what);
  const ring = { buffer: wasm.memory.buffer as SharedArrayBuffer, base: (raw + 63) & ~63, capacity, bell };
  initRing(ring);
  return ring;
}

/** How long a shard blocked on a full ring of another shard sleeps before it looks again. */
const PEER_POLL_MS = 1;

export default async function shardMain(init: ShardInit): Promise<string> {
  const wasm = instantiate({ module: init.module, memory: init.memory });
  const buffer = wasm.memory.buffer as SharedArrayBuffer;
  const bell = (wasm.reserve(BELL_BYTES + 48, `shard ${init.index} doorbell`) + 63) & ~63;
  new Int32Array(buffer, bell, 1)[0] = 0;
  const doorbell = new Doorbell(buffer, bell);
  const inboundRef = reserveRing(wasm, init.ringCapacity, `shard ${init.index} inbound ring`, bell);
  // The gateway drains the outbound ring in a loop of its own, sleeping on the ring's HEAD.
  const outboundRef = reserveRing(wasm, init.ringCapacity, `shard ${init.index} outbound ring`, undefined);
  const inbound = new RingConsumer(inboundRef);
  const out = init.writeSlots
    ? new DirectOutbound(outboundRef, new WriteSlots(init.writeSlots))
    : new RingProducer(outboundRef);
  const peerRefs: Array<RingRef | undefined> = [];
  const peerIn: Array<RingConsumer | undefined> = [];
  for (let k = 0; k < init.shards; k++) {
    if (k === init.index) continue;
    peerRefs[k] = reserveRing(wasm, init.ringCapacity, `shard ${init.index} ring from shard ${k}`, bell);
    peerIn[k] = new RingConsumer(peerRefs[k]!);
  }
  const factory = (await import(init.logic)).default as ShardLogicFactory;
  const logic = await factory({
    index: init.index,
    shards: init.shards,
    wasm,
    out,
    port: init.port,
    settings: init.settings,
  });

  // Control messages are applied by the loop between records, never in the middle of a batch.
  const control: ShardControl[] = [];
  init.port.on('message', (msg: ShardControl) => {
    if (msg.type !== 'peer-up' && msg.type !== 'peer-down') return;
    control.push(msg);
    doorbell.ring();
  });
  // What the loop waits on: [0] the gateway's ring, [1 + k] shard k's (none for this shard). Kept
  // in step with peerIn rather than rebuilt for every wait (setting an array's length is a call
  // into V8's runtime).
  const rings: Array<RingConsumer | undefined> = [inbound];
  for (let k = 0; k < init.shards; k++) rings[1 + k] = peerIn[k];
  const applyControl = (): void => {
    if (control.length === 0) return;
    for (let msg = control.shift(); msg; msg = control.shift()) {
      if (msg.type === 'peer-up') {
        logic.peerUp?.(msg.peer.index, producerFor(msg.peer), msg.syncRetained);
        // What it was sent (our routes) is in its ring before the pool hears we are done, so the
        // pool opens the listeners only once every shard knows every route.
        logic.flush?.();
        const done: PeerUpDone = { type: 'peer-up-done', index: msg.peer.index };
        init.port.postMessage(done);
        continue;
      }
      logic.peerDown?.(msg.index);
      // The dead shard may have left half a record past HEAD: start its ring afresh.
      const ref = peerRefs[msg.index];
      if (ref) {
        initRing(ref);
        peerIn[msg.index] = new RingConsumer(ref);
        rings[1 + msg.index] = peerIn[msg.index];
      }
      const done: PeerDownDone = { type: 'peer-down-done', index: msg.index };
      init.port.postMessage(done);
    }
  };
  for (const peer of init.peers) logic.peerUp?.(peer.index, producerFor(peer), false);

  const ready: ShardReady = {
    type: 'ready',
    index: init.index,
    inbound: inboundRef.base,
    outbound: outboundRef.base,
    bell,
    peerRings: Array.from({ length: init.shards }, (_, k) => peerRefs[k]?.base ?? -1),
    startup: logic.startup,
  };
  init.port.postMessage(ready);

  const idle = new Idle(doorbell, logic, PEER_POLL_MS);
  let stopping = false;
  while (!stopping) {
    applyControl();
    // Other shards first: a route or retained message they published before the gateway's
    // records (a SUBACK seen by a publisher) is then in force when those records are handled.
    // (Looked at first, so that a batch with nothing from them costs no promise.)
    if (peersPending(peerIn)) await drainPeers(logic, peerIn, out);
    for (let len = inbound.next(); len >= 0; len = inbound.next()) {
      const kind = tagKind(inbound.tag);
      if (kind === RecordKind.STOP) {
        stopping = true;
        break;
      }
      const conn = tagConnection(inbound.tag);
      while (!logic.record(kind, conn, inbound.offset, len)) {
        // Output is full: hand over what we have and wait for room.
        logic.flush?.();
        out.flush();
        if (logic.waitingForPeer?.()) {
          // A full ring to another shard: keep draining ours meanwhile, or two shards that each
          // wait for the other would wait forever.
          applyControl();
          await drainPeers(logic, peerIn, out);
          await doorbell.wait(rings, PEER_POLL_MS);
        } else {
          await out.waitForSpace();
        }
      }
    }
    inbound.release();
    logic.flush?.();
    out.flush();
    if (stopping) break;
    const sleep = idle.sleep(rings);
    if (sleep) await sleep;
  }
  await logic.close?.();
  inbound.close();
  out.close();
  doorbell.close();
  init.port.close();
  return `shard ${init.index} stopped`;
}

function producerFor(peer: PeerRef): RingProducer {
  const buffer = peer.memory.buffer as SharedArrayBuffer;
  return new RingProducer({ buffer, base: peer.base, capacity: peer.capacity, bell: peer.bell });
}

function peersPending(peerIn: Array<RingConsumer | undefined>): boolean {
  for (const ring of peerIn) if (ring?.hasPending) return true;
  return false;
}

/** Hand every record waiting in the other shards' rings to the logic, one ring at a time. */
async function drainPeers(
  logic: ShardLogic,
  peerIn: Array<RingConsumer | undefined>,
  out: RingProducer,
): Promise<void> {
  if (!logic.peerRecord) return;
  for (let k = 0; k < peerIn.length; k++) {
    const ring = peerIn[k];
    if (!ring) continue;
    for (let len = ring.next(); len >= 0; len = ring.next()) {
      while (!logic.peerRecord(k, tagKind(ring.tag), tagConnection(ring.tag), ring.offset, len)) {
        // Records from shards only ever need room towards the gateway, which always drains.
        out.flush();
        await out.waitForSpace();
      }
    }
    ring.release();
  }
}
