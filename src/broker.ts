// The composition root: configuration → the gateway and its shards → the listeners. This is
// what `createBroker` (the library) and bin/weir.js (the CLI) both run.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { type ConfigSources, resolveConfig, type WeirConfig } from './config.js';
import { WeirError } from './errors.js';
import { type AuthHook, type ClientInfo, Gateway } from './net/gateway.js';
import type { Properties, QoS } from './protocol/packets.js';
import { validateTopicName } from './protocol/topic.js';
import { listenTcp } from './net/tcp-listener.js';
import { listenHttp } from './net/http-api.js';
import type { Listener } from './net/listener.js';
import { listenWs } from './net/ws-listener.js';
import type { ShardConfig } from './shard/mqtt-shard.js';

export interface BrokerOptions extends Partial<WeirConfig> {
  /** Decides at CONNECT, in the main thread; may be async. */
  authenticate?: AuthHook;
  /** WASM memory per shard in bytes, overriding --shard-memory-mb (reserved virtually, committed as used). */
  shardMemoryBytes?: number;
}

export interface BrokerPorts {
  tcp?: number;
  tls?: number;
  ws?: number;
  wss?: number;
  http?: number;
}

const VERSION = '0.1.0';

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 properties (Message Expiry Interval, Content Type, User Properties, ...). */
  properties?: Properties;
}

interface BrokerEvents {
  /** A client's CONNECT passed authentication and went to its shard. */
  'client.connected': [ClientInfo];
  /** That connection ended (any reason). */
  'client.disconnected': [ClientInfo];
  /** Something the operator should know: a shard stopped, the store cannot write (and can again). */
  warning: [{ message: string }];
}

export class Broker extends EventEmitter<BrokerEvents> {
  readonly config: WeirConfig;
  private gateway: Gateway | undefined;
  private readonly endpoints: Listener[] = [];
  readonly ports: BrokerPorts = {};

  constructor(
    config: WeirConfig,
    private readonly options: Pick<BrokerOptions, 'authenticate' | 'shardMemoryBytes'> = {},
  ) {
    super();
    this.config = config;
  }

