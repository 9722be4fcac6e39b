// Emptying the arrays, Sets and Maps that the per-packet paths reuse. Setting an array's length is
// a call into V8's runtime even when nothing changes, and clearing a Set or a Map allocates a new
// table even when it is empty: about 60 ns and garbage each, against 5–9 ns for the check
// (5M iterations of a plain node loop). On the PUBLISH path the collection is nearly always empty
// (8 % of a shard's busy time in qos0-pairs went to one such `length = 0`, bench/HISTORY.md, "An
// empty array emptied for every packet (771b75c)"), so the check comes first.
// A collection that is emptied while it holds something on every packet or batch needs more than
// this: a long-lived Set or Map gets its new table in V8's old generation, which only a full
// collection frees (src/shard/batch-index.ts replaced the one that did that per batch).

/** Empty `list`, touching it only if it holds something. */
export function emptyArray(list: unknown[]): void {
  if (list.length !== 0) list.length = 0;
}

/** Empty a Set or a Map, touching it only if it holds something. */
export function emptyCollection(c: { readonly size: number; clear(): void }): void {
  if (c.size !== 0) c.clear();
}
