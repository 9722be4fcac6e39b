// Codec micro-benchmarks: Weir (AssemblyScript → WASM) against mqtt-packet 9.0.2 (the codec of
// MQTT.js), in the same process and run. Cases: PUBLISH decode/encode at 16 B, 1 KiB and 64 KiB
// payloads; CONNECT v5 with properties; SUBSCRIBE with 100 filters.
//
// Weir is measured two ways where it matters:
// - hot:      the bytes are already in WASM memory (as they are in a shard, read from a ring):
//             `decodeAt` + the topic/payload spans from `view`; nothing is copied or allocated;
// - readable: `decode(bytes)` from a JS Uint8Array to a `Packet` object (copies the input in and
//             builds the object): the cold path used for CONNECT, SUBSCRIBE and tools.
// mqtt-packet: `parser.parse(buf)` with a 'packet' listener; `generate(obj)` (one Buffer, like
// Weir's encode) and `writeToStream(obj, sink)` (a list of chunks, no concatenation).
//
// tinybench times each call of a task function; one call runs a batch of operations, so that the
// timer's own cost (tens of ns) does not swamp 100-ns operations. ops/s = batch / period.
// Run alone: `npx tsc -p tsconfig.build.json && node dist/bench/codec-only.js`.
import * as os from 'node:os';
import * as mqtt from 'mqtt-packet';
import { Bench } from 'tinybench';
import { Codec } from '../src/protocol/codec.js';
import type { ConnectPacket, Packet, PublishPacket, SubscribePacket } from '../src/protocol/packets.js';
import { instantiate } from '../src/protocol/wasm.js';

interface Row {
  name: string;
  weir: string;
  weirOps: number;
  weirRme: number;
  peer: string;
  peerOps: number;
  peerRme: number;
  bytes: number;
}

/** A stream that mqtt-packet's writeToStream can write to, keeping nothing. */
const sink = {
  chunks: 0,
  write(_chunk: unknown): boolean {
    this.chunks++;
    return true;
  },
  destroy(err?: unknown): void {
    if (err) throw err;
  },
};

/** Both codecs must write the same bytes for a case, or the comparison is not like for like. */
function sameBytes(what: string, weir: Uint8Array, peer: Buffer): void {
  if (Buffer.compare(Buffer.from(weir), peer) !== 0) {
    console.warn(
      `warning: ${what}: Weir and mqtt-packet encode differently (${weir.length} vs ${peer.length} bytes)`,
    );
  }
}

/** Something the optimiser cannot see through, so that results are not dead code. */
let blackhole = 0;

function payloadOf(size: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

function buf(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function publishPacket(size: number): PublishPacket {
  return {
    cmd: 'publish',
    topic: 'building/7/floor/3/room-12/sensors/temperature',
    payload: payloadOf(size),
    qos: 1,
    dup: false,
    retain: false,
    messageId: 4242,
  };
}

function connectV5(): ConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 5,
    clean: true,
    keepalive: 60,
    clientId: 'sensor-gateway-0042',
    username: 'gateway',
    password: new TextEncoder().encode('s3cr3t-password'),
    properties: {
      sessionExpiryInterval: 3600,
      receiveMaximum: 100,
      maximumPacketSize: 1 << 20,
      topicAliasMaximum: 16,
      requestResponseInformation: 1,
      requestProblemInformation: 1,
      userProperties: [
        ['site', 'berlin-3'],
        ['fw', '2.4.1'],
      ],
    },
    will: {
      topic: 'gateways/0042/status',
      payload: new TextEncoder().encode('offline'),
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 30, payloadFormatIndicator: 1, contentType: 'text/plain' },
    },
  };
}

function subscribe100(): SubscribePacket {
  const subscriptions = [];
  for (let i = 0; i < 100; i++) {
    const topic = i % 10 === 0 ? `building/${i}/#` : `building/${i >> 2}/+/room-${i}/sensors/+`;
    subscriptions.push({ topic, qos: (i % 3) as 0 | 1 | 2, nl: i % 2 === 0, rap: false, rh: 0 as const });
  }
  return { cmd: 'subscribe', messageId: 7, subscriptions, properties: { subscriptionIdentifiers: [12] } };
}

