/**
 * The servers a database has ever known as members (docs/ARCHITECTURE.md
 * "Membership changes"): every id its servers file listed, live or
 * `retired`, at any start or reload. Their ops are history, valid for good:
 * a server that no longer lists a retired server keeps the ops that server
 * made (acked messages) and still accepts them from its peers. Kept in
 * `meta` as a JSON list of ids.
 *
 * @example
 * ```ts
 * const known = noteKnownServers(store.db, ["a", "b", "d"]); // ["a", "b", "c", "d"] when c was listed once
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import { serverOf } from "../rules/incarnation.ts";

const KEY = "servers_known";

/**
 * The ids of the servers this database knew, or null when it keeps no
 * record yet (a database from before the record).
 */
export function readKnownServers(db: DatabaseSync): string[] | null {
  const row = db.prepare("SELECT v FROM meta WHERE k = ?").get(KEY) as { v: string } | undefined;
  if (row === undefined) return null;
  try {
    const ids = JSON.parse(row.v);
    return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Adds `ids` to the record and returns the whole set, sorted. A database
 * without a record starts it from the servers of the ops it holds: each of
 * them passed the origin check when it arrived, so none is junk, and a
 * retired server whose line went before this record existed keeps its ops.
 */
export function noteKnownServers(db: DatabaseSync, ids: Iterable<string>): string[] {
  const before = readKnownServers(db) ?? (db.prepare("SELECT DISTINCT origin FROM ops").all() as { origin: string }[]).map((r) => serverOf(r.origin));
  const all = [...new Set([...before, ...ids])].sort();
  if (before.length !== all.length || readKnownServers(db) === null) {
    db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)").run(KEY, JSON.stringify(all));
  }
  return all;
}
