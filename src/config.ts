// Configuration: one table of options drives every source (defaults, a TOML file, WEIR_*
// environment variables, command-line flags), the `--help` text and the README's table, so the
// four can never disagree. Later sources win: defaults < file < environment < flags.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse as parseToml } from 'smol-toml';
import { WeirError } from './errors.js';

export interface WeirConfig {
  /** Address the listeners bind to. */
  host: string;
  /** Plain TCP on libuv TCP handles (handle) or on net.Socket (net). */
  tcpSockets: 'handle' | 'net';
  /** Shards write their batches below saturation to plain-TCP sockets themselves (on), or leave every write to the main thread (off). */
  directWrites: 'on' | 'off';
  /** V8's memory reducer: off (from the broker's start, no memory-reducing full collections in the isolates created after, the shards': steadier latency, more memory kept after a burst) or on (V8's setting left as it is). */
  memoryReducer: 'on' | 'off';
  /** MQTT over TCP; 0 = do not open. */
  port: number;
  /** MQTT over WebSocket at /mqtt; 0 = do not open. */
  wsPort: number;
  /** MQTT over TLS; 0 = do not open. Needs cert and key. */
  tlsPort: number;
  /** MQTT over secure WebSocket; 0 = do not open. Needs cert and key. */
  wssPort: number;
  /** HTTP API (/health, /metrics); 0 = do not open. */
  httpPort: number;
  /** PEM certificate chain for TLS and WSS. */
  cert: string;
  /** PEM private key for TLS and WSS. */
  key: string;
  /** PEM CA certificates: TLS clients are asked for a certificate verified against them. */
  ca: string;
  /** Worker threads that own the sessions; 0 = cores − 1, at least 1. */
  shards: number;
  /** WASM memory of each shard in MiB: its rings, codec staging and topic matcher. */
  shardMemoryMb: number;
  /** Directory of the durable store. */
  dataDir: string;
  /** When a QoS 1/2 PUBLISH for persistent sessions is acknowledged: after a flush, on an interval, or never stored. */
  durability: 'flush' | 'interval' | 'memory';
  /** With durability "interval": milliseconds between flushes. */
  flushInterval: number;
  /** 1: QoS 0 messages are queued for offline persistent sessions too. */
  queueQos0: number;
  /** Largest size of the store in MiB. */
  storeMaxMb: number;
  /** Largest packet accepted from a client and announced in CONNACK (bytes). */
  maxPacketSize: number;
  /** Receive Maximum announced to clients: QoS 1/2 PUBLISHes a client may have unacknowledged. */
  receiveMaximum: number;
  /** QoS 1/2 messages in flight to one client (further bounded by the client's Receive Maximum). */
  maxInflight: number;
  /** Messages queued for one session beyond those in flight. */
  maxQueued: number;
  /** Topic Alias Maximum announced to clients; 0 = no aliases from clients. */
  topicAliasMaximum: number;
  /** Smallest keep-alive accepted (seconds); 0 = any. */
  keepAliveMin: number;
  /** Largest keep-alive accepted (seconds); larger requests get Server Keep Alive (MQTT 5). */
  keepAliveMax: number;
  /** Concurrent client connections; -1 = unlimited. */
  maxConnections: number;
  /** Seconds between $SYS publications; 0 = off. */
  sysInterval: number;
  /** Seconds a new connection has to send its CONNECT before it is closed. */
  connectTimeout: number;
}

type Kind = 'port' | 'int' | 'string' | 'path';

interface Option {
  key: keyof WeirConfig;
  /** `--flag`, `WEIR_FLAG` and the TOML key `flag` (with _ for -) all derive from this name. */
  name: string;
  kind: Kind;
  min?: number;
  max?: number;
  /** For 'string' options: the only values accepted. */
  choices?: readonly string[];
  default: string | number;
  help: string;
}

const UNLIMITED_PACKET = 268_435_455 + 5; // the largest packet MQTT can express

