/**
 * Background checkpoints: a worker thread with its own connection to the
 * database copies the write-ahead log into the database file (syncing
 * both) every 100–1,000 ms as the log grows (lib/store/checkpoint_pace.ts;
 * every `everyMs` when given), so the server's own thread never stops for one.
 * Done by SQLite after a commit (its auto-checkpoint, every 1,000 pages),
 * a checkpoint stalled the event loop for 4–6 ms about every 0.8 s at 200
 * adds/s, and those stalls alone set the p99 of cross-server delivery
 * (bench/latency.ts). The auto-checkpoint stays on at AUTOCHECKPOINT_PAGES
 * as a safety net should the worker fall behind or fail; the checkpoint
 * also syncs commits that skipped the wait (Store.commit(false)).
 *
 * `scrub` has the worker truncate the log after a commit that deleted text
 * (lib/store/scrub.ts), so the text leaves the `-wal` file too; it retries
 * every turn until it can, and logs a line when that takes over `stuckMs`
 * (a reader held open) or when the server's own connection could not.
 *
 * @example
 * ```ts
 * const cp = startCheckpointer(store, "data/a.sqlite", (line) => console.error(line));
 * await cp.scrub(); // after a commit that expunged messages: true once the log is empty
 * await cp.stop(); // before store.close()
 * ```
 */
import { Worker } from "node:worker_threads";
import type { Store } from "./store.ts";
import { truncateLog } from "./scrub.ts";

/** Auto-checkpoint size while the worker runs, in pages (4 KiB each): 32 MiB of log. */
export const AUTOCHECKPOINT_PAGES = 8192;
/** A scrub not done after this long is logged (it keeps being retried), ms. */
export const SCRUB_STUCK_MS = 5_000;
/** SQLite's default, restored when the worker fails. */
const SQLITE_DEFAULT_PAGES = 1000;

export type Checkpointer = {
  /**
   * Copies the write-ahead log into the database file and truncates it, in
   * the worker (retrying every turn while the server's writes are in the
   * way); true once done, false if the checkpointer stopped first. With the
   * worker gone, the server's own connection does it at once.
   */
  scrub(): Promise<boolean>;
  /** Ends the worker (after a checkpoint in progress) and closes its connection. */
  stop(): Promise<void>;
};

/** Sets SQLite's auto-checkpoint size of the store's connection, in pages. */
function setAutoCheckpoint(store: Store, pages: number): void {
  store.db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.trunc(pages))}`);
}

/** Starts the worker for the database at `path` that `store` has open; `everyMs` fixes its period (tests), else it is paced. */
export function startCheckpointer(store: Store, path: string, log: (line: string) => void, everyMs?: number, stuckMs = SCRUB_STUCK_MS): Checkpointer {
  const worker = new Worker(new URL("./_checkpoint_worker.ts", import.meta.url), { workerData: { path, everyMs, stuckMs } });
  (worker as { unref?: () => void }).unref?.();
  setAutoCheckpoint(store, AUTOCHECKPOINT_PAGES);
  /** Checkpoints are ours no more (stopping, or the worker failed); the worker thread has ended. */
  let handedBack = false;
  let ended = false;
  /** Scrubs asked for and not yet done, by number (the worker answers with the last number it had when it truncated). */
  const scrubs = new Map<number, (done: boolean) => void>();
  let asked = 0;
  const scrubbed = (done: boolean, upTo = asked) => {
    for (const [n, r] of scrubs) {
      if (n > upTo) continue;
      scrubs.delete(n);
      r(done);
    }
  };
  /** The server's own connection truncates the log (the worker is gone). */
  const scrubHere = (): boolean => {
    let why = "a reader kept the log busy";
    try {
      if (truncateLog(store.db)) return true;
    } catch (e) {
      why = (e as Error).message; // closed, or busy: the next scrub tries again
    }
    log(`could not truncate the write-ahead log after a deletion (${why}); deleted text may stay in it until the next scrub`);
    return false;
  };
  const fail = (why: string) => {
    if (handedBack) return;
    handedBack = true;
    log(`background checkpoints stopped (${why}); checkpointing after commits instead`);
    try {
      setAutoCheckpoint(store, SQLITE_DEFAULT_PAGES);
    } catch { /* the store is closed: nothing left to checkpoint */ }
    if (scrubs.size > 0) scrubbed(scrubHere());
  };
  const done = new Promise<void>((resolve) => {
    worker.on("message", (m: "stopped" | { scrubbed: number } | { stuck: string } | { failed: string }) => {
      if (m === "stopped") resolve();
      else if ("scrubbed" in m) scrubbed(true, m.scrubbed);
      else if ("stuck" in m) log(`the write-ahead log is not truncated yet after a deletion (${m.stuck}); still trying every turn`);
      else fail(m.failed);
    });
    worker.on("error", (e) => fail((e as Error).message));
    worker.on("exit", () => {
      ended = true;
      fail("its thread ended");
      resolve();
    });
  });
  return {
    scrub() {
      if (handedBack) return Promise.resolve(scrubHere());
      return new Promise<boolean>((resolve) => {
        scrubs.set(++asked, resolve);
        worker.postMessage({ scrub: asked });
      });
    },
    async stop() {
      handedBack = true;
      if (!ended) worker.postMessage("stop");
      await done;
      scrubbed(false);
      await worker.terminate();
    },
  };
}
