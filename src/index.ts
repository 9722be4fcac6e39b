// Weir's public library API.
export { Broker, type BrokerOptions, type BrokerPorts, createBroker } from './broker.js';
export { helpText, OPTIONS, resolveConfig, type WeirConfig } from './config.js';
export { type ErrorCode, ErrorCodes, WeirError } from './errors.js';
export type { AuthHook, AuthResult, ConnectInfo } from './net/gateway.js';
export { Codec, type DecodeOptions, type ForwardOptions, PacketView } from './protocol/codec.js';
export type * from './protocol/packets.js';
export { PacketType } from './protocol/packets.js';
export { ReasonCode } from './protocol/reason-codes.js';
export {
  parseShared,
  type SubscriptionEntry,
  SubscriptionIndex,
  validateTopicFilter,
  validateTopicName,
} from './protocol/topic.js';
export { compileModule, createMemory, instantiate, type WasmInstance } from './protocol/wasm.js';
