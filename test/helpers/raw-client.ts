// A raw MQTT client for the conformance suite: it writes whatever bytes a test gives it (valid or
// not) over node:net and hands back what the broker sent, packet by packet, decoded with Weir's own
// codec in the negotiated version. Every wait is bounded; nothing here retries or reconnects.
import { connect as netConnect, type Socket } from 'node:net';
import { Codec } from '../../src/protocol/codec.js';
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
  UnsubackPacket,
  Will,
} from '../../src/protocol/packets.js';

/** The longest any single wait may last (ms), whatever a caller asks for. */
export const MAX_WAIT = 5000;

const codec = new Codec();

/** One packet as it came off the wire: its exact bytes and its decoded form. */
export interface Received {
  bytes: Buffer;
  packet: Packet;
}

type Waiter = { resolve: () => void };

/** Every client not yet closed, so a test file can drop them all in afterAll/afterEach. */
const open = new Set<RawClient>();

/** Destroy every raw client still open. */
export function destroyAll(): void {
  for (const c of open) c.destroy();
  open.clear();
}

/** The packet type whose `cmd` may be C (AckPacket covers four cmds). */
export type PacketOf<C extends Packet['cmd']> = Packet extends infer P
  ? P extends { cmd: infer K }
    ? C extends K
      ? P
      : never
    : never
  : never;

