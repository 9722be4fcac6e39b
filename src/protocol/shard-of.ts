// Which shard owns a client ID. The gateway routes a CONNECT with it and a shard restoring
// sessions from the store keeps those it owns, so both threads must agree: one function.

/** FNV-1a over the client ID's UTF-16 code units: stable, cheap, and the same on every start. */
export function shardOf(clientId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) {
    h ^= clientId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
