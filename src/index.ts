// Weir's public library API. The broker itself (createBroker) arrives with the broker issue; today
// the package exposes the WASM packet codec and topic matcher it is built on.
export { type ErrorCode, ErrorCodes, WeirError } from './errors.js';
export { compileModule, createMemory, instantiate, type WasmInstance } from './protocol/wasm.js';
