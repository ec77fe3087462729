/**
 * The write transactions of a store and their way to the disk: BEGIN and
 * COMMIT on the store's connection, the server's own sync of the
 * write-ahead log under `--sync full` (lib/store/wal_sync.ts), and the
 * high-water mark written after each sync (lib/store/high_water.ts), which
 * may lag the database, never lead it. Store (lib/store/store.ts) owns one
 * and exposes its methods; the group commit (lib/server/commit.ts) drives
 * them. Private to lib/store/.
 *
 * @example
 * ```ts
 * const tx = new Transactions(db, () => ({ origin: "a", seq: 7 }));
 * tx.begin(); … tx.commitUnsynced();
 * tx.syncCommittedAsync((error) => error ?? reply()); // the loop goes on meanwhile
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import type { HighWater } from "./high_water.ts";
import type { WalSync } from "./wal_sync.ts";

/** The origin ops are made under and the last seq made under it. */
export type Mark = { origin: string; seq: number };

export class Transactions {
  #db: DatabaseSync;
  #mark: () => Mark;
  /** Runs before each BEGIN and COMMIT: counts kept in JavaScript reach their table (lib/store/kept_counts.ts notedCount). */
  #flush: () => void;
  /** The write-ahead log, which commits sync themselves under --sync full; null: SQLite's setting rules. */
  wal: WalSync | null = null;
  /** The high-water mark beside the database, when it has a path. */
  hwm: HighWater | null = null;

  constructor(db: DatabaseSync, mark: () => Mark, flush: () => void = () => {}) {
    this.#db = db;
    this.#mark = mark;
    this.#flush = flush;
  }

  /** Opens the write transaction unless one is open (IMMEDIATE: see Store.begin). */
  begin(): void {
    if (!this.#db.isTransaction) (this.#flush(), this.#db.exec("BEGIN IMMEDIATE"), this.wal?.begun());
  }

  /** Commits the open transaction, if any, and with `sync` (under --sync full) waits for the disk. */
  commit(sync: boolean): void {
    if (!this.#db.isTransaction) return;
    this.#flush();
    this.#db.exec("COMMIT");
    this.#durable(sync);
  }

  /** Commits the open transaction, if any, without waiting for the disk; `syncCommitted(Async)` must follow. */
  commitUnsynced(): void {
    if (this.#db.isTransaction) (this.#flush(), this.#db.exec("COMMIT"), this.wal?.committed(false));
  }

  /** Waits for the disk to hold what was committed, then notes the high-water mark. */
  syncCommitted(): void {
    this.#durable(true);
  }

  /**
   * Starts making what was committed durable and returns; `done` runs once
   * an fsync started now has finished (at once when nothing needs one), the
   * high-water mark noted as of now — the next batch may be writing by then.
   */
  syncCommittedAsync(done: (error: Error | null) => void): void {
    const { origin, seq } = this.#mark();
    const synced = (error: Error | null) => {
      if (!error) this.hwm?.note(origin, seq);
      done(error);
    };
    if (this.wal) this.wal.syncAsync(synced);
    else synced(null);
  }

  /** The mark is written after the sync: it may lag the database, never lead it. */
  #durable(sync: boolean): void {
    this.wal?.committed(sync);
    const { origin, seq } = this.#mark();
    this.hwm?.note(origin, seq);
  }

  /** Lets the log and the mark go (the caller closed the database). */
  close(): void {
    this.wal?.close();
    this.wal = null;
    this.hwm?.close();
  }
}
