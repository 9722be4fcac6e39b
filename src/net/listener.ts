// What every listener (TCP, TLS, WebSocket, HTTP) is to the broker, and the one wording of
// "a listener could not open".
import { WeirError } from '../errors.js';

export interface Listener {
  readonly port: number;
  close(): void;
}

/** `code` is the errno name (EADDRINUSE ...); `detail` is said when there is no better hint. */
export function listenError(
  what: string,
  host: string,
  port: number,
  code: string,
  detail = code,
): WeirError {
  const hint =
    code === 'EADDRINUSE'
      ? `port ${port} is in use by another program; choose another port or stop that program`
      : code === 'EACCES'
        ? `not allowed to listen on port ${port}; ports below 1024 need privileges`
        : detail;
  return new WeirError('ERR_LISTEN', `cannot open the ${what} listener on ${host}:${port}: ${hint}`);
}
