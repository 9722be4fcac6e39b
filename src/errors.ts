// The catalogue of operational errors. Every error Weir throws to a user carries a stable code
// (so programs can branch on it) and a message that says what was wrong and what to do about it.
// Protocol errors are not here: they are reason codes, mapped in src/protocol/reason-codes.ts.

export const ErrorCodes = {
  /** build/weir.wasm is missing: the project was not built. */
  ERR_WASM_MISSING: 'ERR_WASM_MISSING',
  /** The WASM instance's memory is full. */
  ERR_WASM_MEMORY: 'ERR_WASM_MEMORY',
  /** The WASM module trapped or aborted (a bug: please report it). */
  ERR_WASM_ABORT: 'ERR_WASM_ABORT',
  /** A packet given to the encoder cannot be encoded (missing or out-of-range field). */
  ERR_ENCODE: 'ERR_ENCODE',
  /** A configuration value (flag, environment variable, file, library option) is invalid. */
  ERR_CONFIG: 'ERR_CONFIG',
  /** A shard thread ended (crashed, was killed, or failed to start). */
  ERR_SHARD_EXIT: 'ERR_SHARD_EXIT',
  /** The broker is not running (listen() was not called, or close() was). */
  ERR_NOT_LISTENING: 'ERR_NOT_LISTENING',
  /** A listener could not open its port. */
  ERR_LISTEN: 'ERR_LISTEN',
  /** A topic name or filter given to the matcher is invalid. */
  ERR_TOPIC: 'ERR_TOPIC',
  /** The durable store could not be opened, read or written (the message names the path and the remedy). */
  ERR_STORE: 'ERR_STORE',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class WeirError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'WeirError';
    this.code = code;
  }
}
