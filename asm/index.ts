// The ABI of weir.wasm: the only exports. One module holds the codec and the topic matcher so
// that both work on bytes in the same (shared) memory: a topic decoded from a ring is matched
// in place, never copied.
export * from './memory';
export * from './codec/index';
export * from './topic/index';
