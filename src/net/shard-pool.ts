// The gateway's view of the shards: a dedicated piscina pool with one long-running task per
// shard, a shared WebAssembly.Memory per shard (created here, so the gateway can write into the
// shard's inbound ring), and a drain loop per shard that hands outbound records to the gateway.
//
// A shard that dies (uncaught error, process.exit in its thread, or kill()) is reported with
// 'exit' and started again on a fresh memory: the dead thread's rings may be mid-record, so they
// are abandoned rather than repaired. The link's generation tells stale users apart.
//
// The pool also wires the shards to each other: every shard has an inbound ring from every other
// shard, in its own memory. Once all are ready each shard is told where it writes to the others
// (peer-up). When one dies, the others are told first (peer-down: they forget its routes and
// reset their ring from it, then answer), and only then is it started again, given the others'
// rings at once; when it is ready they are told of it, and one of them sends it the retained
// messages it lost.
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type ErrorCode, ErrorCodes, WeirError } from '../errors.js';
import { compileModule, createMemory } from '../protocol/wasm.js';
import { makeTag, RecordKind, tagConnection, tagKind } from '../ring/records.js';
import { RingConsumer, RingProducer } from '../ring/spsc-ring.js';
import type {
  PeerDownDone,
  PeerRef,
  PeerUpDone,
  ShardControl,
  ShardInit,
  ShardReady,
  ShardWarning,
} from '../shard/worker.js';

export interface ShardPoolOptions {
  shards: number;
  /** file:// URL of the shard logic module (default export: ShardLogicFactory). */
  logic: string;
  /** Given to every shard's logic as ShardContext.settings. */
  settings?: unknown;
  /** WASM memory per shard (bytes). */
  memoryBytes?: number;
  /** DATA bytes of each ring (power of two). */
  ringCapacity?: number;
  /** Called for every outbound record of a shard; `offset`/`len` are valid until it returns. */
  onRecord(link: ShardLink, kind: number, conn: number, offset: number, len: number): void;
  /** Called after each drained batch of a shard's records, before its space is released (the gateway writes the sockets here). */
  onBatchEnd?(link: ShardLink): void;
  /** Restart a shard that died (default true). */
  restart?: boolean;
  /** The gateway's write slots (src/ring/write-slots.ts): shards may then write to sockets themselves. */
  writeSlots?: SharedArrayBuffer;
}

export interface ShardLink {
  readonly index: number;
  /** Counts the starts of this shard: a restart gets a new link with generation + 1. */
  readonly generation: number;
  readonly memory: WebAssembly.Memory;
  readonly u8: Uint8Array;
  /** Gateway → shard. Flush after writing a batch. */
  readonly inbound: RingProducer;
  /** Shard → gateway; drained by the pool. */
  readonly outbound: RingConsumer;
  /** The doorbell of the shard (its producers ring it) and the bases of its rings from other shards. */
  readonly bell: number;
  readonly peerRings: readonly number[];
  /** Control messages to the shard. */
  readonly port: MessagePort;
  /** What the shard restored from the store when it started. */
  readonly startup?: ShardReady['startup'];
  phase: LinkPhaseValue;
  /** The shard's latest report, if any. */
  stats?: ShardStats;
}

/**
 * A shard's life as the pool sees it:
 *
 *   STARTING ──every other shard has applied its peer-up──► SERVING ──thread ended──► STOPPED
 *       └──────────────────────── thread ended ──────────────────────────────────────────┘
 *
 * Only a SERVING shard gets clients (`link()`): a subscriber on a restarted shard that another
 * shard could not yet write to would miss the messages that shard acknowledged to their
 * publishers. A STARTING one already takes part in peer-up and peer-down.
 */
export const LinkPhase = { STARTING: 0, SERVING: 1, STOPPED: 2 } as const;
export type LinkPhaseValue = (typeof LinkPhase)[keyof typeof LinkPhase];

/** The shard's thread runs (starting or serving). */
export function running(link: ShardLink | undefined): link is ShardLink {
  return link !== undefined && link.phase !== LinkPhase.STOPPED;
}

interface Events {
  /** A shard is running and every other live shard can write to it. */
  ready: [ShardLink];
  exit: [index: number, error: Error];
  /** For the operator: a shard stopped, or a shard said something (its store cannot write). */
  warning: [message: string];
}

/** Counters a shard reports on its control port about once a second (never per packet). */
export interface ShardStats {
  type: 'stats';
  sessions: number;
  connections: number;
  subscriptions: number;
  retained: number;
  messagesIn: number;
  messagesOut: number;
  dropped: number;
  /** FORWARD records sent to other shards. */
  forwarded: number;
  /** Bytes the store holds (pages in use; one store for all shards). */
  storeBytes: number;
  /** The shard thread's JS heap in use. */
  heapBytes: number;
  /** Bytes the shard wrote to sockets itself since it started (src/shard/direct-write.ts). */
  directBytes: number;
}

const MiB = 1024 * 1024;