/** The mqtt-packet object for the same packet (Buffers, its property names). */
function mqttObject(p: Packet): mqtt.Packet {
  switch (p.cmd) {
    case 'publish':
      return {
        cmd: 'publish',
        topic: p.topic,
        payload: buf(p.payload),
        qos: p.qos,
        dup: p.dup,
        retain: p.retain,
        messageId: p.messageId,
      };
    case 'connect': {
      const props = p.properties ?? {};
      const will = p.will;
      return {
        cmd: 'connect',
        protocolId: p.protocolId,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
        username: p.username,
        password: p.password ? buf(p.password) : undefined,
        // Keys in ascending property identifier order: mqtt-packet writes them in key order, Weir sorts.
        properties: {
          sessionExpiryInterval: props.sessionExpiryInterval,
          requestProblemInformation: props.requestProblemInformation === 1,
          requestResponseInformation: props.requestResponseInformation === 1,
          receiveMaximum: props.receiveMaximum,
          topicAliasMaximum: props.topicAliasMaximum,
          userProperties: Object.fromEntries(props.userProperties ?? []),
          maximumPacketSize: props.maximumPacketSize,
        },
        will: will
          ? {
              topic: will.topic,
              payload: buf(will.payload),
              qos: will.qos,
              retain: will.retain,
              properties: {
                payloadFormatIndicator: will.properties?.payloadFormatIndicator === 1,
                contentType: will.properties?.contentType,
                willDelayInterval: will.properties?.willDelayInterval,
              },
            }
          : undefined,
      };
    }
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.messageId,
        subscriptions: p.subscriptions.map((s) => ({
          topic: s.topic,
          qos: s.qos,
          nl: s.nl,
          rap: s.rap,
          rh: s.rh,
        })),
        properties: { subscriptionIdentifier: p.properties?.subscriptionIdentifiers?.[0] },
      };
    default:
      throw new Error(`no mqtt-packet object for ${p.cmd}`);
  }
}

function opsOf(bench: Bench, name: string, batch: number): { ops: number; rme: number } {
  const task = bench.getTask(name);
  const result = task?.result;
  if (!result || !('period' in result)) {
    const why = result && 'error' in result ? String(result.error) : (result?.state ?? 'missing');
    throw new Error(`benchmark task ${name} did not complete: ${why}`);
  }
  return { ops: (batch * 1000) / result.period, rme: result.latency.rme };
}

