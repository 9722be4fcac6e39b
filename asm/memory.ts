// Long-lived regions (rings, scratch areas, pools) are reserved from a bump heap above the
// module's static data, once at start-up or when a pool grows. Nothing on a hot path reserves:
// there is no free, so per-packet reservation would leak. We do not use the stub runtime's
// allocator because it traps when memory runs out; `reserve` returns 0 instead, so the JS side
// can say which limit was hit.

let top: usize = 0;

/** Reserve `size` bytes aligned to 16. Returns the address, or 0 when the memory is full. */
export function reserve(size: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
  const start = top;
  const end = (<u64>start) + (((<u64>size) + 15) & ~(<u64>15));
  const have = (<u64>memory.size()) << 16;
  if (end > have) {
    // Shared memories are created with initial == maximum (JS views keep their old length
    // after a grow), so growing is the rare path of an unshared test memory.
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = <usize>end;
  return start;
}

/** Bytes between the reservation top and the end of the current memory. */
export function memoryFree(): usize {
  const t = top == 0 ? (__heap_base + 15) & ~(<usize>15) : top;
  return ((<usize>memory.size()) << 16) - t;
}
