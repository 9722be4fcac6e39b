// MQTT over TCP and TLS: adapts node:net / node:tls sockets to the gateway's Transport, or hands
// plain TCP to tcp-handle.ts (TCP handles without a net.Socket each), the default.
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { type TlsPeer, type Transport, WRITE_BUDGET } from './connection.js';
import type { Gateway } from './gateway.js';
import { type Listener, listenError } from './listener.js';
import { listenTcpHandle } from './tcp-handle.js';

class SocketTransport implements Transport {
  readonly remoteAddress: string;
  constructor(
    private readonly socket: Socket,
    private readonly secure: boolean,
  ) {
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
  }
  tlsPeer(): TlsPeer | undefined {
    if (!this.secure) return undefined;
    const tls = this.socket as TLSSocket;
    const cert = tls.getPeerCertificate();
    const has = cert && Object.keys(cert).length > 0;
    const peer: TlsPeer = { authorized: tls.authorized };
    if (!tls.authorized && tls.authorizationError) peer.authorizationError = String(tls.authorizationError);
    if (has) {
      peer.subject = fields(cert.subject);
      peer.issuer = fields(cert.issuer);
      peer.fingerprint256 = cert.fingerprint256;
    }
    return peer;
  }
  write(bytes: Uint8Array): boolean {
    this.socket.write(bytes);
    // Past the budget, write() has already returned false once (the budget is above the stream's
    // highWaterMark), so 'drain' follows when the buffer empties.
    return this.socket.writableLength < WRITE_BUDGET;
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  end(): void {
    // Close fully once the last bytes are flushed: a half-closed socket would stay open for as
    // long as the client keeps its own side open.
    this.socket.end(() => this.socket.destroy());
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/** A certificate's name fields (CN, O, ...) as a plain object, without absent ones. */
function fields(name: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(name)) if (v !== undefined) out[k] = v;
  return out;
}

export interface TcpListenOptions {
  host: string;
  port: number;
  /** TLS when present (key and cert in PEM). */
  tls?: TlsOptions;
  /** Plain TCP: on TCP handles (the default, when this Node has them) or on net.Socket. */
  sockets?: 'handle' | 'net';
}

export type TcpListener = Listener;

function serve(gateway: Gateway, socket: Socket, secure: boolean): void {
  // We batch writes ourselves (one write per socket per shard batch), so Nagle would only add delay: with it on,
  // fan-out stalls on the peer's 40 ms delayed ACK.
  socket.setNoDelay(true);
  const conn = gateway.accept(new SocketTransport(socket, secure));
  if (!conn) return;
  socket.on('data', (chunk: Buffer) => gateway.data(conn, chunk));
  socket.on('close', () => gateway.closed(conn));
  socket.on('drain', () => gateway.drained(conn));
  // 'close' always follows 'error'; an error on one socket concerns only that client.
  socket.on('error', () => {});
}

/** Listen for MQTT over TCP (or TLS); resolves once it listens. */
export function listenTcp(gateway: Gateway, options: TcpListenOptions): Promise<TcpListener> {
  if (!options.tls && (options.sockets ?? 'handle') === 'handle') {
    const onHandles = listenTcpHandle(gateway, options.host, options.port);
    if (onHandles) return onHandles;
    process.stderr.write(
      'weir: this Node.js lacks the TCP handle API (tcp_wrap) Weir uses for plain TCP; ' +
        'serving it on net.Socket instead (same behaviour, more CPU and memory per connection)\n',
    );
  }
  return listenNet(gateway, options);
}

function listenNet(gateway: Gateway, options: TcpListenOptions): Promise<TcpListener> {
  const server = options.tls
    ? createTlsServer(options.tls, (socket) => serve(gateway, socket, true))
    : createTcpServer((socket) => serve(gateway, socket, false));
  const what = options.tls ? 'MQTT/TLS' : 'MQTT/TCP';
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(listenError(what, options.host, options.port, error.code ?? '', error.message)),
    );
    server.listen(options.port, options.host, () =>
      resolve({ port: (server.address() as { port: number }).port, close: () => server.close() }),
    );
  });
}