function fmtOps(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`;
  return ops.toFixed(0);
}

export async function run(): Promise<void> {
  const wasm = instantiate({ memoryBytes: 32 << 20 });
  const codec = new Codec(wasm);
  const bench = new Bench({ time: 500, warmupTime: 150, throws: true });
  const rows: Array<Omit<Row, 'weirOps' | 'weirRme' | 'peerOps' | 'peerRme'> & { batch: number }> = [];

  /** Adds a Weir task and an mqtt-packet task for one row. */
  const pair = (
    name: string,
    bytes: number,
    batch: number,
    weir: [string, () => void],
    peer: [string, () => void],
  ): void => {
    const [weirLabel, weirFn] = weir;
    const [peerLabel, peerFn] = peer;
    // A task shared by two rows (the same peer against Weir's hot and readable paths) runs once.
    for (const [label, fn] of [
      [weirLabel, weirFn],
      [peerLabel, peerFn],
    ] as const) {
      if (bench.getTask(`${name} | ${label}`)) continue;
      bench.add(`${name} | ${label}`, () => {
        for (let i = 0; i < batch; i++) fn();
      });
    }
    rows.push({ name, weir: weirLabel, peer: peerLabel, bytes, batch });
  };

  const parser = mqtt.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => {
    blackhole ^= p.length ?? 0;
  });
  const parser5 = mqtt.parser({ protocolVersion: 5 });
  parser5.on('packet', (p) => {
    blackhole ^= p.length ?? 0;
  });
  for (const parse of [parser, parser5]) {
    parse.on('error', (e: unknown) => {
      throw e;
    });
  }

  // ── PUBLISH (3.1.1, QoS 1) ──
  for (const [size, label, batch] of [
    [16, '16 B', 256],
    [1024, '1 KiB', 128],
    [65536, '64 KiB', 4],
  ] as const) {
    const packet = publishPacket(size);
    const obj = mqttObject(packet);
    const bytes = codec.encode(packet, 4);
    const bytesBuf = Buffer.from(bytes);
    sameBytes(`PUBLISH ${label}`, bytes, mqtt.generate(obj, { protocolVersion: 4 }));
    // Each case's bytes get their own region: the tasks run after all are set up.
    const inPtr = wasm.reserve(bytes.length, `PUBLISH ${label} input`);
    wasm.u8.set(bytes, inPtr);
    const view = codec.view;
    pair(
      `decode PUBLISH ${label}`,
      bytes.length,
      batch,
      [
        'Weir hot (decodeAt + view spans)',
        () => {
          const n = codec.decodeAt(inPtr, bytes.length, 4);
          blackhole ^= n + view.topicPtr + view.topicLen + view.payloadPtr + view.payloadLen + view.packetId;
        },
      ],
      ['mqtt-packet parse', () => parser.parse(bytesBuf)],
    );
    pair(
      `decode PUBLISH ${label}`,
      bytes.length,
      batch,
      [
        'Weir readable (decode → Packet)',
        () => {
          const r = codec.decode(bytes, 4);
          blackhole ^= r.status === 'packet' ? r.length : 0;
        },
      ],
      ['mqtt-packet parse', () => parser.parse(bytesBuf)],
    );
    pair(
      `encode PUBLISH ${label}`,
      bytes.length,
      batch,
      ['Weir encode', () => (blackhole ^= codec.encode(packet, 4).length)],
      ['mqtt-packet generate', () => (blackhole ^= mqtt.generate(obj, { protocolVersion: 4 }).length)],
    );
    // What a broker does per message: decode the incoming PUBLISH, re-encode it for a subscriber
    // (new packet id). Weir does both inside WASM memory (into a ring slot in the broker);
    // mqtt-packet parses to an object and generates a Buffer, as aedes does.
    const outCap = bytes.length + 64;
    const outPtr = wasm.reserve(outCap, `PUBLISH ${label} forward output`);
    const forward = { qos: 1 as const, packetId: 7 };
    pair(
      `forward PUBLISH ${label}`,
      bytes.length,
      batch,
      [
        'Weir decodeAt + encodePublishFrom',
        () => {
          codec.decodeAt(inPtr, bytes.length, 4);
          blackhole ^= codec.encodePublishFrom(outPtr, outCap, 4, forward);
        },
      ],
      [
        'mqtt-packet parse + generate',
        () => {
          parser.parse(bytesBuf);
          blackhole ^= mqtt.generate(obj, { protocolVersion: 4 }).length;
        },
      ],
    );
    pair(
      `encode PUBLISH ${label}`,
      bytes.length,
      batch,
      ['Weir encode', () => (blackhole ^= codec.encode(packet, 4).length)],
      [
        'mqtt-packet writeToStream',
        () => mqtt.writeToStream(obj, sink as unknown as NodeJS.WritableStream, { protocolVersion: 4 }),
      ],
    );
  }

  // ── CONNECT v5 with properties and a will ──
  {
    const packet = connectV5();
    const obj = mqttObject(packet);
    const bytes = codec.encode(packet, 5);
    const bytesBuf = Buffer.from(bytes);
    sameBytes('CONNECT v5', bytes, mqtt.generate(obj, { protocolVersion: 5 }));
    pair(
      'decode CONNECT v5',
      bytes.length,
      64,
      [
        'Weir readable (decode → Packet)',
        () => (blackhole ^= codec.decode(bytes, 5, { fromClient: true }).status.length),
      ],
      [
        'mqtt-packet parse',
        () => {
          // A parser keeps the CONNECT's version for what follows; a fresh one per connection is what a broker does.
          const p = mqtt.parser();
          p.on('packet', (x) => (blackhole ^= x.length ?? 0));
          p.parse(bytesBuf);
        },
      ],
    );
    pair(
      'encode CONNECT v5',
      bytes.length,
      64,
      ['Weir encode', () => (blackhole ^= codec.encode(packet, 5).length)],
      ['mqtt-packet generate', () => (blackhole ^= mqtt.generate(obj, { protocolVersion: 5 }).length)],
    );
  }

  // ── SUBSCRIBE with 100 filters (v5) ──
  {
    const packet = subscribe100();
    const obj = mqttObject(packet);
    const bytes = codec.encode(packet, 5);
    const bytesBuf = Buffer.from(bytes);
    sameBytes('SUBSCRIBE ×100', bytes, mqtt.generate(obj, { protocolVersion: 5 }));
    const inPtr = wasm.reserve(bytes.length, 'SUBSCRIBE input');
    wasm.u8.set(bytes, inPtr);
    pair(
      'decode SUBSCRIBE ×100',
      bytes.length,
      8,
      [
        'Weir readable (decode → Packet)',
        () => (blackhole ^= codec.decode(bytes, 5, { fromClient: true }).status.length),
      ],
      ['mqtt-packet parse', () => parser5.parse(bytesBuf)],
    );
    pair(
      'decode SUBSCRIBE ×100',
      bytes.length,
      8,
      [
        'Weir hot (decodeAt, validate only)',
        () => (blackhole ^= codec.decodeAt(inPtr, bytes.length, 5, { fromClient: true })),
      ],
      ['mqtt-packet parse', () => parser5.parse(bytesBuf)],
    );
    pair(
      'encode SUBSCRIBE ×100',
      bytes.length,
      8,
      ['Weir encode', () => (blackhole ^= codec.encode(packet, 5).length)],
      ['mqtt-packet generate', () => (blackhole ^= mqtt.generate(obj, { protocolVersion: 5 }).length)],
    );
  }

  await bench.run();

  const lines = [
    '| case (packet size) | Weir | ops/s (±rme) | mqtt-packet | ops/s (±rme) | Weir ÷ mqtt-packet | Weir MB/s |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const w = opsOf(bench, `${row.name} | ${row.weir}`, row.batch);
    const m = opsOf(bench, `${row.name} | ${row.peer}`, row.batch);
    lines.push(
      `| ${row.name} (${row.bytes} B) | ${row.weir} | ${fmtOps(w.ops)} (±${w.rme.toFixed(1)}%) | ${row.peer} | ` +
        `${fmtOps(m.ops)} (±${m.rme.toFixed(1)}%) | ${(w.ops / m.ops).toFixed(2)}× | ${((w.ops * row.bytes) / 1e6).toFixed(0)} |`,
    );
  }
  console.log(lines.join('\n'));
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `\nNode ${process.version}, ${process.arch}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), load ${load}. ` +
      'Ratios compare tasks of the same run.\nMB/s = packet bytes framed per second: the hot path does not read ' +
      `the PUBLISH payload, it returns its span (checksum ${blackhole & 1}).`,
  );
}
