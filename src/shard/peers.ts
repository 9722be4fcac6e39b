// A shard's links to the other shards: the replicated route table and the rings it writes to.
//
// Route table: filter → shards with subscribers, as a SubscriptionIndex whose handles are shard
// numbers (this shard's own entries included) and whose subscription-id cell holds how many of
// that shard's sessions subscribe (the weight of a shared group). A shard tells every other one
// when its count for a (filter, group) changes: for plain subscriptions only 0 ↔ 1, for shared
// groups every change. A PUBLISH is matched once against this table in the publisher's shard;
// each other shard with a match gets one FORWARD record, and each shared group is given to one
// shard, weighted by its members there, which picks one member (MQTT 5.0 §4.8.2).
//
// Rings: one SPSC ring per ordered pair, in the consumer's memory. Before a client packet is
// handled the shard makes sure every ring has room for a largest packet, so a FORWARD is written
// straight into the ring. What cannot be (a sync burst when a shard starts, a will fired by a
// timer) waits in a per-shard backlog, in order, and everything after it waits behind it.
import type { RingProducer } from '../ring/spsc-ring.js';
import { makeTag, RecordKind } from '../ring/records.js';
import type { WeirError } from '../errors.js';
import { SubscriptionIndex } from '../protocol/topic.js';
import type { MqttShard } from './mqtt-shard.js';
import {
  encodeRoute,
  FORWARD_ANSWER,
  FORWARD_DELIVER,
  FORWARD_HEADER,
  FORWARD_RETAIN,
  type ForwardHeader,
  groupListBytes,
  readForward,
  readRoute,
  writeForwardHeader,
} from './peer-records.js';
import { emptyArray } from '../protocol/empty.js';

interface Link {
  ring: RingProducer;
  dv: DataView;
  /** Records that did not fit, in order (`next` is the first not yet written). */
  backlog: Array<{ tag: number; bytes: Uint8Array }>;
  next: number;
}

interface Route {
  filter: string;
  group: string | null;
}

/** What a PUBLISH being forwarded is: its bytes (in this shard's memory, or a copy) and metadata. */
export interface ForwardSource {
  /** The PUBLISH in WASM memory (len > 0), or else `bytes()`. */
  ptr: number;
  len: number;
  bytes: () => Uint8Array;
  version: 3 | 4 | 5;
  expiresAt: number;
  retain: boolean;
}

const ROUTE_TAG = makeTag(RecordKind.ROUTE, 0);
const FORWARD_TAG = makeTag(RecordKind.FORWARD, 0);
const EMPTY = new Uint8Array(0);
/** ACK payload: the store was full, the copies were not kept. */
const REFUSED = Uint8Array.of(1);

function routeKey(filter: string, group: string | null): string {
  return group === null ? filter : `${group}\u0000${filter}`;
}

export class Peers {
  readonly routes: SubscriptionIndex;
  /** One shard: there is nobody to route to, so no route table is kept (half the matcher memory). */
  private readonly single: boolean;
  private readonly links: Array<Link | undefined> = [];
  /** The routes each other shard has told us, to forget them when it dies. */
  private readonly learnt: Array<Map<string, Route>> = [];
  /** This shard's own subscription counts per (filter, group). */
  private readonly local = new Map<string, Route & { count: number }>();
  private liveCount = 0;
  private peerFull = false;
  /** Per shard, for the current message: FORWARD_DELIVER when it has subscribers. */
  private readonly targets: Uint8Array;
  /** Per shard, for the current message: the shared groups it was given. */
  private readonly groupsFor: string[][];
  /**
   * Shared groups given to another shard for the current message: this one skips them. This and
   * onlyLocal are arrays, not Sets: they are emptied for every message that had any
   * (src/protocol/empty.ts), and a message names few groups.
   */
  readonly skipLocal: string[] = [];
  /** Groups a FORWARD being handled gave to this shard. */
  readonly onlyLocal: string[] = [];
  private readonly turns = new Map<string, number>();
  private readonly header: ForwardHeader = {
    flags: 0,
    version: 4,
    expiresAt: 0,
    publishPtr: 0,
    publishLen: 0,
  };
  private readonly dv: DataView;
  private readonly buf: Buffer;
  /** Messages sent to other shards, records that had to wait in a backlog. */
  readonly stats = { forwarded: 0, backlogged: 0 };

  constructor(
    private readonly shard: MqttShard,
    private readonly self: number,
    shards: number,
  ) {
    this.routes = new SubscriptionIndex(shard.ctx.wasm);
    this.single = shards === 1;
    this.targets = new Uint8Array(shards);
    this.groupsFor = Array.from({ length: shards }, () => []);
    for (let k = 0; k < shards; k++) this.learnt.push(new Map());
    const buffer = shard.ctx.wasm.memory.buffer as SharedArrayBuffer;
    this.dv = new DataView(buffer);
    this.buf = Buffer.from(buffer);
  }

  /** True when at least one other shard is running: only then is there anything to route. */
  get active(): boolean {
    return this.liveCount > 0;
  }

  // ── links ────────────────────────────────────────────────────────────────────────────────

