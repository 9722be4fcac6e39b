// `weir`: the broker as a command. Options come from flags, WEIR_* variables and a TOML file
// (see src/config.ts); SIGINT/SIGTERM close it cleanly, a second signal ends it at once.
import { Broker } from './broker.js';
import { helpText, parseArgs, resolveConfig } from './config.js';
import { WeirError } from './errors.js';

function fail(error: unknown): never {
  const message = error instanceof WeirError ? error.message : ((error as Error)?.stack ?? String(error));
  process.stderr.write(`weir: ${message}\n`);
  process.exit(error instanceof WeirError && error.code === 'ERR_CONFIG' ? 2 : 1);
}

export async function main(argv: readonly string[]): Promise<void> {
  let broker: Broker;
  try {
    if (parseArgs(argv).help) {
      process.stdout.write(`${helpText()}\n`);
      return;
    }
    broker = new Broker(resolveConfig({ argv, env: process.env }));
    await broker.listen();
  } catch (error) {
    fail(error);
  }
  let closing = false;
  const stop = (signal: string) => {
    if (closing) process.exit(130);
    closing = true;
    process.stdout.write(`weir: ${signal}, closing\n`);
    broker.close().then(
      () => process.exit(0),
      (error) => fail(error),
    );
  };
  broker.on('warning', ({ message }) => process.stderr.write(`weir: warning: ${message}\n`));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const { host } = broker.config;
  const urls = [
    broker.ports.tcp && `mqtt://${host}:${broker.ports.tcp}`,
    broker.ports.tls && `mqtts://${host}:${broker.ports.tls}`,
    broker.ports.ws && `ws://${host}:${broker.ports.ws}/mqtt`,
    broker.ports.wss && `wss://${host}:${broker.ports.wss}/mqtt`,
    broker.ports.http && `http://${host}:${broker.ports.http} (/health, /metrics)`,
  ].filter(Boolean);
  const { shards, durability, dataDir } = broker.config;
  const restored = broker.restored;
  const store = restored
    ? `store ${dataDir} (durability ${durability}): ${restored.sessions} sessions restored in ${restored.ms} ms`
    : 'no store (durability memory)';
  process.stdout.write(
    `weir: listening on ${urls.join(', ')} (${shards} shard${shards === 1 ? '' : 's'}; ${store})\n`,
  );
}
