/**
 * Row counts that SQLite keeps up to date as rows change, so reading one
 * costs the same with a million rows as with ten (`/metrics` used to run
 * `count(*)` over every message at each scrape: 57 ms at 1M). A TEMP table
 * of this connection holds each count, set by one `count(*)` at open;
 * TEMP triggers add and subtract as rows matching the predicate are
 * inserted, deleted or updated in or out of it. Being SQL, they see every
 * writer of the connection (retention, dropped origins, hides) and roll
 * back with the transaction. Private to lib/store/.
 *
 * @example
 * ```ts
 * const visible = keptCount(db, "messages", (row) => `${row}.hidden = 0`);
 * visible(); // one indexed row read
 * ```
 */
import type { DatabaseSync } from "node:sqlite";

/**
 * Keeps the count of rows of `table` for which `where(row)` holds
 * (`row` is the alias, NEW or OLD); returns its reader.
 */
export function keptCount(db: DatabaseSync, table: string, where: (row: string) => string = () => "1"): () => number {
  const name = `kept_${table}`;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS kept_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
  db.prepare(`INSERT OR REPLACE INTO kept_counts (name, n) SELECT ?, count(*) FROM main.${table} AS r WHERE ${where("r")}`).run(name);
  const add = (delta: string) => `UPDATE kept_counts SET n = n + ${delta} WHERE name = '${name}'`;
  db.exec(`
    CREATE TEMP TRIGGER IF NOT EXISTS ${name}_insert AFTER INSERT ON main.${table} WHEN ${where("NEW")} BEGIN ${add("1")}; END;
    CREATE TEMP TRIGGER IF NOT EXISTS ${name}_delete AFTER DELETE ON main.${table} WHEN ${where("OLD")} BEGIN ${add("-1")}; END;
    CREATE TEMP TRIGGER IF NOT EXISTS ${name}_update AFTER UPDATE ON main.${table} WHEN (${where("OLD")}) <> (${where("NEW")})
      BEGIN ${add(`CASE WHEN ${where("NEW")} THEN 1 ELSE -1 END`)}; END;`);
  const read = db.prepare("SELECT n FROM kept_counts WHERE name = ?");
  return () => Number((read.get(name) as { n: number }).n);
}