  /** Start the shards and open every listener whose port is not 0. */
  async listen(): Promise<void> {
    const c = this.config;
    // Before the shards start: V8 gives an isolate its memory reducer when it creates it, so the
    // flag reaches every isolate made from now on, and not the main thread's, which exists.
    if (c.memoryReducer === 'off') setFlagsFromString('--no-memory-reducer');
    const shardSettings: ShardConfig = {
      maxPacketSize: c.maxPacketSize,
      receiveMaximum: c.receiveMaximum,
      maxInflight: c.maxInflight,
      maxQueued: c.maxQueued,
      keepAliveMin: c.keepAliveMin,
      keepAliveMax: c.keepAliveMax,
      topicAliasMaximum: c.topicAliasMaximum,
      queueQos0: c.queueQos0 === 1,
      durability: c.durability,
      dataDir: resolve(c.dataDir),
      flushIntervalMs: c.flushInterval,
      storeMaxBytes: c.storeMaxMb * 1024 * 1024,
    };
    this.gateway = new Gateway({
      shards: c.shards,
      logic: new URL('./shard/mqtt-logic.js', import.meta.url).href,
      shardSettings,
      maxPacketSize: c.maxPacketSize,
      authenticate: this.options.authenticate,
      memoryBytes: this.options.shardMemoryBytes ?? c.shardMemoryMb * 1024 * 1024,
      maxConnections: c.maxConnections,
      connectTimeout: c.connectTimeout,
      directWrites: c.directWrites === 'on',
      onClient: (event, info) => this.emit(`client.${event}`, info),
    });
    this.gateway.pool.on('warning', (message) => this.emit('warning', { message }));
    await this.gateway.start();
    this.startedAt = Date.now();
    if (c.sysInterval > 0) {
      this.sysTimer = setInterval(() => this.publishSys(), c.sysInterval * 1000);
      this.sysTimer.unref();
    }
    try {
      await this.openListeners();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async openListeners(): Promise<void> {
    const c = this.config;
    const gateway = this.gateway!;
    if (c.port) {
      const tcp = await listenTcp(gateway, { host: c.host, port: c.port, sockets: c.tcpSockets });
      this.ports.tcp = this.track(tcp);
    }
    if (c.tlsPort) {
      const tls = {
        cert: readPem(c.cert, 'certificate (--cert)'),
        key: readPem(c.key, 'private key (--key)'),
        // With a CA, ask for a client certificate but let the authenticate hook decide.
        ...(c.ca
          ? { ca: readPem(c.ca, 'CA certificates (--ca)'), requestCert: true, rejectUnauthorized: false }
          : {}),
      };
      this.ports.tls = this.track(await listenTcp(gateway, { host: c.host, port: c.tlsPort, tls }));
    }
    if (c.wsPort) {
      const ws = await listenWs(gateway, { host: c.host, port: c.wsPort, maxPacketSize: c.maxPacketSize });
      this.ports.ws = this.track(ws);
    }
    if (c.wssPort) {
      readPem(c.cert, 'certificate (--cert)');
      readPem(c.key, 'private key (--key)');
      const wss = await listenWs(gateway, {
        host: c.host,
        port: c.wssPort,
        maxPacketSize: c.maxPacketSize,
        tls: { cert: c.cert, key: c.key },
      });
      this.ports.wss = this.track(wss);
    }
    if (c.httpPort) {
      const http = await listenHttp(gateway, c.host, c.httpPort);
      this.ports.http = this.track(http);
    }
  }

  private track(listener: Listener): number {
    this.endpoints.push(listener);
    return listener.port;
  }

  private startedAt = 0;
  private sysTimer: NodeJS.Timeout | undefined;

  /**
   * Publish a message from the host program, delivered like a client's PUBLISH (retained when
   * `retain` is set). Throws WeirError ERR_TOPIC for an invalid topic name, ERR_NOT_LISTENING
   * before `listen()`; returns false when a shard was too busy to take it (nothing was queued).
   */
  publish(topic: string, payload: Uint8Array | string, options: PublishOptions = {}): boolean {
    const gateway = this.gateway;
    if (!gateway)
      throw new WeirError('ERR_NOT_LISTENING', 'publish() needs a running broker: call listen() first');
    const problem = validateTopicName(topic, gateway.encoder.wasm);
    if (problem) throw new WeirError('ERR_TOPIC', `cannot publish to "${topic}": ${problem}`);
    const qos = options.qos ?? 0;
    const bytes = gateway.encoder.encode(
      {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos,
        dup: false,
        retain: options.retain ?? false,
        // The shard gives each subscriber's copy its own packet identifier.
        messageId: qos > 0 ? 1 : undefined,
        properties: options.properties,
      },
      5,
    );
    return gateway.inject(bytes);
  }

  /** The usual $SYS/broker/... counters, retained, as Mosquitto publishes them. */
  private publishSys(): void {
    const gateway = this.gateway;
    if (!gateway) return;
    let received = 0;
    let sent = 0;
    let subscriptions = 0;
    let retained = 0;
    for (let i = 0; i < gateway.pool.size; i++) {
      const stats = gateway.pool.link(i)?.stats;
      received += stats?.messagesIn ?? 0;
      sent += stats?.messagesOut ?? 0;
      subscriptions += stats?.subscriptions ?? 0;
      // Every shard holds a replica of the retained messages: count one.
      retained = Math.max(retained, stats?.retained ?? 0);
    }
    const values: Array<[string, string]> = [
      ['version', `weir version ${VERSION}`],
      ['uptime', `${Math.floor((Date.now() - this.startedAt) / 1000)} seconds`],
      ['clients/connected', String(gateway.connectionCount)],
      ['messages/received', String(received)],
      ['messages/sent', String(sent)],
      ['subscriptions/count', String(subscriptions)],
      ['retained messages/count', String(retained)],
      ['load/bytes/received', String(gateway.counters.bytesIn)],
      ['load/bytes/sent', String(gateway.bytesSent)],
    ];
    for (const [name, value] of values) this.publish(`$SYS/broker/${name}`, value, { retain: true });
  }

  /**
   * End shard `index`'s thread at once and start it again on fresh memory (a wedged shard): its
   * clients are disconnected and reconnect to the new one; sessions held only in memory are lost.
   * Resolves when the new shard takes clients: it is running and every other shard can write to it.
   */
  async restartShard(index: number): Promise<void> {
    const gateway = this.gateway;
    if (!gateway)
      throw new WeirError('ERR_NOT_LISTENING', 'restartShard() needs a running broker: call listen() first');
    if (!Number.isInteger(index) || index < 0 || index >= gateway.pool.size) {
      throw new WeirError(
        'ERR_CONFIG',
        `there is no shard ${index}: shards are numbered 0 to ${gateway.pool.size - 1}`,
      );
    }
    const ready = new Promise<void>((resolve) => {
      const onReady = (link: { index: number }) => {
        if (link.index !== index) return;
        gateway.pool.off('ready', onReady);
        resolve();
      };
      gateway.pool.on('ready', onReady);
    });
    gateway.pool.kill(index);
    await ready;
  }

  /**
   * What the shards restored from the store at start-up: sessions, and the slowest shard's time
   * to open the store and restore its own (undefined with durability "memory").
   */
  get restored(): { sessions: number; ms: number } | undefined {
    const pool = this.gateway?.pool;
    if (!pool || this.config.durability === 'memory') return undefined;
    let sessions = 0;
    let ms = 0;
    for (let i = 0; i < pool.size; i++) {
      const s = pool.link(i)?.startup;
      sessions += s?.sessions ?? 0;
      ms = Math.max(ms, s?.ms ?? 0);
    }
    return { sessions, ms };
  }

  /** Live connections across all listeners. */
  get connections(): number {
    return this.gateway?.connectionCount ?? 0;
  }

  /** Stop listening, close every connection, stop the shards. */
  async close(): Promise<void> {
    clearInterval(this.sysTimer);
    for (const listener of this.endpoints.splice(0)) listener.close();
    const gateway = this.gateway;
    this.gateway = undefined;
    if (gateway) await gateway.close();
  }
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new WeirError('ERR_CONFIG', `cannot read the TLS ${what} at ${path}: ${(e as Error).message}`);
  }
}

/**
 * Create a broker from options (the same names as the configuration, in camelCase), applied over
 * the defaults and any WEIR_* environment variables given in `sources`.
 */
export function createBroker(
  options: BrokerOptions = {},
  sources: Omit<ConfigSources, 'overrides'> = {},
): Broker {
  const { authenticate, shardMemoryBytes, ...overrides } = options;
  return new Broker(resolveConfig({ ...sources, overrides }), { authenticate, shardMemoryBytes });
}
