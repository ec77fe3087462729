/**
 * Scrubbing: text the server deletes (a message expunged by the retention
 * limit, lib/store/retention.ts; later, a message deleted on request) must
 * leave every file of the database, not just stop being listed. Two steps,
 * one for each file that could keep it:
 *
 * 1. `eraseOnDelete` (on the store's connection, from its open: _schema.ts): SQLite's
 *    `secure_delete` overwrites deleted cells and freed pages with zeros, so
 *    the new page images hold no trace of the text.
 * 2. `truncateLog` (after the commit that deleted it; the checkpoint worker
 *    does it, lib/store/checkpointer.ts `scrub`): the write-ahead log still
 *    holds the old page images, which passive checkpoints copy but never
 *    clear; a TRUNCATE checkpoint copies the log into the database file and
 *    cuts the log to zero bytes. (`-shm` is an index of the log: page numbers,
 *    no content.)
 *
 * The store notes a deletion (`Store.erasures`); server.ts asks the
 * checkpointer to scrub after each commit that had one.
 * tests/scrub_test.ts reads the bytes of the three files.
 *
 * @example
 * ```ts
 * eraseOnDelete(db);
 * db.exec("UPDATE ops SET msg = '' WHERE …"); // committed
 * truncateLog(db); // true: the text is in no file
 * ```
 */
import type { DatabaseSync } from "node:sqlite";

/** Deleted content is overwritten with zeros from now on, on this connection. */
export function eraseOnDelete(db: DatabaseSync): void {
  db.exec("PRAGMA secure_delete = ON");
}

/**
 * Copies the write-ahead log into the database file and truncates it to
 * zero bytes. False when a reader or a writer kept it from finishing (the
 * connection's busy timeout ran out): try again later.
 */
export function truncateLog(db: DatabaseSync): boolean {
  const r = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number } | undefined;
  return r !== undefined && r.busy === 0;
}

/** Whether text was deleted since the last `take`: the store notes deletions, and after a commit the server scrubs. */
export class Erasures {
  #any = false;

  /** Text was deleted in the open transaction. */
  note(): void {
    this.#any = true;
  }

  /** True when text was deleted since the last call (call it after a commit: then scrub). */
  take(): boolean {
    const any = this.#any;
    this.#any = false;
    return any;
  }
}
