/**
 * Gives the JavaScript heap back to the OS once a busy period is over. V8
 * grows its young generation to tens of MB under a high allocation rate
 * (every request allocates its reply, rows, strings) and keeps it until a
 * memory-reducing collection, so a server that served a burst and then sits
 * with thousands of idle sessions would hold 100+ MB of empty heap. One
 * "last resort" collection (which also shrinks the young generation) while
 * the server is idle returns it; it takes a few ms per 10 MB of live heap and
 * is never run under load.
 *
 * @example
 * ```ts
 * if (heapSlack() > 16 << 20) trimHeap();
 * ```
 */
import v8 from "node:v8";
import vm from "node:vm";

type Gc = (options?: { type?: string; execution?: string; flavor?: string }) => void;

let gcFn: Gc | null | undefined;

/** V8's gc(), exposed once (`--expose-gc` set at run time applies to new contexts); null if the runtime refuses. */
function gc(): Gc | null {
  if (gcFn !== undefined) return gcFn;
  try {
    const global = (globalThis as { gc?: Gc }).gc;
    if (typeof global === "function") gcFn = global;
    else {
      v8.setFlagsFromString("--expose-gc");
      const f = vm.runInNewContext("gc") as unknown;
      gcFn = typeof f === "function" ? f as Gc : null;
    }
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Bytes of heap the runtime holds beyond what is in use. */
export function heapSlack(): number {
  const h = v8.getHeapStatistics();
  return h.total_heap_size - h.used_heap_size;
}

/** Runs a memory-reducing full collection; false when gc is not available. */
export function trimHeap(): boolean {
  const f = gc();
  if (!f) return false;
  f({ type: "major", execution: "sync", flavor: "last-resort" });
  return true;
}
