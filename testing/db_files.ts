/**
 * A server's database as files, for tests and benchmarks that look at
 * what reaches the disk: the `.sqlite`, its write-ahead log `-wal` and
 * the log's index `-shm` (whichever exist).
 *
 * @example
 * ```ts
 * dbSize(srv.db);                      // bytes of .sqlite and -wal
 * dbFileBytes(srv.db).includes("hi");  // is the text in any of the files?
 * ```
 */
import { Buffer } from "node:buffer";
import { existsSync, readFileSync, statSync } from "node:fs";

const files = (db: string) => [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));

/** The bytes of the database's files, one after another. */
export function dbFileBytes(db: string): Buffer {
  return Buffer.concat(files(db).map((f) => readFileSync(f)));
}

/** Which of `texts` occur in the database's files. */
export function textsInDb(db: string, texts: string[]): string[] {
  const bytes = files(db).map((f) => readFileSync(f));
  return texts.filter((t) => bytes.some((b) => b.includes(t)));
}

/** Bytes of the database file and its write-ahead log (what grows on disk). */
export function dbSize(db: string): number {
  return files(db).filter((f) => !f.endsWith("-shm")).reduce((a, f) => a + statSync(f).size, 0);
}
