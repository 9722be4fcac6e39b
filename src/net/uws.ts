// uWebSockets.js, loaded once for the WebSocket and HTTP listeners. It is a CommonJS package with
// a native binary, hence the require.
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { WeirError } from '../errors.js';

const require = createRequire(import.meta.url);
export const uws = require('uWebSockets.js') as typeof UWS;
export type { UWS };

/**
 * The trufflesuite build silently falls back to a pure-JS App (without SSLApp) when its native
 * binary does not load; fail loudly instead, since the fallback is neither fast nor complete.
 */
export function assertNativeUws(): void {
  if (!String(uws.App).includes('[native code]')) {
    throw new WeirError(
      'ERR_LISTEN',
      'uWebSockets.js loaded its JavaScript fallback, not its native binary; WebSocket and HTTP listeners need ' +
        'the native build (Linux, macOS or Windows on x64/arm64 with glibc 2.27 or newer). Set --ws-port 0 and ' +
        '--http-port 0 to run without.',
    );
  }
}
