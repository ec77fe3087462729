/**
 * Row counts that SQLite keeps up to date as rows change, so reading one
 * costs the same with a million rows as with ten (`/metrics` used to run
 * `count(*)` over every message at each scrape: 57 ms at 1M). A TEMP table
 * of this connection holds each count, set by one `count(*)` at open;
 * TEMP triggers add and subtract as rows matching the predicate are
 * inserted, deleted or updated in or out of it. Being SQL, they see every
 * writer of the connection (retention, dropped origins, hides) and roll
 * back with the transaction. A table inserted into in bulk (`messages`)
 * has its inserts noted by its writer instead (`notedCount`). Private to
 * lib/store/.
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
  return keep(db, table, where, true).read;
}

/**
 * A kept count whose inserted rows its one writer notes itself (`inserted`,
 * for each row it inserts that matches), not a trigger per row: `messages`'
 * insert trigger added ~30% to the SQL of a caught-up message (3–4 µs of
 * CPU under load; docs/PERFORMANCE_NOTES.md §3e). Deletes and updates still
 * count by trigger. Rows noted in a transaction reach the count in one
 * UPDATE at `flush`, which the store runs before each BEGIN and COMMIT
 * (lib/store/transactions.ts); reads add what is noted and not yet flushed.
 * Noted rows left over once no transaction is open (a ROLLBACK, or a COMMIT
 * that did not flush) are counted again by a scan, so the count stays
 * exact; a row inserted outside any transaction is added at once.
 *
 * @example
 * ```ts
 * const visible = notedCount(db, "messages", (row) => `${row}.hidden = 0`);
 * insert.run(…); visible.inserted(); // after inserting a matching row
 * visible.flush();                   // before COMMIT
 * ```
 */
export function notedCount(db: DatabaseSync, table: string, where: (row: string) => string = () => "1"): NotedCount {
  const kept = keep(db, table, where, false);
  let noted = 0;
  const flush = () => {
    if (noted === 0) return;
    if (db.isTransaction) kept.add(noted);
    else kept.recount();
    noted = 0;
  };
  return {
    read: () => {
      if (noted !== 0 && !db.isTransaction) flush();
      return kept.read() + noted;
    },
    inserted: () => {
      if (db.isTransaction) noted++;
      else kept.add(1);
    },
    flush,
  };
}

/** A count kept with its inserts noted by the writer (see notedCount). */
export type NotedCount = {
  /** The count, with the rows noted in the open transaction. */
  read(): number;
  /** One row matching the count was inserted (call after the INSERT). */
  inserted(): void;
  /** Adds the rows noted to the count (before BEGIN and COMMIT). */
  flush(): void;
};

/** The TEMP table's row of `table`'s count, its triggers (the insert trigger only with `onInsert`), and its statements. */
function keep(db: DatabaseSync, table: string, where: (row: string) => string, onInsert: boolean) {
  const name = `kept_${table}`;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS kept_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
  const count = db.prepare(`INSERT OR REPLACE INTO kept_counts (name, n) SELECT ?, count(*) FROM main.${table} AS r WHERE ${where("r")}`);
  count.run(name);
  const add = (delta: string) => `UPDATE kept_counts SET n = n + ${delta} WHERE name = '${name}'`;
  db.exec(`
    ${onInsert ? "" : `DROP TRIGGER IF EXISTS temp.${name}_insert;`}
    ${onInsert ? `CREATE TEMP TRIGGER IF NOT EXISTS ${name}_insert AFTER INSERT ON main.${table} WHEN ${where("NEW")} BEGIN ${add("1")}; END;` : ""}
    CREATE TEMP TRIGGER IF NOT EXISTS ${name}_delete AFTER DELETE ON main.${table} WHEN ${where("OLD")} BEGIN ${add("-1")}; END;
    CREATE TEMP TRIGGER IF NOT EXISTS ${name}_update AFTER UPDATE ON main.${table} WHEN (${where("OLD")}) <> (${where("NEW")})
      BEGIN ${add(`CASE WHEN ${where("NEW")} THEN 1 ELSE -1 END`)}; END;`);
  const read = db.prepare("SELECT n FROM kept_counts WHERE name = ?");
  const addBy = db.prepare("UPDATE kept_counts SET n = n + ? WHERE name = ?");
  return {
    read: () => Number((read.get(name) as { n: number }).n),
    add: (n: number) => void addBy.run(n, name),
    recount: () => void count.run(name),
  };
}