export class RawClient {
  /** Protocol level used to encode and decode; set by the CONNECT a test sends (or by hand). */
  version: ProtocolVersion = 4;
  /** Every byte received so far, in order (for exact-byte assertions). */
  readonly raw: Buffer[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: Received[] = [];
  private waiters: Waiter[] = [];
  private closedFlag = false;
  private failure: Error | undefined;
  private nextId = 1;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    open.add(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.frame();
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        open.delete(this);
        this.closedFlag = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {
      /* a reset by the broker is an outcome the tests assert on, not an error */
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TCP connect to ${host}:${port} timed out`));
      }, MAX_WAIT);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Why the bytes received stopped making packets (garbage from the broker), if they did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** All bytes received so far, concatenated. */
  rawBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  /** Send a packet (encoded in `this.version`; a CONNECT sets the version) or raw bytes. */
  send(data: Packet | Uint8Array): void {
    if (data instanceof Uint8Array) {
      this.socket.write(data);
      return;
    }
    if (data.cmd === 'connect') this.version = data.protocolVersion;
    this.socket.write(codec.encode(data, this.version));
  }

  /** The next packet with its exact bytes; throws if none arrives within `timeoutMs` or the socket closes. */
  async nextRaw(timeoutMs = 2000): Promise<Received> {
    const got = await this.waitFor(() => this.queue.length > 0 || this.closedFlag, timeoutMs);
    const item = this.queue.shift();
    if (item) return item;
    if (this.failure) throw this.failure;
    throw new Error(
      got ? 'the connection closed before a packet arrived' : `no packet within ${timeoutMs} ms`,
    );
  }

  /** The next decoded packet. */
  async next(timeoutMs = 2000): Promise<Packet> {
    return (await this.nextRaw(timeoutMs)).packet;
  }

  /** The next packet, which must be of type `cmd`. */
  async expect<C extends Packet['cmd']>(cmd: C, timeoutMs = 2000): Promise<PacketOf<C>> {
    const p = await this.next(timeoutMs);
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(summary(p))}`);
    return p as PacketOf<C>;
  }

  /**
   * The first packet (queued or arriving) of type `cmd` with `messageId` if given; packets before it
   * stay queued, in order. For flows where the broker may interleave other PUBLISHes.
   */
  async expectWhere<C extends Packet['cmd']>(
    cmd: C,
    messageId?: number,
    timeoutMs = 2000,
  ): Promise<PacketOf<C>> {
    const find = () =>
      this.queue.findIndex(
        (r) =>
          r.packet.cmd === cmd &&
          (messageId === undefined || (r.packet as { messageId?: number }).messageId === messageId),
      );
    await this.waitFor(() => find() >= 0 || this.closedFlag, timeoutMs);
    const i = find();
    if (i < 0) {
      if (this.failure) throw this.failure;
      throw new Error(`no ${cmd}${messageId !== undefined ? ` ${messageId}` : ''} within ${timeoutMs} ms`);
    }
    return this.queue.splice(i, 1)[0]!.packet as PacketOf<C>;
  }

  /** Asserts that no packet arrives (and the connection stays open) for `ms` (bounded). */
  async expectNothing(ms = 300): Promise<void> {
    await this.waitFor(() => this.queue.length > 0 || this.closedFlag, ms);
    if (this.queue.length > 0)
      throw new Error(`unexpected packet: ${JSON.stringify(summary(this.queue[0]!.packet))}`);
    if (this.closedFlag) throw new Error('the connection closed unexpectedly');
  }

  /** Every packet that arrives within `ms` (bounded): for "how many copies" assertions. */
  async collect(ms = 300): Promise<Packet[]> {
    await sleep(Math.min(ms, MAX_WAIT));
    return this.queue.splice(0).map((r) => r.packet);
  }

  /**
   * Waits until the broker closes the connection; returns the packets it sent before closing
   * (e.g. a DISCONNECT with a reason code). Throws if still open after `timeoutMs`.
   */
  async expectClosed(timeoutMs = 2000): Promise<Packet[]> {
    const closed = await this.waitFor(() => this.closedFlag, timeoutMs);
    if (!closed) throw new Error(`the connection is still open after ${timeoutMs} ms`);
    return this.queue.splice(0).map((r) => r.packet);
  }

  /** Close our side abruptly (no DISCONNECT). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Close our side gracefully (FIN) and wait for the close. */
  async end(): Promise<void> {
    this.socket.end();
    await Promise.race([this.closedPromise, sleep(MAX_WAIT)]);
    this.socket.destroy();
  }

  private frame(): void {
    while (!this.failure) {
      let len: number;
      try {
        len = packetLength(this.buffer);
      } catch (err) {
        this.failure = err as Error;
        return;
      }
      if (len === 0 || this.buffer.length < len) return;
      const bytes = this.buffer.subarray(0, len);
      this.buffer = this.buffer.subarray(len);
      const result = codec.decode(bytes, this.version);
      if (result.status !== 'packet') {
        // Not thrown here (this runs in a socket callback): the next wait reports it.
        this.failure = new Error(
          `the broker sent bytes the codec rejects: ${bytes.toString('hex')} (${JSON.stringify(result)})`,
        );
        this.buffer = Buffer.alloc(0);
        return;
      }
      this.queue.push({ bytes: Buffer.from(bytes), packet: result.packet });
    }
  }

  /** A fresh packet identifier (1..65535, wrapping). */
  id(): number {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    return id;
  }

  /** SUBSCRIBE and wait for the SUBACK (whose identifier must match). */
  async subscribe(
    subs: string | Subscription | Array<string | Subscription>,
    qos: QoS = 0,
    properties?: Properties,
  ): Promise<SubackPacket> {
    const list = (Array.isArray(subs) ? subs : [subs]).map((s) =>
      typeof s === 'string' ? { topic: s, qos } : s,
    );
    const messageId = this.id();
    this.send({
      cmd: 'subscribe',
      messageId,
      subscriptions: list,
      ...(properties && this.version === 5 ? { properties } : {}),
    });
    const suback = await this.expect('suback');
    if (suback.messageId !== messageId) throw new Error(`SUBACK for ${suback.messageId}, sent ${messageId}`);
    return suback;
  }

  /** UNSUBSCRIBE and wait for the UNSUBACK. */
  async unsubscribe(topics: string | string[]): Promise<UnsubackPacket> {
    const messageId = this.id();
    this.send({ cmd: 'unsubscribe', messageId, unsubscriptions: Array.isArray(topics) ? topics : [topics] });
    const unsuback = await this.expect('unsuback');
    if (unsuback.messageId !== messageId)
      throw new Error(`UNSUBACK for ${unsuback.messageId}, sent ${messageId}`);
    return unsuback;
  }

  /** Send a PUBLISH; returns its packet identifier (0 for QoS 0). Does not wait for acks. */
  publish(
    topic: string,
    payload: string | Uint8Array,
    o: { qos?: QoS; retain?: boolean; dup?: boolean; messageId?: number; properties?: Properties } = {},
  ): number {
    const qos = o.qos ?? 0;
    const messageId = qos > 0 ? (o.messageId ?? this.id()) : 0;
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      dup: o.dup ?? false,
      retain: o.retain ?? false,
      ...(qos > 0 ? { messageId } : {}),
      ...(o.properties && this.version === 5 ? { properties: o.properties } : {}),
    };
    this.send(packet);
    return messageId;
  }

