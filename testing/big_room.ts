/**
 * A room of many messages, made fast for tests and benchmarks: the first ops
 * through the store (a session, its room), then the messages straight into
 * the tables in bulk — the op log, `messages` and the search index — as
 * `appendLocal` would write them on a one-server cluster (deps "0", conflict
 * key = seq, dseq = the op's aseq, visible). 100,000 messages take about a
 * second; UDP adds would take minutes.
 *
 * @example
 * ```ts
 * fillRoom("data/a.sqlite", { room: "big", count: 100_000, text: (i) => `message ${i}` });
 * // then start a server on that database
 * ```
 */
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { Store } from "../lib/store/store.ts";
import { SearchIndex } from "../lib/store/search.ts";
import { nameKey } from "../lib/wire/names.ts";

export type FillOptions = {
  room: string;
  count: number;
  /** The server id the database is for (default "a"). */
  origin?: string;
  /** Text of message i (1-based): an SQL expression over `i` (default: a hundred bytes naming i). */
  textSql?: string;
  /** Messages whose text is given, instead of the default, by their number. */
  special?: Map<number, string>;
};

const CHUNK = 100_000;

/** Fills room `o.room` of the database at `db` (created if absent) with `o.count` messages; returns the filler's user name. */
export function fillRoom(db: string, o: FillOptions): string {
  const origin = o.origin ?? "a";
  const store = Store.open(db, origin, { sync: "normal" });
  if (store.storedOrigin() === null) store.setOrigin(origin);
  const session = randomBytes(32).toString("hex");
  const user = `filler${randomBytes(3).toString("hex")}`;
  const at = Date.now() - 60_000;
  store.begin();
  store.appendLocal({ kind: "login", session, userName: user, ttl: 300 }, at);
  if (store.rooms.name(o.room) === null) store.appendLocal({ kind: "open", session, groupName: o.room }, at);
  else store.appendLocal({ kind: "join", session, groupName: o.room }, at);
  store.commit();
  const base = Number(store.vector().get(origin) ?? 0);
  const token = new SearchIndex(store.db, false).roomToken(nameKey(o.room));
  store.close();
  const sql = new DatabaseSync(db);
  sql.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  const text = o.textSql ?? "'stored message number ' || i || ' of a big room, padded to about a hundred bytes of plain text.'";
  for (let from = 0; from < o.count; from += CHUNK) {
    const n = Math.min(CHUNK, o.count - from);
    sql.exec("BEGIN");
    sql.prepare(
      `WITH RECURSIVE k(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM k WHERE i < ?)
       INSERT INTO ops (origin, seq, kind, deps, at, session, room, user, tag, msg, ttl)
       SELECT ?, CAST(? AS INTEGER) + i, 'msg', '0', CAST(? AS INTEGER) + i / 100, ?, ?, ?, 'f' || i, ${text}, NULL FROM k`,
    ).run(from + 1, from + n, origin, base, at, session, o.room, user);
    for (const [i, t] of o.special ?? []) {
      if (i > from && i <= from + n) sql.prepare("UPDATE ops SET msg = ? WHERE origin = ? AND seq = ?").run(t, origin, base + i);
    }
    sql.prepare(
      `INSERT INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum)
       SELECT ?, aseq, origin, seq, session, tag, 0, seq FROM ops WHERE origin = ? AND kind = 'msg' AND seq > ? ORDER BY aseq`,
    ).run(nameKey(o.room), origin, base + from);
    sql.prepare(
      `INSERT INTO search (rowid, body) SELECT aseq, ? || ' ' || msg FROM ops WHERE origin = ? AND kind = 'msg' AND seq > ? ORDER BY aseq`,
    ).run(token, origin, base + from);
    // Indexed up to here (lib/store/search.ts: the server indexes what comes after its mark).
    sql.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('search_upto', (SELECT max(aseq) FROM ops))").run();
    sql.exec("COMMIT");
  }
  sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sql.close();
  return user;
}
