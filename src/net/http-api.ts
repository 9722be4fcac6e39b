// The HTTP API on its own port (uWebSockets.js): GET /health and GET /metrics (Prometheus text
// format). Shard counters come from each shard's last report (about once a second), so /metrics
// costs the shards nothing per request.
import { WeirError } from '../errors.js';
import type { Gateway } from './gateway.js';
import type { Listener } from './listener.js';
import { assertNativeUws, uws } from './uws.js';

export type HttpListener = Listener;

/** The /health document: 200 when every shard runs, 503 otherwise. */
export function health(gateway: Gateway): {
  status: 'ok' | 'degraded';
  connections: number;
  shards: object[];
} {
  const shards = [];
  let alive = 0;
  for (let i = 0; i < gateway.pool.size; i++) {
    // Serving: running, and taking clients.
    const serving = gateway.pool.link(i) !== undefined;
    if (serving) alive++;
    shards.push({ index: i, alive: serving, restarts: gateway.pool.starts[i]! - 1 });
  }
  return {
    status: alive === gateway.pool.size ? 'ok' : 'degraded',
    connections: gateway.connectionCount,
    shards,
  };
}

/** Prometheus text exposition (version 0.0.4). */
export function metrics(gateway: Gateway, startedAt: number): string {
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, values: Array<[string, number]>) => {
    out.push(`# HELP weir_${name} ${help}`, `# TYPE weir_${name} ${type}`);
    for (const [labels, value] of values) out.push(`weir_${name}${labels} ${value}`);
  };
  const c = gateway.counters;
  metric('uptime_seconds', 'gauge', 'Seconds since the broker started.', [
    ['', Math.floor((Date.now() - startedAt) / 1000)],
  ]);
  metric('connections', 'gauge', 'Open client connections.', [['', gateway.connectionCount]]);
  metric('connections_accepted_total', 'counter', 'Connections accepted.', [['', c.accepted]]);
  metric('connections_refused_total', 'counter', 'CONNECTs refused with a CONNACK error.', [['', c.refused]]);
  metric(
    'framing_errors_total',
    'counter',
    'Connections closed for a malformed or oversized packet header.',
    [['', c.framingErrors]],
  );
  metric('bytes_received_total', 'counter', 'Bytes read from clients.', [['', c.bytesIn]]);
  metric('bytes_sent_total', 'counter', 'Bytes written to clients.', [['', gateway.bytesSent]]);
  const perShard = (
    key:
      | 'messagesIn'
      | 'messagesOut'
      | 'dropped'
      | 'sessions'
      | 'subscriptions'
      | 'retained'
      | 'forwarded'
      | 'heapBytes'
      | 'directBytes',
  ) => {
    const values: Array<[string, number]> = [];
    for (let i = 0; i < gateway.pool.size; i++)
      values.push([`{shard="${i}"}`, gateway.pool.link(i)?.stats?.[key] ?? 0]);
    return values;
  };
  metric(
    'messages_received_total',
    'counter',
    'PUBLISH packets received from clients.',
    perShard('messagesIn'),
  );
  metric('messages_sent_total', 'counter', 'PUBLISH packets sent to clients.', perShard('messagesOut'));
  metric(
    'messages_dropped_total',
    'counter',
    'Messages dropped (QoS 0 to a slow client, or a full queue).',
    perShard('dropped'),
  );
  metric(
    'messages_forwarded_total',
    'counter',
    'Records of PUBLISHes passed to other shards (one per target shard; retained ones go to every shard).',
    perShard('forwarded'),
  );
  metric(
    'direct_bytes_sent_total',
    'counter',
    'Bytes a shard wrote to plain-TCP sockets itself (every batch below saturation; the main thread wrote the rest).',
    perShard('directBytes'),
  );
  metric('sessions', 'gauge', 'Sessions held, online or not.', perShard('sessions'));
  metric('shard_heap_bytes', 'gauge', "The shard thread's JS heap in use.", perShard('heapBytes'));
  metric('subscriptions', 'gauge', 'Subscriptions.', perShard('subscriptions'));
  let storeBytes = 0;
  for (let i = 0; i < gateway.pool.size; i++)
    storeBytes = Math.max(storeBytes, gateway.pool.link(i)?.stats?.storeBytes ?? 0);
  metric('store_bytes', 'gauge', 'Bytes the durable store holds (pages in use).', [['', storeBytes]]);
  metric('retained_messages', 'gauge', "Retained messages (each shard's replica).", perShard('retained'));
  const restarts: Array<[string, number]> = gateway.pool.starts.map((n, i) => [`{shard="${i}"}`, n - 1]);
  metric('shard_restarts_total', 'counter', 'Times a shard thread died and was started again.', restarts);
  return `${out.join('\n')}\n`;
}

export function listenHttp(gateway: Gateway, host: string, port: number): Promise<HttpListener> {
  assertNativeUws();
  const startedAt = Date.now();
  const app = uws.App();
  app.get('/health', (res) => {
    const doc = health(gateway);
    res.cork(() => {
      res.writeStatus(doc.status === 'ok' ? '200 OK' : '503 Service Unavailable');
      res.writeHeader('content-type', 'application/json');
      res.end(JSON.stringify(doc));
    });
  });
  app.get('/metrics', (res) => {
    const text = metrics(gateway, startedAt);
    res.cork(() => {
      res.writeHeader('content-type', 'text/plain; version=0.0.4');
      res.end(text);
    });
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('Weir serves GET /health and GET /metrics here\n');
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (!socket) {
        reject(
          new WeirError(
            'ERR_LISTEN',
            `cannot open the HTTP listener on ${host}:${port}: the port is in use or not allowed`,
          ),
        );
        return;
      }
      resolve({ port: uws.us_socket_local_port(socket), close: () => uws.us_listen_socket_close(socket) });
    });
  });
}
