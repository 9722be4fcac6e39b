import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText, optionsTable, resolveConfig } from '../../src/config.js';

const tmp = mkdtempSync(join(tmpdir(), 'weir-config-'));
function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig();
    expect(c).toMatchObject({ port: 1883, wsPort: 8083, httpPort: 18083, tlsPort: 0, dataDir: './data' });
    expect(c.shards).toBeGreaterThanOrEqual(1);
  });

  it('applies file < code < environment < flags', () => {
    const path = file('order.toml', 'port = 1000\nws_port = 2000\nhttp_port = 3000\nmax_queued = 5\n');
    const c = resolveConfig({
      configFile: path,
      overrides: { wsPort: 2001, httpPort: 3001 },
      env: { WEIR_HTTP_PORT: '3002', WEIR_MAX_QUEUED: '7' },
      argv: ['--max-queued', '9'],
    });
    expect(c).toMatchObject({ port: 1000, wsPort: 2001, httpPort: 3002, maxQueued: 9 });
  });

  it('reads --config and --flag=value forms', () => {
    const path = file('flags.toml', 'shards = 3\n');
    expect(resolveConfig({ argv: ['--config', path, '--port=0'] })).toMatchObject({ shards: 3, port: 0 });
  });

  it('names the source and the allowed range of a bad value', () => {
    expect(() => resolveConfig({ argv: ['--port', '70000'] })).toThrow(
      /--port: port must be a whole number from 0 to 65535, got "70000"/,
    );
    expect(() => resolveConfig({ env: { WEIR_SHARDS: 'many' } })).toThrow(/environment variable WEIR_SHARDS/);
    expect(() => resolveConfig({ configFile: file('bad.toml', 'port = "x"') })).toThrow(
      /bad\.toml: port must be/,
    );
  });

  it('rejects unknown options with the list of known ones', () => {
    expect(() => resolveConfig({ argv: ['--prot', '1'] })).toThrow(/unknown option --prot; run with --help/);
    expect(() => resolveConfig({ configFile: file('unknown.toml', 'prot = 1') })).toThrow(
      /unknown option "prot"; known options: host, port/,
    );
    expect(() => resolveConfig({ argv: ['--port'] })).toThrow(/--port needs a value/);
  });

  it('explains an unreadable or invalid file', () => {
    expect(() => resolveConfig({ configFile: join(tmp, 'missing.toml') })).toThrow(
      /cannot read the config file .*missing\.toml/,
    );
    expect(() => resolveConfig({ configFile: file('broken.toml', 'port = = 1') })).toThrow(
      /is not valid TOML/,
    );
  });

  it('checks the configuration as a whole', () => {
    expect(() => resolveConfig({ argv: ['--tls-port', '8883'] })).toThrow(
      /need a certificate and a key: give --cert and --key/,
    );
    expect(() => resolveConfig({ argv: ['--ws-port', '1883'] })).toThrow(
      /--port and --ws-port are both 1883/,
    );
    expect(() => resolveConfig({ argv: ['--keep-alive-min', '100', '--keep-alive-max', '50'] })).toThrow(
      /keep-alive-min \(100\) is larger/,
    );
  });

  it('documents every option in --help and the README table', () => {
    for (const name of [
      '--port',
      '--ws-port',
      '--tls-port',
      '--wss-port',
      '--http-port',
      '--cert',
      '--key',
      '--shards',
      '--data-dir',
      '--config',
    ]) {
      expect(helpText()).toContain(name);
    }
    expect(optionsTable()).toContain(
      '| `--max-packet-size` | `WEIR_MAX_PACKET_SIZE` | `max_packet_size` | 1048576 |',
    );
  });
});
