/**
 * A worker thread that holds the write lock of a database for a while, as
 * the checkpoint worker does during a TRUNCATE checkpoint (a scrub:
 * lib/store/scrub.ts): for tests of what the server's writes do meanwhile.
 * Posts "locked" once it holds the lock and "released" after `holdMs`.
 *
 * @example
 * ```ts
 * const w = holdWriteLock("data/a.sqlite", 300);
 * await w.locked; // store.begin() now waits for it (busy timeout), then writes
 * await w.released;
 * ```
 */
import { Worker } from "node:worker_threads";

/** Starts the holder; `locked` and `released` settle as it posts them. */
export function holdWriteLock(path: string, holdMs: number): { locked: Promise<void>; released: Promise<void> } {
  const w = new Worker(new URL("./_lock_holder_worker.ts", import.meta.url), { workerData: { path, holdMs } });
  const seen = (what: string) =>
    new Promise<void>((resolve, reject) => {
      w.on("message", (m) => m === what && resolve());
      w.on("error", reject);
    });
  const locked = seen("locked");
  const released = seen("released").then(() => void w.terminate());
  return { locked, released };
}
