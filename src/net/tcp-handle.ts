// MQTT over plain TCP on libuv's TCP handles directly (node:net's own layer underneath
// net.Socket), without a net.Socket per connection.
//
// Why: a net.Socket is a Duplex stream: a Readable and a Writable state, an EventEmitter, a
// Buffer per read pushed through the stream machinery. For a broker that frames bytes itself and
// writes one gathered Buffer per batch, that layer is pure cost: accepting a connection through
// net.Socket took about 60 % of the main thread's time per connection in conn-10k, and about
// 4 KB of the memory per idle connection (bench/HISTORY.md, "Where the time goes (2026-12-02)").
// The handle gives the same syscalls (readStart, writeBuffer, close) with none of that.
//
// The handle API is Node's internal one (process.binding('tcp_wrap'), 'stream_wrap'): stable
// across Node 16 to 22, but not public. `load()` checks the shapes this file uses, and the
// listener falls back to node:net when they are not there (or with --tcp-sockets net).
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { getSystemErrorName } from 'node:util';
import type { WriteSlots } from '../ring/write-slots.js';
import { ConnState, type Transport, WRITE_BUDGET } from './connection.js';
import type { Gateway } from './gateway.js';
import { type Listener, listenError } from './listener.js';

/** libuv's end of stream. */
const UV_EOF = -4095;

interface PeerName {
  address?: string;
  port?: number;
}
interface TcpHandle {
  /** Called by Node with the handle as `this`. */
  onread: (this: TcpHandle, buffer: ArrayBuffer | undefined) => void;
  /** Our transport, so that one onread function serves every handle (no closure each). */
  owner?: HandleTransport;
  onconnection: (status: number, client: TcpHandle | undefined) => void;
  readonly writeQueueSize: number;
  /** The socket's file descriptor (-1 where libuv has none to give). */
  readonly fd: number;
  readStart(): number;
  readStop(): number;
  /** Read into this buffer instead of a new ArrayBuffer per read (onread then gets no buffer). */
  useUserBuffer?(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  close(cb?: () => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: PeerName): number;
  getsockname(out: PeerName): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
}
interface WriteReq {
  handle: TcpHandle;
  oncomplete: (status: number) => void;
  async: boolean;
  buffer: Uint8Array | null;
  transport: HandleTransport;
}
interface Bindings {
  TCP: new (type: number) => TcpHandle;
  serverType: number;
  WriteWrap: new () => WriteReq;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
  /**
   * One buffer every handle reads into, when the handles can (useUserBuffer): otherwise Node
   * allocates a 64 KiB backing store per read and hands it over as a new ArrayBuffer, the main
   * thread's largest allocation per message at low rates. One is enough: a read is handled
   * (framed, and its bytes copied into a ring or kept) before the next one is made.
   */
  readInto: Uint8Array | null;
}

let bindings: Bindings | null | undefined;

function load(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcp = binding('tcp_wrap') as { TCP?: unknown; constants?: { SERVER?: number } };
    const stream = binding('stream_wrap') as Record<string, unknown>;
    const ok =
      typeof tcp.TCP === 'function' &&
      typeof tcp.constants?.SERVER === 'number' &&
      typeof stream.WriteWrap === 'function' &&
      stream.streamBaseState instanceof Int32Array &&
      ['kReadBytesOrError', 'kArrayBufferOffset', 'kLastWriteWasAsync'].every(
        (k) => typeof stream[k] === 'number',
      );
    if (!ok) return null;
    const proto = (tcp.TCP as { prototype: Record<string, unknown> }).prototype;
    const methods = ['readStart', 'readStop', 'writeBuffer', 'close', 'setNoDelay', 'getpeername'];
    if (!methods.every((m) => typeof proto[m] === 'function')) return null;
    bindings = {
      TCP: tcp.TCP as Bindings['TCP'],
      serverType: tcp.constants!.SERVER!,
      WriteWrap: stream.WriteWrap as Bindings['WriteWrap'],
      state: stream.streamBaseState as Int32Array,
      kReadBytesOrError: stream.kReadBytesOrError as number,
      kArrayBufferOffset: stream.kArrayBufferOffset as number,
      kLastWriteWasAsync: stream.kLastWriteWasAsync as number,
      readInto: typeof proto.useUserBuffer === 'function' ? new Uint8Array(64 * 1024) : null,
    };
  } catch {
    bindings = null;
  }
  return bindings;
}

