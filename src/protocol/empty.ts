// Emptying the arrays, Sets and Maps that the per-packet paths reuse. Setting an array's length is
// a call into V8's runtime even when nothing changes, and clearing a Set or a Map allocates a new
// table even when it is empty: about 60 ns and garbage each, against 5–9 ns for the check
// (5M iterations of a plain node loop). On the PUBLISH path the collection is nearly always empty
// (8 % of a shard's busy time in qos0-pairs went to one such `length = 0`, bench/HISTORY.md, "An
// empty array emptied for every packet (771b75c)"), so the check comes first.
// What the check cannot help: emptying a long-lived Set or Map that holds something (by clear()
// or by deleting each entry) makes V8 allocate its new table in the old generation, 120–160 B that
// only a full collection frees (an old Set of two entries, 20k iterations). So a collection that a
// per-packet or per-batch path empties while it holds something is an array (emptied here; its
// next backing store is young garbage) or a table stamped per batch (src/shard/batch-index.ts:
// the per-batch Map it replaced grew a shard's old space by 1 MB a second at lat-10k). Sets and
// Maps here are for what is rarely non-empty when emptied.

/** Empty `list`, touching it only if it holds something. */
export function emptyArray(list: unknown[]): void {
  if (list.length !== 0) list.length = 0;
}

/** Empty a Set or a Map, touching it only if it holds something. */
export function emptyCollection(c: { readonly size: number; clear(): void }): void {
  if (c.size !== 0) c.clear();
}
