/**
 * What a name's previous session was shown, as far as the replicated log
 * tells (docs/IRC.md "Failover"): nothing is stored for it. The newest
 * session of a name other than a given one, where it was made, and — when
 * it ended with a logout — the full vector timestamp of that logout: what
 * its server had when the connection went away. lib/rules/read_position.ts
 * decides from these facts.
 *
 * @example
 * ```ts
 * const rp = new ReadPositions(store.db);
 * rp.previous("alice", sessionId(token)); // { origin: "a", logout: Map { a => 41, b => 17 } } or null
 * ```
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { parseVectorText } from "../wire/vector.ts";
import type { PreviousSession } from "../rules/read_position.ts";

/** Read-only queries over the sessions table and the op log. */
export class ReadPositions {
  #s: Record<"previous" | "deps", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#s = {
      previous: db.prepare("SELECT korigin, logouts FROM sessions WHERE ukey = ? AND id != ? ORDER BY born DESC LIMIT 1"),
      deps: db.prepare("SELECT deps FROM ops WHERE origin = ? AND seq = ?"),
    };
  }

  /** The newest session of name key `ukey` but session `exceptId`, or null when it has had none. */
  previous(ukey: string, exceptId: string): PreviousSession | null {
    const row = this.#s.previous.get(ukey, exceptId) as { korigin: string; logouts: string } | undefined;
    if (!row) return null;
    const last = row.logouts.split(",").filter((x) => x !== "").at(-1);
    if (last === undefined) return { origin: row.korigin, logout: null };
    const dot = last.lastIndexOf(".");
    const origin = last.slice(0, dot), seq = Number(last.slice(dot + 1));
    const op = this.#s.deps.get(origin, seq) as { deps: string } | undefined;
    if (!op) return { origin: row.korigin, logout: null };
    const vt = new Map(parseVectorText(op.deps));
    vt.set(origin, seq);
    return { origin: row.korigin, logout: vt };
  }
}