const ConnPhase = {
  OPEN: 0,
  /** end(): the writes libuv queued go out, then the close (and with it the FIN). */
  ENDING: 1,
  CLOSED: 2,
} as const;
type ConnPhaseValue = (typeof ConnPhase)[keyof typeof ConnPhase];

function onWriteDone(this: WriteReq, status: number): void {
  this.buffer = null;
  this.transport.written(status);
}
function ignoreRead(): void {}
function onHandleRead(this: TcpHandle, buffer: ArrayBuffer | undefined): void {
  this.owner?.onRead(buffer);
}

class HandleTransport implements Transport {
  private phase: ConnPhaseValue = ConnPhase.OPEN;
  /** Async writes not completed: the close of end() waits for them. */
  private pendingWrites = 0;
  private peer: string | undefined;
  conn: ReturnType<Gateway['accept']>;
  /** Where the shard may write to this socket itself (src/ring/write-slots.ts); token 0: it may not. */
  private slots: WriteSlots | undefined;
  private slotId = 0;
  private slotToken = 0;

  constructor(
    private readonly handle: TcpHandle,
    private readonly gateway: Gateway,
    private readonly b: Bindings,
  ) {}

  /** Looked up at CONNECT (for the OPEN record and the events), not for every accept. */
  get remoteAddress(): string {
    if (this.peer === undefined) {
      const out: PeerName = {};
      this.peer = this.handle.getpeername(out) === 0 ? `${out.address}:${out.port}` : 'unknown';
    }
    return this.peer;
  }

  start(): void {
    this.handle.owner = this;
    this.handle.onread = onHandleRead;
    if (this.b.readInto) this.handle.useUserBuffer?.(this.b.readInto);
    const err = this.handle.readStart();
    if (err) this.destroy();
  }

  onRead(buffer: ArrayBuffer | undefined): void {
    const { state } = this.b;
    const n = state[this.b.kReadBytesOrError]!;
    if (n > 0) {
      if (!this.conn) return;
      const chunk = buffer
        ? new Uint8Array(buffer, state[this.b.kArrayBufferOffset], n)
        : this.b.readInto!.subarray(0, n);
      this.gateway.data(this.conn, chunk);
      return;
    }
    // EOF or an error (ECONNRESET ...): either way the connection is over. A client half-close
    // ends the session, as it does with node:net's allowHalfOpen false.
    if (n < 0 || n === UV_EOF) this.destroy();
  }

  lendWrites(slots: WriteSlots, id: number): void {
    this.slots = slots;
    this.slotId = id;
    this.slotToken = slots.open(id, this.handle.fd);
  }

  /** No shard writes to the socket from now until reopenSlot (and never once it is closing). */
  private closeSlot(): void {
    if (this.slotToken !== 0) this.slots?.close(this.slotId);
  }

  /**
   * Only while the connection is routed: a gateway that is closing it (its own DISCONNECT for a
   * framing error went out just now) must not let a shard's packet follow that DISCONNECT.
   */
  private reopenSlot(): void {
    if (this.slotToken === 0 || this.phase !== ConnPhase.OPEN || this.pendingWrites !== 0) return;
    if (this.conn?.state === ConnState.ROUTED) this.slots?.reopen(this.slotId, this.slotToken);
  }

  write(bytes: Uint8Array): boolean {
    if (this.phase !== ConnPhase.OPEN) return false;
    // The shard does not write while we do, nor while libuv holds bytes of ours to send later.
    this.closeSlot();
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.oncomplete = onWriteDone;
    req.async = false;
    req.transport = this;
    const err = this.handle.writeBuffer(req, bytes);
    if (err) {
      this.destroy();
      return false;
    }
    if (this.b.state[this.b.kLastWriteWasAsync]) {
      // libuv writes the rest from this memory later: keep it alive until then.
      req.buffer = bytes;
      this.pendingWrites++;
    } else this.reopenSlot();
    return this.handle.writeQueueSize < WRITE_BUDGET;
  }

