/**
 * Accounts of the store: each registered name's account, settled from its
 * `acct` ops by lib/accounts/ledger.ts, cached and kept up to date op by op
 * (lib/store/_fold_cache.ts); which registration each session proved
 * (`bindings`). Private to lib/store/: reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AccountAction } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { type Account, type AccountOp, EMPTY_LEDGER, foldAccount, type Ledger, settleLedger } from "../accounts/ledger.ts";
import { rowKey } from "./_ops.ts";
import { FoldCache, type Folded, lastKey } from "./_fold_cache.ts";

export type { Account };

export class Accounts {
  /** Accounts kept in memory (10,000); older entries are read again when asked for. */
  readonly #cache = new FoldCache<Ledger, AccountOp>({ load: (k) => this.#settle(k), step: foldAccount });
  #s: Record<"ops" | "bind" | "binding", StatementSync>;

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      ops: p("SELECT origin, seq, deps, tag AS action, user, msg AS data FROM ops WHERE kind = 'acct' AND lower(user) = ?"),
      bind: p("INSERT OR IGNORE INTO bindings (session, reg) VALUES (?, ?)"),
      binding: p("SELECT 1 AS x FROM bindings WHERE session = ? AND reg = ?"),
    };
  }

  /** The account of a name, or null when it is not registered. */
  get(userName: string): Account | null {
    return this.#cache.get(nameKey(userName)).account;
  }

  /** An `acct` op of this name was stored. */
  applied(op: AccountOp): void {
    this.#cache.applied(nameKey(op.userName), op);
  }

  /** Records that `session` proved (or made) registration `reg`. */
  bind(session: string, reg: string): void {
    this.#s.bind.run(session, reg);
  }

  /** True when `session` proved (or made) registration `reg`. */
  bound(session: string, reg: string): boolean {
    return this.#s.binding.get(session, reg) !== undefined;
  }

  /** True when the session may use its name: the name is not registered, or the session proved its registration. */
  mayUse(session: string, userName: string): boolean {
    const acct = this.get(userName);
    return acct === null || this.bound(session, acct.reg);
  }

  #settle(ukey: string): Folded<Ledger> {
    const rows = this.#s.ops.all(ukey) as { origin: string; seq: number; deps: string; action: AccountAction; user: string; data: string }[];
    const ops = rows.map((r) => ({ id: `${r.origin}.${r.seq}`, key: rowKey(r), action: r.action, userName: r.user, data: r.data }));
    return { state: ops.length === 0 ? EMPTY_LEDGER : settleLedger(ops), last: lastKey(ops.map((o) => o.key)) };
  }
}