/**
 * A shard's young generation. V8 grows it (up to 32 MB of new space by default) when many
 * objects survive, as a shard's sessions do while thousands of clients connect: resident memory
 * per idle connection (4.3-4.6 KB in conn-10k) for no gain, since a shard's per-packet work
 * allocates little. 4 MB: 3.6-3.7 KB per connection, and qos0-pairs and qos1-pairs no slower
 * (three alternating runs each, bench/HISTORY.md, "Where the time goes (2026-12-02)").
 */
const SHARD_YOUNG_GENERATION_MB = 4;

export class ShardPool extends EventEmitter<Events> {
  private readonly options: Required<Omit<ShardPoolOptions, 'onBatchEnd' | 'writeSlots'>> &
    Pick<ShardPoolOptions, 'onBatchEnd' | 'writeSlots'>;
  private readonly piscina: Piscina;
  private readonly module = compileModule();
  private readonly links: Array<ShardLink | undefined>;
  private readonly generations: number[];
  private readonly aborts: AbortController[] = [];
  private readonly tasks: Array<Promise<void>> = [];
  private closing = false;
  /** peer-down and peer-up answers awaited, by "down|up:shard:other shard". */
  private readonly peerWaits = new Map<string, () => void>();

  constructor(options: ShardPoolOptions) {
    super();
    const ringCapacity = options.ringCapacity ?? 4 * MiB;
    // Two rings with the gateway and one from each other shard, plus the module's own regions.
    const memoryBytes = (options.shards + 1) * (ringCapacity + 4096) + 64 * MiB;
    this.options = { memoryBytes, ringCapacity, restart: true, settings: {}, ...options };
    this.links = new Array(options.shards).fill(undefined);
    this.generations = new Array(options.shards).fill(0);
    // A pool of its own: long-running shard tasks would starve any other task queued on it.
    this.piscina = new Piscina({
      filename: new URL('../shard/worker.js', import.meta.url).href,
      minThreads: options.shards,
      maxThreads: options.shards,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB },
    });
  }

  /** Start every shard; resolves when all have reported their rings. */
  async start(): Promise<void> {
    const ready = Array.from({ length: this.options.shards }, (_, i) => this.startShard(i, []));
    const links = await Promise.all(ready);
    await Promise.all(links.map((link) => this.announce(link, -1)));
    for (const link of links) this.accept(link);
  }

  private accept(link: ShardLink): void {
    if (link.phase !== LinkPhase.STARTING) return;
    link.phase = LinkPhase.SERVING;
    this.emit('ready', link);
  }

  /**
   * Tell every other live shard where it writes to `link`'s shard (`syncer` also sends it the
   * retained messages); resolves when each has sent it its routes.
   */
  private announce(link: ShardLink, syncer: number): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const other of this.links) {
      if (!running(other) || other === link) continue;
      waits.push(this.answer(`up:${other.index}:${link.index}`));
      const msg: ShardControl = {
        type: 'peer-up',
        peer: this.peerRef(link, other.index),
        syncRetained: other.index === syncer,
      };
      other.port.postMessage(msg);
    }
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * The answer `key` from a shard. A shard that does not answer within a second is dying itself
   * and is handled on its own.
   */
  private answer(key: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      timer.unref();
      this.peerWaits.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => this.peerWaits.delete(key));
  }

  /** Where shard `from` writes into `link`'s shard. */
  private peerRef(link: ShardLink, from: number): PeerRef {
    return {
      index: link.index,
      memory: link.memory,
      base: link.peerRings[from]!,
      bell: link.bell,
      capacity: this.options.ringCapacity,
    };
  }

  /** The link of shard `index` while it is SERVING, else undefined (see LinkPhase). */
  link(index: number): ShardLink | undefined {
    const link = this.links[index];
    return link?.phase === LinkPhase.SERVING ? link : undefined;
  }

  get size(): number {
    return this.options.shards;
  }

  /** How many times each shard has been started (1 = never restarted). */
  get starts(): readonly number[] {
    return this.generations;
  }

  /** End a shard's thread at once (a wedged shard; tests of crash handling). */
  kill(index: number): void {
    this.aborts[index]?.abort(new WeirError('ERR_SHARD_EXIT', `shard ${index} was killed`));
  }

  /** Ask every shard to finish its batch and return, then close the pool. */
  async close(): Promise<void> {
    this.closing = true;
    for (const link of this.links) {
      if (!running(link)) continue;
      while (!link.inbound.write(makeTag(RecordKind.STOP, 0), new Uint8Array(0)))
        await link.inbound.waitForSpace();
      link.inbound.flush();
    }
    await Promise.allSettled(this.tasks);
    for (const link of this.links) if (link) this.retire(link);
    await this.piscina.close();
  }

  private startShard(index: number, peers: PeerRef[]): Promise<ShardLink> {
    const generation = ++this.generations[index]!;
    const memory = createMemory(this.options.memoryBytes);
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    this.aborts[index] = abort;
    const init: ShardInit = {
      index,
      shards: this.options.shards,
      peers,
      module: this.module,
      memory,
      ringCapacity: this.options.ringCapacity,
      logic: this.options.logic,
      settings: this.options.settings,
      writeSlots: this.options.writeSlots,
      port: port2,
    };
    let wasReady = false;
    const ready = new Promise<ShardLink>((resolve, reject) => {
      let link: ShardLink | undefined;
      port1.on('message', (msg: ShardReady | ShardStats | PeerDownDone | PeerUpDone | ShardWarning) => {
        if (msg.type === 'stats') {
          if (link) link.stats = msg;
          return;
        }
        if (msg.type === 'warning') {
          this.emit('warning', `shard ${index}: ${msg.message}`);
          return;
        }
        if (msg.type === 'peer-down-done' || msg.type === 'peer-up-done') {
          this.peerWaits.get(`${msg.type === 'peer-up-done' ? 'up' : 'down'}:${index}:${msg.index}`)?.();
          return;
        }
        wasReady = true;
        link = this.makeLink(index, generation, memory, msg, port1);
        this.links[index] = link;
        void this.drain(link);
        resolve(link);
      });
      // The control port must not keep the process alive: the shard's task does that.
      port1.unref();
      this.tasks[index] = this.piscina.run(init, { transferList: [port2], signal: abort.signal }).then(
        () => {
          port1.close();
        },
        (error: Error) => {
          port1.close();
          // A WeirError thrown in the shard (its store cannot be opened, say) arrives as a plain
          // Error with the same code: keep it one, so the CLI prints just its message.
          const code = (error as { code?: string }).code;
          reject(code && code in ErrorCodes ? new WeirError(code as ErrorCode, error.message) : error);
          this.onShardExit(index, generation, error, wasReady);
        },
      );
    });
    return ready;
  }

  private makeLink(
    index: number,
    generation: number,
    memory: WebAssembly.Memory,
    msg: ShardReady,
    port: MessagePort,
  ): ShardLink {
    const buffer = memory.buffer as SharedArrayBuffer;
    const capacity = this.options.ringCapacity;
    return {
      index,
      generation,
      memory,
      u8: new Uint8Array(buffer),
      inbound: new RingProducer({ buffer, base: msg.inbound, capacity, bell: msg.bell }),
      outbound: new RingConsumer({ buffer, base: msg.outbound, capacity }),
      bell: msg.bell,
      peerRings: msg.peerRings,
      port,
      startup: msg.startup,
      phase: LinkPhase.STARTING,
    };
  }

  private onShardExit(index: number, generation: number, error: Error, wasReady: boolean): void {
    const link = this.links[index];
    if (link && link.generation === generation) {
      this.retire(link);
      this.links[index] = undefined;
    }
    this.emit('exit', index, error);
    // A shard that never became ready (bad logic module, memory too small) would fail the same
    // way again: report it instead of restarting in a loop.
    const restart = this.options.restart && !this.closing && wasReady;
    if (!this.closing)
      this.emit(
        'warning',
        `shard ${index} stopped (${error.message}); its clients were disconnected` +
          (restart
            ? ' and can connect again once it has restarted'
            : '; it is not restarted, since it never started'),
      );
    void this.peersForget(index).then(() => {
      if (!restart || this.closing) return;
      const live = this.links.filter((l): l is ShardLink => running(l) && l.index !== index);
      const peers = live.map((l) => this.peerRef(l, index));
      this.startShard(index, peers).then(
        (link) => void this.announce(link, live[0]?.index ?? -1).then(() => this.accept(link)),
        () => {
          // Reported by the new start's own 'exit' event.
        },
      );
    });
  }

  /**
   * Tell the live shards that shard `dead` is gone, and wait until each has reset its ring from
   * it (a new incarnation must not write into a ring that still holds the old one's records). A
   * shard that does not answer within a second is dying itself and will be handled on its own.
   */
  private async peersForget(dead: number): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const link of this.links) {
      if (!running(link) || link.index === dead) continue;
      waits.push(this.answer(`down:${link.index}:${dead}`));
      const msg: ShardControl = { type: 'peer-down', index: dead };
      link.port.postMessage(msg);
    }
    await Promise.all(waits);
  }

  private retire(link: ShardLink): void {
    link.phase = LinkPhase.STOPPED;
    link.outbound.interrupt();
    link.inbound.interrupt();
    link.outbound.close();
    link.inbound.close();
  }

  /** Hand the shard's outbound records to the gateway, batch by batch, sleeping when it is empty. */
  private async drain(link: ShardLink): Promise<void> {
    const { outbound } = link;
    const { onRecord, onBatchEnd } = this.options;
    while (running(link)) {
      let any = false;
      for (let len = outbound.next(); len >= 0; len = outbound.next()) {
        onRecord(link, tagKind(outbound.tag), tagConnection(outbound.tag), outbound.offset, len);
        any = true;
      }
      // Before the release: the batch's bytes are still the ring's until then.
      if (any) onBatchEnd?.(link);
      outbound.release();
      const sleep = outbound.wait();
      if (sleep) await sleep;
    }
  }
}
