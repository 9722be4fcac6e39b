// Runs a Debian command-line MQTT tool with a bounded time, and says how to get it when missing.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export function requireTool(path: string, pkg: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install the Debian package ${pkg} (run 'sudo bash scripts/setup-system.sh')`,
    );
  }
}

/** Run a command to completion (at most `timeoutMs`); resolves with its stdout. */
export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Start mosquitto_sub with -d (debug lines on stdout) and resolve `ready` once its SUBACK
 * arrived, so the test publishes only after the subscription exists, without guessing a delay.
 * `messages` resolves with the message lines (-v: "topic payload") when it exits.
 */
export function subscribe(
  args: string[],
  timeoutMs = 10_000,
): { ready: Promise<void>; messages: Promise<string[]> } {
  // stdbuf: mosquitto_sub's stdout is block-buffered on a pipe, so the SUBACK line would only
  // come out when it exits; line buffering hands it over at once.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', '-v', ...args]);
  const timer = setTimeout(() => child.kill(), timeoutMs);
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('received SUBACK')) onReady();
  });
  const messages = new Promise<string[]>((resolve) =>
    child.on('close', () => {
      clearTimeout(timer);
      resolve(
        out
          .split('\n')
          .filter((l) => l.length > 0 && !l.startsWith('Client ') && !l.startsWith('Subscribed')),
      );
    }),
  );
  return { ready, messages };
}
