// MQTT over WebSocket and secure WebSocket (uWebSockets.js), path /mqtt. A WebSocket message may
// hold several MQTT packets or part of one [MQTT-5.0 6.0.0-2]: the gateway's framer handles both,
// exactly as for TCP.

import { WeirError } from '../errors.js';
import type { Connection, TlsPeer, Transport } from './connection.js';
import type { Gateway } from './gateway.js';
import type { Listener } from './listener.js';
import { assertNativeUws, type UWS, uws } from './uws.js';

/** The subprotocols we speak, in order of preference [MQTT-5.0 6.0.0-3] (3.1 clients offer mqttv3.1). */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];
/** Bytes a slow WebSocket client may have waiting before we stop writing to it. */
const WS_BACKPRESSURE = 4 << 20;

interface UserData {
  subprotocol: string;
  remoteAddress: string;
  transport?: WsTransport;
  conn?: Connection;
}

class WsTransport implements Transport {
  closed = false;
  constructor(
    private readonly ws: UWS.WebSocket<UserData>,
    readonly remoteAddress: string,
    private readonly secure: boolean,
  ) {}
  /** uWebSockets.js does not ask WSS clients for a certificate: the connection is TLS, unverified. */
  tlsPeer(): TlsPeer | undefined {
    return this.secure ? { authorized: false } : undefined;
  }
  /** The gateway writes once per batch: one WebSocket message (one frame, one syscall). */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.ws.cork(() => this.ws.send(bytes, true));
    return this.ws.getBufferedAmount() < WS_BACKPRESSURE;
  }
  // uWS (this build) cannot stop reading a WebSocket: the gateway bounds what it holds instead.
  pause(): void {}
  resume(): void {}
  end(): void {
    if (!this.closed) this.ws.end(1000);
  }
  destroy(): void {
    if (!this.closed) this.ws.close();
  }
}

export interface WsListenOptions {
  host: string;
  port: number;
  /** wss when present: PEM file paths. */
  tls?: { cert: string; key: string };
  maxPacketSize: number;
}

export type WsListener = Listener;

/** Listen for MQTT over WebSocket (or secure WebSocket) at /mqtt. */
export function listenWs(gateway: Gateway, options: WsListenOptions): Promise<WsListener> {
  assertNativeUws();
  const app = options.tls
    ? uws.SSLApp({ cert_file_name: options.tls.cert, key_file_name: options.tls.key })
    : uws.App();
  app.ws<UserData>('/mqtt', {
    // A WebSocket message may carry several packets; the framer enforces the packet limit itself.
    maxPayloadLength: Math.max(options.maxPacketSize, 64 * 1024) + 16,
    maxBackpressure: 2 * WS_BACKPRESSURE,
    idleTimeout: 0, // MQTT keep-alive (in the shard) decides when a silent client is gone
    upgrade(res, req, context) {
      const offered = req
        .getHeader('sec-websocket-protocol')
        .split(',')
        .map((p) => p.trim());
      const subprotocol = SUBPROTOCOLS.find((p) => offered.includes(p)) ?? '';
      const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
      res.upgrade<UserData>(
        { subprotocol, remoteAddress },
        req.getHeader('sec-websocket-key'),
        subprotocol,
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      const data = ws.getUserData();
      data.transport = new WsTransport(ws, data.remoteAddress, options.tls !== undefined);
      data.conn = gateway.accept(data.transport);
    },
    message(ws, message) {
      const { conn } = ws.getUserData();
      // The ArrayBuffer is valid only during this call; the gateway copies what it keeps.
      if (conn) gateway.data(conn, new Uint8Array(message));
    },
    drain(ws) {
      const { conn } = ws.getUserData();
      if (conn && ws.getBufferedAmount() < WS_BACKPRESSURE / 2) gateway.drained(conn);
    },
    close(ws) {
      const { conn, transport } = ws.getUserData();
      if (transport) transport.closed = true;
      if (conn) gateway.closed(conn);
    },
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('MQTT over WebSocket is served at /mqtt\n');
  });
  const what = options.tls ? 'MQTT/WSS' : 'MQTT/WS';
  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (!socket) {
        reject(
          new WeirError(
            'ERR_LISTEN',
            `cannot open the ${what} listener on ${options.host}:${options.port}: the port is in use or not allowed` +
              (options.tls ? ', or the certificate/key files could not be loaded' : ''),
          ),
        );
        return;
      }
      resolve({ port: uws.us_socket_local_port(socket), close: () => uws.us_listen_socket_close(socket) });
    });
  });
}
