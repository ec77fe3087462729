/**
 * The `ops` table: every operation this server has, in the order it was
 * applied here (`aseq`, a causal order). Private to lib/store/: Store keeps
 * the vector and applies ops; this reads and writes rows.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Op } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { fromEntries, get } from "../wire/vector.ts";
import { opFromRow, type OpRow, opToParams } from "./_ops.ts";

/** Rows read per query when listing ops after a vector. */
const SCAN_BATCH = 64;

/** The INSERT of one op, parameters in opToParams's order (bench/op_sql.ts times it alone). */
export const OPS_INSERT = "INSERT INTO ops (origin, seq, kind, deps, at, session, room, user, tag, msg, ttl, conf, re) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";

export class OpLogTable {
  #s: Record<"vector" | "insert" | "has" | "aseq" | "from", StatementSync>;

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      vector: p("SELECT origin, max(seq) AS n FROM ops GROUP BY origin"),
      insert: p(OPS_INSERT),
      has: p("SELECT 1 AS x FROM ops WHERE origin = ? AND seq = ?"),
      aseq: p("SELECT aseq FROM ops WHERE origin = ? AND seq = ?"),
      from: p("SELECT * FROM ops WHERE aseq >= ? ORDER BY aseq LIMIT ? + 0"),
    };
  }

  /** For each origin, the highest seq stored. */
  vector(): Vector {
    return fromEntries((this.#s.vector.all() as { origin: string; n: number }[]).map((r) => [r.origin, r.n]));
  }

  /** Stores an op; returns its place in the application order. */
  insert(op: Op): number {
    return Number(this.#s.insert.run(...opToParams(op)).lastInsertRowid);
  }

  /**
   * Removes every op of an origin for which `isOrigin` is false, with the
   * messages and the sessions (and their memberships) those ops made;
   * returns how many ops went. (Junk a server accepted before it refused
   * ops of unknown origins; the rows of other ops are not touched.)
   */
  dropForeign(db: DatabaseSync, isOrigin: (origin: string) => boolean): number {
    let n = 0;
    for (const { origin } of db.prepare("SELECT DISTINCT origin FROM ops").all() as { origin: string }[]) {
      if (isOrigin(origin)) continue;
      db.prepare("DELETE FROM members WHERE session IN (SELECT id FROM sessions WHERE korigin = ?)").run(origin);
      db.prepare("DELETE FROM sessions WHERE korigin = ?").run(origin);
      db.prepare("DELETE FROM messages WHERE origin = ?").run(origin);
      n += Number(db.prepare("DELETE FROM ops WHERE origin = ?").run(origin).changes);
    }
    return n;
  }

  has(origin: string, seq: number): boolean {
    return this.#s.has.get(origin, seq) !== undefined;
  }

  /** Up to `limit` ops with `seq > v[origin]`, in application order; `local` is the stored vector. */
  after(local: Vector, v: Vector, limit: number): Op[] {
    let start = Infinity;
    for (const [origin, n] of local) {
      if (get(v, origin) >= n) continue;
      const row = this.#s.aseq.get(origin, get(v, origin) + 1) as { aseq: number } | undefined;
      if (row) start = Math.min(start, row.aseq);
    }
    const out: Op[] = [];
    while (start !== Infinity && out.length < limit) {
      const rows = this.#s.from.all(start, SCAN_BATCH) as OpRow[];
      for (const r of rows) {
        if (r.seq > get(v, r.origin) && out.length < limit) out.push(opFromRow(r));
      }
      if (rows.length < SCAN_BATCH) break;
      start = rows[rows.length - 1].aseq + 1;
    }
    return out;
  }
}
