/**
 * The server's own sync of the write-ahead log under `--sync full` (SQLite
 * runs at NORMAL; see Store.open): after each commit that must be durable,
 * one fsync of `<db>-wal` — skipped when the transaction changed no row
 * (a batch of read-only requests, a long poll re-armed: it has nothing to
 * make durable) and no earlier commit left changes unsynced
 * (docs/PERFORMANCE_NOTES.md, change 3). `syncAsync` runs that fsync on
 * libuv's thread pool (Deno: an async op), so the event loop goes on
 * while the disk works (the pipelined group commit, lib/server/commit.ts).
 * Private to lib/store/.
 */
import { closeSync, fsync, fsyncSync, openSync } from "node:fs";
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Flushes a file and calls back (with the error, if it failed): `fs.fsync`'s shape. */
export type AsyncSync = (fd: number, done: (error: Error | null) => void) => void;

/** `sync` run at once, as an AsyncSync (tests that count syncs pass a synchronous one). */
export function asAsync(sync: (fd: number) => void): AsyncSync {
  return (fd, done) => {
    try {
      sync(fd);
    } catch (e) {
      return done(e as Error);
    }
    done(null);
  };
}

export class WalSync {
  #fd: number;
  #sync: (fd: number) => void;
  #syncAsync: AsyncSync;
  #total: StatementSync;
  #atBegin = 0;
  #unsynced = false;
  /** Bumped by every commit that leaves changes unsynced: a sync clears `#unsynced` only if none came while it ran. */
  #generation = 0;
  /** Asynchronous syncs running; the descriptor is closed only once they are done. */
  #running = 0;
  #closed = false;

  private constructor(db: DatabaseSync, fd: number, sync: (fd: number) => void, syncAsync: AsyncSync) {
    this.#fd = fd;
    this.#sync = sync;
    this.#syncAsync = syncAsync;
    this.#total = db.prepare("SELECT total_changes() AS n");
  }

  /** Holds the log of the database at `path` open, or null when there is none (SQLite then syncs every commit itself). */
  static open(db: DatabaseSync, path: string, sync: (fd: number) => void = fsyncSync, syncAsync?: AsyncSync): WalSync | null {
    try {
      return new WalSync(db, openSync(`${path}-wal`, "r"), sync, syncAsync ?? (sync === fsyncSync ? fsync : asAsync(sync)));
    } catch {
      return null;
    }
  }

  #changes(): number {
    return (this.#total.get() as { n: number }).n;
  }

  /** A transaction began. */
  begun(): void {
    this.#atBegin = this.#changes();
  }

  /** It committed: with `sync`, waits for the disk unless nothing is left to make durable. */
  committed(sync: boolean): void {
    const changed = this.#changes() !== this.#atBegin;
    if (!sync) {
      if (changed) (this.#unsynced = true, this.#generation++);
      return;
    }
    if (!changed && !this.#unsynced) return;
    this.#sync(this.#fd);
    this.#unsynced = false;
  }

  /**
   * Makes what was committed durable without blocking the event loop (the
   * commits went through `committed(false)`); `done` runs once the fsync,
   * started now, has finished — at once when nothing is left to sync.
   */
  syncAsync(done: (error: Error | null) => void): void {
    if (!this.#unsynced) return done(null);
    const generation = this.#generation;
    this.#running++;
    this.#syncAsync(this.#fd, (error) => {
      this.#running--;
      if (!error && generation === this.#generation) this.#unsynced = false;
      if (this.#closed && this.#running === 0) closeSync(this.#fd);
      done(error);
    });
  }

  /** Lets the log file go (once no asynchronous sync is running on it). */
  close(): void {
    this.#closed = true;
    if (this.#running === 0) closeSync(this.#fd);
  }
}