/** Every option, in the order `--help` and the README list them. */
export const OPTIONS: readonly Option[] = [
  { key: 'host', name: 'host', kind: 'string', default: '0.0.0.0', help: 'address the listeners bind to' },
  { key: 'port', name: 'port', kind: 'port', default: 1883, help: 'MQTT over TCP (0: off)' },
  {
    key: 'tcpSockets',
    name: 'tcp-sockets',
    kind: 'string',
    choices: ['handle', 'net'],
    default: 'handle',
    help: "plain TCP on Node's TCP handles, without a net.Socket per connection (handle: fewer CPU and memory per connection; see bench/README.md), or on net.Socket (net); handle falls back to net when this Node.js lacks that API",
  },
  {
    key: 'directWrites',
    name: 'direct-writes',
    kind: 'string',
    choices: ['on', 'off'],
    default: 'on',
    help: 'on: a shard writes its batches of packets to plain-TCP sockets (on TCP handles) itself, one gathered write per connection, instead of waking the main thread, which saves a thread wake-up per message below saturation; the batches of a saturated shard (over 1,024 packets or 64 KiB) still go to the main thread (see docs/architecture.md); off: the main thread writes everything',
  },
  {
    key: 'memoryReducer',
    name: 'memory-reducer',
    kind: 'string',
    choices: ['on', 'off'],
    default: 'off',
    help: "off: V8's memory reducer is turned off when the broker starts, for every isolate the process creates from then on (the shards' and any an embedding program makes later; the main thread's keeps what node was started with, `node --no-memory-reducer` turns it off there too). It runs memory-reducing full collections about 8 s after an isolate starts and after each full collection that grew the heap by 10 MB or more, up to three in a row, each pausing the thread for 1-11 ms (a shard's pauses are every connection's; see bench/README.md); off keeps the memory they would return when load drops (about 8 MB on an idle broker after a burst of lat-10k load, 17 MB with the main thread's too). on: leave V8's setting as it is, for deployments short of memory",
  },
  {
    key: 'wsPort',
    name: 'ws-port',
    kind: 'port',
    default: 8083,
    help: 'MQTT over WebSocket, path /mqtt (0: off)',
  },
  {
    key: 'tlsPort',
    name: 'tls-port',
    kind: 'port',
    default: 0,
    help: 'MQTT over TLS (0: off; needs --cert, --key)',
  },
  { key: 'wssPort', name: 'wss-port', kind: 'port', default: 0, help: 'MQTT over secure WebSocket (0: off)' },
  {
    key: 'httpPort',
    name: 'http-port',
    kind: 'port',
    default: 18083,
    help: 'HTTP API: /health, /metrics (0: off)',
  },
  { key: 'cert', name: 'cert', kind: 'path', default: '', help: 'PEM certificate chain for TLS and WSS' },
  { key: 'key', name: 'key', kind: 'path', default: '', help: 'PEM private key for TLS and WSS' },
  {
    key: 'ca',
    name: 'ca',
    kind: 'path',
    default: '',
    help: 'PEM CA certificates: MQTT/TLS clients are asked for a certificate, and the authenticate hook sees whether it verified',
  },
  {
    key: 'shards',
    name: 'shards',
    kind: 'int',
    min: 0,
    max: 256,
    default: 0,
    help: 'shard threads, each owning the sessions whose client IDs hash to it (0: cores - 1, at least 1)',
  },
  {
    key: 'shardMemoryMb',
    name: 'shard-memory-mb',
    kind: 'int',
    min: 128,
    max: 2048,
    default: 256,
    help: 'WASM memory of each shard in MiB (rings, codec, topic matcher); bounds its subscriptions',
  },
  {
    key: 'dataDir',
    name: 'data-dir',
    kind: 'path',
    default: './data',
    help: 'directory of the durable store',
  },
  {
    key: 'durability',
    name: 'durability',
    kind: 'string',
    choices: ['flush', 'interval', 'memory'],
    default: 'flush',
    help: 'flush: QoS 1/2 acknowledged once stored on disk for every persistent session; interval: stored, flushed every --flush-interval ms (a crash loses at most that window); memory: nothing stored',
  },
  {
    key: 'flushInterval',
    name: 'flush-interval',
    kind: 'int',
    min: 1,
    max: 60_000,
    default: 100,
    help: 'milliseconds between store flushes with --durability interval',
  },
  {
    key: 'queueQos0',
    name: 'queue-qos0',
    kind: 'int',
    min: 0,
    max: 1,
    default: 0,
    help: '1: queue QoS 0 messages for offline persistent sessions too (0: only QoS 1/2)',
  },
  {
    key: 'storeMaxMb',
    name: 'store-max-mb',
    kind: 'int',
    min: 16,
    max: 1_048_576,
    default: 4096,
    help: 'largest store size in MiB; when it is full, a QoS 1/2 PUBLISH that must be stored is refused: PUBACK/PUBREC 0x97 (Quota exceeded) in MQTT 5, a disconnect in 3.1.1 (the client sends it again later)',
  },
  {
    key: 'maxPacketSize',
    name: 'max-packet-size',
    kind: 'int',
    min: 64,
    max: UNLIMITED_PACKET,
    default: 1_048_576,
    help: 'largest packet accepted, in bytes (a client sending more is disconnected with 0x95)',
  },
  {
    key: 'receiveMaximum',
    name: 'receive-maximum',
    kind: 'int',
    min: 1,
    max: 65535,
    default: 1024,
    help: 'unacknowledged QoS 1/2 PUBLISHes a client may send (more: DISCONNECT 0x93)',
  },
  {
    key: 'maxInflight',
    name: 'max-inflight',
    kind: 'int',
    min: 1,
    max: 65535,
    default: 1024,
    help: 'QoS 1/2 messages in flight to one client',
  },
  {
    key: 'maxQueued',
    name: 'max-queued',
    kind: 'int',
    min: 0,
    max: 100_000_000,
    default: 1000,
    help: 'messages queued per session beyond those in flight',
  },
  {
    key: 'topicAliasMaximum',
    name: 'topic-alias-maximum',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 10,
    help: 'topic aliases a client may define per connection',
  },
  {
    key: 'keepAliveMin',
    name: 'keep-alive-min',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 0,
    help: 'smallest keep-alive (s)',
  },
  {
    key: 'keepAliveMax',
    name: 'keep-alive-max',
    kind: 'int',
    min: 1,
    max: 65535,
    default: 65535,
    help: 'largest keep-alive (s)',
  },
  {
    key: 'maxConnections',
    name: 'max-connections',
    kind: 'int',
    min: -1,
    max: 10_000_000,
    default: -1,
    help: 'concurrent connections (-1: unlimited)',
  },
  {
    key: 'sysInterval',
    name: 'sys-interval',
    kind: 'int',
    min: 0,
    max: 86400,
    default: 10,
    help: '$SYS interval (s, 0: off)',
  },
  {
    key: 'connectTimeout',
    name: 'connect-timeout',
    kind: 'int',
    min: 1,
    max: 3600,
    default: 10,
    help: 'seconds a new connection has to send CONNECT before it is closed',
  },
];

