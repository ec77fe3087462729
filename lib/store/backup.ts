/**
 * An online backup of a server's database (`npm run backup`): SQLite's
 * backup API copies a consistent snapshot while the server keeps writing
 * (write-ahead log: the copy's reader blocks no writer). The copy is
 * written beside its destination and renamed into place, so a half-written
 * backup never has the destination's name; it carries a mark (`meta`
 * "backup") that makes a server started on it write under a new
 * incarnation (lib/rules/incarnation.ts), since the server may have written
 * more after the copy. The reply key (`<db>.key`) is copied beside it.
 *
 * @example
 * ```ts
 * await backupDatabase("data/a.sqlite", "/backups/a-2026-12-07.sqlite", Date.now());
 * // { origin: "a", ops: 1234, key: true }
 * ```
 */
import { copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { backup, DatabaseSync } from "node:sqlite";

/** The `meta` key of the mark a backup carries until a server starts on it. */
export const BACKUP_MARK = "backup";

/** The mark of a restored backup ("a at 2026-12-07T05:00:00.000Z"), or null when the database is not one. */
export function readBackupMark(db: DatabaseSync): string | null {
  const row = db.prepare("SELECT v FROM meta WHERE k = ?").get(BACKUP_MARK) as { v: string } | undefined;
  return row?.v ?? null;
}

/** Removes the mark (the server chose its origin: the restore is over). */
export function clearBackupMark(db: DatabaseSync): void {
  db.prepare("DELETE FROM meta WHERE k = ?").run(BACKUP_MARK);
}

/** What a backup holds: the origin it was writing under, how many ops its log has, and whether the reply key came along. */
export type BackupResult = { origin: string | null; ops: number; key: boolean };

/** Copies the database at `db` (running or not) to `out`, marked as a backup; throws a readable Error and leaves no `out` on failure. */
export async function backupDatabase(db: string, out: string, now: number): Promise<BackupResult> {
  if (!existsSync(db)) throw new Error(`no database at ${db}`);
  if (existsSync(out)) throw new Error(`${out} exists: give a new file (a backup never overwrites one)`);
  const partial = `${out}.partial`;
  rmSync(partial, { force: true });
  const source = new DatabaseSync(db, { timeout: 5000 });
  try {
    // All pages in one step: one read transaction, so the copy is one moment of the database.
    await backup(source, partial, { rate: 2 ** 31 - 1 });
  } finally {
    source.close();
  }
  let result: BackupResult;
  const copy = new DatabaseSync(partial);
  try {
    const row = copy.prepare("SELECT v FROM meta WHERE k = 'origin'").get() as { v: string } | undefined;
    const origin = row?.v ?? null;
    copy.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)").run(BACKUP_MARK, `${origin ?? "a new database"} at ${new Date(now).toISOString()}`);
    const ops = (copy.prepare("SELECT count(*) AS n FROM ops").get() as { n: number }).n;
    result = { origin, ops, key: false };
  } catch (e) {
    copy.close();
    rmSync(partial, { force: true });
    throw new Error(`${db} does not look like a DistChat database: ${(e as Error).message}`);
  }
  copy.close();
  renameSync(partial, out);
  if (existsSync(`${db}.key`)) {
    copyFileSync(`${db}.key`, `${out}.key`);
    result.key = true;
  }
  return result;
}
