/**
 * Settling the claims (logins) of user names with the pure rule of
 * lib/rules/conflict.ts, on the rows of the `sessions` table, remembering
 * where each name's chain of claims ended so that a new login of a much-used
 * name costs the same as any other. Private to lib/store/.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { byKey, type Claim, follows, type Holder, keyLess, settle } from "../rules/conflict.ts";
import type { Sessions } from "./sessions.ts";
import { parseVectorText } from "./_ops.ts";

type ClaimRow = { id: string; ksum: number; korigin: string; login_vt: string; logouts: string; born: number };

/** Names whose settlement is remembered at most (the oldest is forgotten first). */
const SETTLED_NAMES = 4096;

export class NameClaims {
  #sessions: Sessions;
  #s: Record<"namesakes" | "claim" | "addLogout", StatementSync>;
  /**
   * Per name (case-folded): the key of its newest claim settled and the
   * holder its chain ended with, kept while no earlier claim changes;
   * null when not remembered at all.
   */
  #settled: Map<string, { key: [number, string]; holder: string }> | null;

  constructor(db: DatabaseSync, sessions: Sessions, remember: boolean) {
    this.#sessions = sessions;
    this.#settled = remember ? new Map() : null;
    const cols = "SELECT id, ksum, korigin, login_vt, logouts, born FROM sessions";
    this.#s = {
      namesakes: db.prepare(`${cols} WHERE ukey = ?`),
      claim: db.prepare(`${cols} WHERE id = ?`),
      addLogout: db.prepare(
        "UPDATE sessions SET logouts = logouts || (CASE logouts WHEN '' THEN '' ELSE ',' END) || ? WHERE id = ?",
      ),
    };
  }

  /**
   * Settles a new claim of name `ukey` (its session row is written): the
   * claims are taken in key order, and the outcome depends only on the set
   * of logins and on each login's own vector, never on which logouts have
   * arrived here already; a claim applied later can only end sessions,
   * never revive one.
   */
  claim(ukey: string, row: ClaimRow): void {
    // The common case, a claim newer than every claim settled before (a
    // local login always is), when no earlier claim has changed since
    // (`changed`): the chain so far is the same, and only the holder it
    // ended with judges the new claim.
    const known = this.#settled?.get(ukey);
    const key: [number, string] = [row.ksum, row.korigin];
    if (known && keyLess(known.key, key)) {
      const holder = this.#s.claim.get(known.holder) as ClaimRow | undefined;
      known.key = key;
      if (holder && !follows(toClaim(row), this.#holder(holder))) this.#sessions.end(row.id);
      else known.holder = row.id;
      return;
    }
    const rows = byKey(this.#s.namesakes.all(ukey) as ClaimRow[]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const { holder, losers } = settle(rows.map(toClaim), (c) => this.#holder(byId.get(c.id) as ClaimRow));
    for (const c of losers) if (!this.#sessions.get(c.id)?.ended) this.#sessions.end(c.id);
    const last = rows[rows.length - 1];
    if (this.#settled && holder && last) {
      this.#settled.delete(ukey);
      this.#settled.set(ukey, { key: [last.ksum, last.korigin], holder: holder.id });
      if (this.#settled.size > SETTLED_NAMES) this.#settled.delete(this.#settled.keys().next().value as string);
    }
  }

  /** Records a logout op `opId` ("origin.seq") of a session (which the caller ends). */
  logout(session: string, opId: string): void {
    this.#s.addLogout.run(opId, session);
  }

  /**
   * A claim's logouts or activity changed: unless it is the holder a
   * remembered chain ended with, forget the chain. (A logout cannot change
   * an earlier judgement — a claim that saw it arrives after it — but it is
   * rare and forgetting is cheap.)
   */
  changed(ukey: string, session: string): void {
    if (this.#settled?.get(ukey)?.holder !== session) this.#settled?.delete(ukey);
  }

  /** How a claim looks as a holder: its logouts, and its activity as this server knows it. */
  #holder(row: ClaimRow): Holder {
    const s = this.#sessions.get(row.id);
    return {
      logouts: row.logouts === "" ? [] : row.logouts.split(","),
      lastActive: s ? s.lastActive : Infinity,
      ttl: s ? s.ttl : 0,
    };
  }
}

function toClaim(r: ClaimRow): Claim {
  return { id: r.id, ksum: r.ksum, korigin: r.korigin, seen: () => parseVectorText(r.login_vt), born: r.born };
}