  up(index: number, ring: RingProducer, syncRetained: boolean): void {
    if (!this.links[index]) this.liveCount++;
    const buffer = ring.u8.buffer as SharedArrayBuffer;
    this.links[index] = { ring, dv: new DataView(buffer), backlog: [], next: 0 };
    // It knows nothing: tell it every route of ours, and (one shard does) the retained messages.
    for (const r of this.local.values()) this.send(index, ROUTE_TAG, encodeRoute(r.filter, r.group, r.count));
    if (syncRetained) {
      for (const m of this.shard.retained.all()) {
        const src: ForwardSource = {
          ptr: 0,
          len: 0,
          bytes: () => m.bytes,
          version: m.version,
          expiresAt: m.expiresAt,
          retain: true,
        };
        this.forwardTo(index, FORWARD_RETAIN, src, []);
      }
    }
  }

  down(index: number): void {
    if (this.links[index]) this.liveCount--;
    this.links[index] = undefined;
    const learnt = this.learnt[index]!;
    for (const r of learnt.values()) this.routes.remove(r.filter, index, r.group);
    learnt.clear();
  }

  /** Every ring has room for a record of `bytes` and nothing waits in a backlog. */
  hasRoom(bytes: number): boolean {
    for (const link of this.links) {
      if (!link) continue;
      // A largest packet plus the FORWARD header, but never more than a record can be (a ring
      // is sized for the largest packet, not for it plus the header).
      const need = Math.min(bytes + FORWARD_HEADER + 256, link.ring.maxPayload);
      if (link.next < link.backlog.length || !link.ring.hasRoom(need)) {
        this.peerFull = true;
        return false;
      }
    }
    this.peerFull = false;
    return true;
  }

  /** The last failed hasRoom was for lack of room towards another shard. */
  get waiting(): boolean {
    return this.peerFull;
  }

  get busy(): boolean {
    for (const link of this.links) if (link && link.next < link.backlog.length) return true;
    return false;
  }

  /** Write what the backlogs hold while it fits, then publish every ring. */
  flush(): void {
    for (const link of this.links) {
      if (!link) continue;
      while (link.next < link.backlog.length) {
        const { tag, bytes } = link.backlog[link.next]!;
        if (!link.ring.write(tag, bytes)) break;
        link.next++;
      }
      if (link.next === link.backlog.length && link.next > 0) {
        link.backlog.length = 0;
        link.next = 0;
      }
      link.ring.flush();
    }
  }

  private send(index: number, tag: number, bytes: Uint8Array): void {
    const link = this.links[index];
    if (!link) return;
    if (link.next === link.backlog.length && link.ring.write(tag, bytes)) return;
    this.stats.backlogged++;
    link.backlog.push({ tag, bytes });
  }

  // ── routes ───────────────────────────────────────────────────────────────────────────────

  /** A session of this shard subscribed to (filter, group) (not a replacement of its own). */
  localAdded(filter: string, group: string | null): void {
    if (this.single) return;
    const key = routeKey(filter, group);
    let r = this.local.get(key);
    if (!r) {
      r = { filter, group, count: 0 };
      this.local.set(key, r);
    }
    r.count++;
    if (group === null && r.count > 1) return;
    this.learn(this.self, filter, group, r.count);
    this.broadcastRoute(filter, group, r.count);
  }

  localRemoved(filter: string, group: string | null): void {
    if (this.single) return;
    const key = routeKey(filter, group);
    const r = this.local.get(key);
    if (!r) return;
    r.count--;
    if (r.count === 0) this.local.delete(key);
    else if (group === null) return;
    this.learn(this.self, filter, group, r.count);
    this.broadcastRoute(filter, group, r.count);
  }

  private broadcastRoute(filter: string, group: string | null, count: number): void {
    if (this.liveCount === 0) return;
    const bytes = encodeRoute(filter, group, count);
    for (let k = 0; k < this.links.length; k++) if (this.links[k]) this.send(k, ROUTE_TAG, bytes);
  }

  private learn(from: number, filter: string, group: string | null, count: number): void {
    const key = routeKey(filter, group);
    if (count === 0) {
      this.routes.remove(filter, from, group);
      if (from !== this.self) this.learnt[from]!.delete(key);
      return;
    }
    try {
      this.routes.add(filter, { handle: from, qos: 0, nl: false, rap: false, rh: 0, subId: count, group });
    } catch (error) {
      // The matcher's memory is full: messages for this route will not cross to that shard.
      if ((error as WeirError).code !== 'ERR_WASM_MEMORY') throw error;
      this.shard.matcherFull.refused();
      return;
    }
    if (from !== this.self) this.learnt[from]!.set(key, { filter, group });
  }

  // ── publishing ───────────────────────────────────────────────────────────────────────────

