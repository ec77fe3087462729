/**
 * The server's own sync of the write-ahead log under `--sync full` (SQLite
 * runs at NORMAL; see Store.open): after each commit that must be durable,
 * one fsync of `<db>-wal` — skipped when the transaction changed no row
 * (a batch of read-only requests, a long poll re-armed: it has nothing to
 * make durable) and no earlier commit left changes unsynced
 * (docs/PERFORMANCE_NOTES.md, change 3). Private to lib/store/.
 */
import { closeSync, fsyncSync, openSync } from "node:fs";
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class WalSync {
  #fd: number;
  #sync: (fd: number) => void;
  #total: StatementSync;
  #atBegin = 0;
  #unsynced = false;

  private constructor(db: DatabaseSync, fd: number, sync: (fd: number) => void) {
    this.#fd = fd;
    this.#sync = sync;
    this.#total = db.prepare("SELECT total_changes() AS n");
  }

  /** Holds the log of the database at `path` open, or null when there is none (SQLite then syncs every commit itself). */
  static open(db: DatabaseSync, path: string, sync: (fd: number) => void = fsyncSync): WalSync | null {
    try {
      return new WalSync(db, openSync(`${path}-wal`, "r"), sync);
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
      this.#unsynced ||= changed;
      return;
    }
    if (!changed && !this.#unsynced) return;
    this.#sync(this.#fd);
    this.#unsynced = false;
  }

  /** Lets the log file go. */
  close(): void {
    closeSync(this.#fd);
  }
}