const envName = (o: Option) => `WEIR_${o.name.toUpperCase().replaceAll('-', '_')}`;
const tomlName = (o: Option) => o.name.replaceAll('-', '_');

function configError(message: string): WeirError {
  return new WeirError('ERR_CONFIG', message);
}

/** Convert and range-check one value; `where` names its source for the error message. */
function coerce(o: Option, raw: unknown, where: string): string | number {
  if (o.kind === 'string' || o.kind === 'path') {
    if (typeof raw !== 'string')
      throw configError(`${where}: ${o.name} must be a string, got ${JSON.stringify(raw)}`);
    if (o.choices && !o.choices.includes(raw))
      throw configError(
        `${where}: ${o.name} must be one of ${o.choices.join(', ')}, got ${JSON.stringify(raw)}`,
      );
    return raw;
  }
  const n =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
        ? Number(raw)
        : Number.NaN;
  const [min, max] = o.kind === 'port' ? [0, 65535] : [o.min ?? 0, o.max ?? Number.MAX_SAFE_INTEGER];
  if (!Number.isInteger(n) || n < min || n > max) {
    throw configError(
      `${where}: ${o.name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Values from a TOML file: top-level keys named like the flags, with _ for - (`max_packet_size = 65536`). */
export function readConfigFile(path: string): Partial<Record<keyof WeirConfig, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw configError(
      `cannot read the config file ${path}: ${(e as Error).message}; check the path given to --config`,
    );
  }
  let table: Record<string, unknown>;
  try {
    table = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw configError(`the config file ${path} is not valid TOML: ${(e as Error).message}`);
  }
  const out: Partial<Record<keyof WeirConfig, unknown>> = {};
  for (const [k, v] of Object.entries(table)) {
    const o = OPTIONS.find((opt) => tomlName(opt) === k);
    if (!o) {
      throw configError(`${path}: unknown option "${k}"; known options: ${OPTIONS.map(tomlName).join(', ')}`);
    }
    out[o.key] = v;
  }
  return out;
}

export interface ParsedArgs {
  values: Partial<Record<keyof WeirConfig, string>>;
  configFile?: string;
  help: boolean;
}

/** Parse `--name value` and `--name=value` flags; unknown flags are errors that list the known ones. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { values: {}, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      parsed.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw configError(`unexpected argument "${arg}"; options look like --port 1883 (see --help)`);
    const name = m[1]!;
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw configError(`--${name} needs a value (see --help)`);
      i++;
    }
    if (name === 'config') {
      parsed.configFile = value;
      continue;
    }
    const o = OPTIONS.find((opt) => opt.name === name);
    if (!o) throw configError(`unknown option --${name}; run with --help for the list`);
    parsed.values[o.key] = value;
  }
  return parsed;
}

export interface ConfigSources {
  /** Values given in code (the library API); applied after the file and before env and flags. */
  overrides?: Partial<WeirConfig>;
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  configFile?: string;
}

/** Resolve the configuration from all sources and validate it as a whole. */
export function resolveConfig(sources: ConfigSources = {}): WeirConfig {
  const args = parseArgs(sources.argv ?? []);
  const env = sources.env ?? {};
  const file = args.configFile ?? sources.configFile ?? env.WEIR_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const config = {} as Record<keyof WeirConfig, string | number>;
  for (const o of OPTIONS) {
    let value: string | number = o.default;
    if (fromFile[o.key] !== undefined) value = coerce(o, fromFile[o.key], file!);
    const code = sources.overrides?.[o.key];
    if (code !== undefined) value = coerce(o, code, `option ${o.key}`);
    const e = env[envName(o)];
    if (e !== undefined && e !== '') value = coerce(o, e, `environment variable ${envName(o)}`);
    const flag = args.values[o.key];
    if (flag !== undefined) value = coerce(o, flag, `--${o.name}`);
    config[o.key] = value;
  }
  const c = config as unknown as WeirConfig;
  if (c.shards === 0) c.shards = Math.max(1, availableParallelism() - 1);
  validate(c);
  return c;
}

function validate(c: WeirConfig): void {
  if ((c.tlsPort || c.wssPort) && (!c.cert || !c.key)) {
    throw configError(
      'TLS and WSS listeners need a certificate and a key: give --cert and --key (PEM files)',
    );
  }
  if (c.keepAliveMin > c.keepAliveMax) {
    throw configError(`keep-alive-min (${c.keepAliveMin}) is larger than keep-alive-max (${c.keepAliveMax})`);
  }
  const ports = (['port', 'wsPort', 'tlsPort', 'wssPort', 'httpPort'] as const).filter((k) => c[k] !== 0);
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (c[ports[i]!] === c[ports[j]!]) {
        const name = (k: keyof WeirConfig) => OPTIONS.find((o) => o.key === k)!.name;
        throw configError(
          `--${name(ports[i]!)} and --${name(ports[j]!)} are both ${c[ports[i]!]}; give each listener its own port`,
        );
      }
    }
  }
}

/** The `--help` text. */
export function helpText(): string {
  const lines = [
    'Usage: weir [options]',
    '',
    'Options (also WEIR_<NAME> in the environment, or name = value in a TOML file):',
  ];
  lines.push(`${'  --config <file>'.padEnd(34)}TOML file with options (WEIR_CONFIG)`);
  for (const o of OPTIONS) {
    const flag = `  --${o.name} <${o.kind === 'path' ? 'file' : o.kind === 'string' ? 'text' : 'n'}>`;
    lines.push(`${flag.padEnd(34)}${o.help} [${o.default === '' ? 'none' : o.default}]`);
  }
  return lines.join('\n');
}

/** The README's configuration table (Markdown), generated from OPTIONS. */
export function optionsTable(): string {
  const rows = ['| flag | environment | TOML key | default | meaning |', '|---|---|---|---|---|'];
  for (const o of OPTIONS) {
    const def = o.default === '' ? '(none)' : String(o.default);
    rows.push(`| \`--${o.name}\` | \`${envName(o)}\` | \`${tomlName(o)}\` | ${def} | ${o.help} |`);
  }
  return rows.join('\n');
}