  /**
   * Decide, for the PUBLISH whose topic is at (ptr, len), which shards get it and which shard
   * serves each shared group. Fills skipLocal with the groups this shard must not serve.
   */
  plan(topicPtr: number, topicLen: number): void {
    this.targets.fill(0);
    emptyArray(this.skipLocal);
    for (const g of this.groupsFor) emptyArray(g);
    const { routes } = this;
    const n = routes.matchAt(topicPtr, topicLen);
    let shared = 0;
    for (let i = 0; i < n; i++) {
      if (routes.groupIdAt(i) !== 0) {
        shared++;
        continue;
      }
      const h = routes.handleAt(i);
      if (h !== this.self && this.links[h]) this.targets[h] = FORWARD_DELIVER;
    }
    if (shared > 0) this.pickGroups(n);
  }

  /** One shard per shared group, round robin weighted by its members (results sorted by group). */
  private pickGroups(n: number): void {
    const { routes } = this;
    routes.sortResults();
    for (let i = 0; i < n;) {
      const gid = routes.groupIdAt(i);
      let end = i;
      let total = 0;
      while (end < n && routes.groupIdAt(end) === gid) {
        if (gid !== 0 && this.reachable(routes.handleAt(end))) total += routes.subIdAt(end);
        end++;
      }
      if (gid !== 0 && total > 0) {
        const name = routes.groupAt(i)!;
        const turn = this.turns.get(name) ?? 0;
        this.turns.set(name, turn + 1);
        let r = turn % total;
        for (let j = i; j < end; j++) {
          const h = routes.handleAt(j);
          if (!this.reachable(h)) continue;
          r -= routes.subIdAt(j);
          if (r >= 0) continue;
          if (h !== this.self) {
            this.targets[h] = FORWARD_DELIVER;
            this.groupsFor[h]!.push(name);
            this.skipLocal.push(name);
          }
          break;
        }
      }
      i = end;
    }
  }

  private reachable(shard: number): boolean {
    return shard === this.self || this.links[shard] !== undefined;
  }

  /**
   * Send the current message to the shards `plan` chose, and to every shard when it is retained
   * (each keeps a replica). With `answer`, each shard that delivers it answers with an ACK once
   * what it stored is durable (tokens from `token`). Returns how many shards got it for delivery.
   */
  forward(src: ForwardSource, answer: ((shard: number) => number) | null): number {
    let delivered = 0;
    for (let k = 0; k < this.links.length; k++) {
      if (!this.links[k]) continue;
      let flags = this.targets[k]! | (src.retain ? FORWARD_RETAIN : 0);
      if (flags === 0) continue;
      let tag = FORWARD_TAG;
      if (flags & FORWARD_DELIVER) {
        delivered++;
        if (answer) {
          flags |= FORWARD_ANSWER;
          tag = makeTag(RecordKind.FORWARD, answer(k));
        }
      }
      this.forwardTo(k, flags, src, this.groupsFor[k]!, tag);
    }
    return delivered;
  }

  /** Tell shard `index` that what its FORWARD `token` stored here is durable, or was refused. */
  sendAck(index: number, token: number, refused: boolean): void {
    this.send(index, makeTag(RecordKind.ACK, token), refused ? REFUSED : EMPTY);
  }

  private forwardTo(
    k: number,
    flags: number,
    src: ForwardSource,
    groups: readonly string[],
    tag = FORWARD_TAG,
  ): void {
    const link = this.links[k]!;
    const direct = src.len > 0;
    const body = direct ? undefined : src.bytes();
    const len = direct ? src.len : body!.length;
    const size = FORWARD_HEADER + groupListBytes(groups) + len;
    if (size > link.ring.maxPayload) {
      // Only a packet near --max-packet-size with long shared-group names gets here: it cannot
      // cross in one record, so it is dropped for that shard and counted.
      this.shard.stats.dropped++;
      return;
    }
    this.stats.forwarded++;
    if (link.next === link.backlog.length) {
      const at = link.ring.reserve(size);
      if (at >= 0) {
        const p = writeForwardHeader(link.dv, link.ring.u8, at, flags, src.version, src.expiresAt, groups);
        if (direct) link.ring.u8.set(this.shard.ctx.wasm.u8.subarray(src.ptr, src.ptr + len), p);
        else link.ring.u8.set(body!, p);
        link.ring.commit(tag, size);
        return;
      }
    }
    // No room now: a copy waits in the backlog.
    const copy = new Uint8Array(size);
    const p = writeForwardHeader(
      new DataView(copy.buffer),
      copy,
      0,
      flags,
      src.version,
      src.expiresAt,
      groups,
    );
    copy.set(direct ? this.shard.ctx.wasm.u8.subarray(src.ptr, src.ptr + len) : body!, p);
    this.send(k, tag, copy);
  }

  // ── receiving ────────────────────────────────────────────────────────────────────────────

  /** A ROUTE record from shard `from`, at ptr in this shard's memory. */
  route(from: number, ptr: number): void {
    const { filter, group, count } = readRoute(this.dv, this.buf, ptr);
    this.learn(from, filter, group, count);
  }

  /** Read a FORWARD record's header; onlyLocal gets its groups. */
  readForward(ptr: number, len: number): ForwardHeader {
    readForward(this.dv, this.buf, ptr, len, this.onlyLocal, this.header);
    return this.header;
  }
}