  /** Publish and complete the QoS flow as the sender (PUBACK, or PUBREC → PUBREL → PUBCOMP). */
  async publishAcked(
    topic: string,
    payload: string | Uint8Array,
    o: { qos?: QoS; retain?: boolean; properties?: Properties } = {},
  ): Promise<void> {
    const id = this.publish(topic, payload, o);
    if (o.qos === 1) {
      await this.expectWhere('puback', id);
    } else if (o.qos === 2) {
      await this.expectWhere('pubrec', id);
      this.send({ cmd: 'pubrel', messageId: id });
      await this.expectWhere('pubcomp', id);
    }
  }

  /** Acknowledge a received PUBLISH as the receiver (PUBACK, or PUBREC and, after PUBREL, PUBCOMP). */
  async ack(p: PublishPacket): Promise<void> {
    if (p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId! });
    if (p.qos === 2) {
      this.send({ cmd: 'pubrec', messageId: p.messageId! });
      await this.expectWhere('pubrel', p.messageId);
      this.send({ cmd: 'pubcomp', messageId: p.messageId! });
    }
  }

  /**
   * A PINGREQ round trip: proves every packet sent before it has been handled. Packets that arrive
   * before the PINGRESP stay queued.
   */
  async ping(): Promise<void> {
    this.send({ cmd: 'pingreq' });
    await this.expectWhere('pingresp');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Resolves true when `cond` holds, false after `timeoutMs` (capped at MAX_WAIT). */
  private async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + Math.min(timeoutMs, MAX_WAIT);
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push({ resolve });
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }
}

/** Total length of the packet at the start of `buf` (fixed header + remaining length), 0 if unknown yet. */
export function packetLength(buf: Buffer): number {
  let mult = 1;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (buf.length <= i) return 0;
    const byte = buf[i]!;
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) return 1 + i + value;
    mult *= 128;
  }
  throw new Error(
    `the broker sent a remaining length longer than 4 bytes: ${buf.subarray(0, 5).toString('hex')}`,
  );
}

function summary(p: Packet): unknown {
  if (p.cmd === 'publish') return { ...p, payload: Buffer.from(p.payload).toString() };
  return p;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ── conveniences ──────────────────────────────────────────────────────────────────────────────

export interface ConnectOptions {
  clean?: boolean;
  keepalive?: number;
  will?: Will;
  username?: string;
  password?: Uint8Array;
  properties?: Properties;
}

export function connectPacket(
  version: ProtocolVersion,
  clientId: string,
  o: ConnectOptions = {},
): ConnectPacket {
  return {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: o.clean ?? true,
    keepalive: o.keepalive ?? 60,
    clientId,
    ...(o.will ? { will: o.will } : {}),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
    ...(o.properties && version === 5 ? { properties: o.properties } : {}),
  };
}

/** Open a TCP connection, send CONNECT and read the CONNACK (which must come first). */
export async function mqttConnect(
  port: number,
  version: ProtocolVersion,
  clientId: string,
  o: ConnectOptions = {},
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const client = await RawClient.connect(port);
  client.send(connectPacket(version, clientId, o));
  const connack = await client.expect('connack');
  return { client, connack };
}

/** Like mqttConnect, and the CONNACK must be a success. */
export async function connected(
  port: number,
  version: ProtocolVersion,
  clientId: string,
  o: ConnectOptions = {},
): Promise<RawClient> {
  const { client, connack } = await mqttConnect(port, version, clientId, o);
  if (connack.reasonCode !== 0)
    throw new Error(`CONNACK refused ${clientId}: 0x${connack.reasonCode.toString(16)}`);
  return client;
}

/** A UTF-8 payload as bytes. */
export function text(s: string): Uint8Array {
  return Buffer.from(s);
}

/** A payload as a string. */
export function str(p: Uint8Array): string {
  return Buffer.from(p).toString();
}

// ── bytes, for packets the codec would refuse to encode ──────────────────────────────────────

/** A UTF-8 string with its two-byte length prefix. */
export function utf8(s: string | number[]): number[] {
  const b = typeof s === 'string' ? [...Buffer.from(s)] : s;
  return [(b.length >> 8) & 0xff, b.length & 0xff, ...b];
}

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function vbi(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** A whole packet: first byte, remaining length, then the parts. */
export function rawPacket(first: number, ...parts: number[][]): Buffer {
  const body = parts.flat();
  return Buffer.from([first, ...vbi(body.length), ...body]);
}