  /** An async write completed. */
  written(status: number): void {
    this.pendingWrites--;
    if (this.phase === ConnPhase.CLOSED) return;
    if (status < 0) {
      this.destroy();
      return;
    }
    if (this.phase === ConnPhase.ENDING) {
      if (this.pendingWrites === 0) this.destroy();
      return;
    }
    this.reopenSlot();
    // The gateway ignores this unless it told the shard to stop (conn.congested).
    if (this.conn && this.handle.writeQueueSize < WRITE_BUDGET >> 1) this.gateway.drained(this.conn);
  }

  // libuv does nothing (no syscall) for a readStop of a stopped handle or a readStart of a reading one.
  pause(): void {
    if (this.phase !== ConnPhase.CLOSED) this.handle.readStop();
  }
  resume(): void {
    if (this.phase !== ConnPhase.CLOSED) this.handle.readStart();
  }

  /**
   * Close once libuv has written what it queued. No shutdown(2) first: close(2) sends what the
   * kernel holds, then the FIN, as shutdown would, and a shutdown before it was one syscall more
   * per closed connection (11 % of the main thread's samples while 10,000 clients connected and
   * left).
   */
  end(): void {
    if (this.phase !== ConnPhase.OPEN) return;
    this.closeSlot();
    this.phase = ConnPhase.ENDING;
    if (this.pendingWrites === 0) this.destroy();
  }

  destroy(): void {
    if (this.phase === ConnPhase.CLOSED) return;
    // Before the descriptor is closed (and its number free for the next accept), no shard may
    // be writing to it: this waits out a write in progress.
    this.closeSlot();
    this.phase = ConnPhase.CLOSED;
    this.handle.onread = ignoreRead; // Node asserts a function here
    this.handle.owner = undefined;
    // As with net.Socket's 'close', the gateway hears of it once the handle is closed, never
    // from inside the call that closed it.
    const conn = this.conn;
    this.handle.close(() => {
      if (conn) this.gateway.closed(conn);
    });
  }
}

const WARN_EVERY_MS = 60_000;

/** Counts failed accepts and says so on stderr at most once a minute (a flood must not flood the log). */
function acceptErrors(): (status: number) => void {
  let unreported = 0;
  let last = -Infinity;
  return (status) => {
    unreported++;
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) return;
    last = now;
    const code = status < 0 ? getSystemErrorName(status) : 'no handle';
    const hint =
      code === 'EMFILE' || code === 'ENFILE'
        ? ': out of file descriptors; raise the limit (ulimit -n, LimitNOFILE) or lower --max-connections'
        : '';
    process.stderr.write(`weir: ${unreported} TCP connection(s) could not be accepted (${code})${hint}\n`);
    unreported = 0;
  };
}

/**
 * Listen for MQTT over plain TCP on a TCP handle; resolves once it listens. Undefined when this
 * Node.js lacks the handle API this file uses (the caller falls back to net.Socket).
 */
export function listenTcpHandle(gateway: Gateway, host: string, port: number): Promise<Listener> | undefined {
  const b = load();
  return b ? listenOn(b, gateway, host, port) : undefined;
}

async function listenOn(b: Bindings, gateway: Gateway, host: string, port: number): Promise<Listener> {
  // A name binds its first address, as net.Server.listen does.
  const { address, family } = isIP(host) ? { address: host, family: isIP(host) } : await lookup(host);
  const server = new b.TCP(b.serverType);
  const fail = (err: number): never => {
    server.close();
    throw listenError('MQTT/TCP', host, port, getSystemErrorName(err));
  };
  const bound = family === 6 ? server.bind6(address, port, 0) : server.bind(address, port);
  if (bound) fail(bound);
  const refused = acceptErrors();
  server.onconnection = (status, client) => {
    // An accept error (EMFILE: out of file descriptors) concerns only the connection not taken.
    if (status !== 0 || !client) return refused(status);
    client.setNoDelay(true); // why: see serve() in tcp-listener.ts
    const transport = new HandleTransport(client, gateway, b);
    transport.conn = gateway.accept(transport);
    if (transport.conn) transport.start();
  };
  const listening = server.listen(511);
  if (listening) fail(listening);
  const out: PeerName = {};
  server.getsockname(out);
  return {
    port: out.port ?? port,
    close: () => server.close(),
  };
}
