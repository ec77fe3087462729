/**
 * Accounts of the store: each registered name's account, settled from its
 * `acct` ops by lib/accounts/ledger.ts and cached; which registration each
 * session proved (`bindings`). Private to lib/store/: reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { AccountAction } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { type Account, settleAccount } from "../accounts/ledger.ts";
import { rowKey } from "./_ops.ts";

export type { Account };

/** Accounts kept in memory; older entries are read again when asked for. */
const CACHE = 10_000;

export class Accounts {
  #cache = new Map<string, Account | null>();
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
    const k = nameKey(userName);
    const hit = this.#cache.get(k);
    if (hit !== undefined) return hit;
    const acct = this.#settle(k);
    if (this.#cache.size >= CACHE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(k, acct);
    return acct;
  }

  /** An `acct` op of this name was stored: settle it again. */
  changed(userName: string): void {
    this.#cache.delete(nameKey(userName));
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

  #settle(ukey: string): Account | null {
    const rows = this.#s.ops.all(ukey) as { origin: string; seq: number; deps: string; action: AccountAction; user: string; data: string }[];
    if (rows.length === 0) return null;
    return settleAccount(rows.map((r) => ({ id: `${r.origin}.${r.seq}`, key: rowKey(r), action: r.action, userName: r.user, data: r.data })));
  }
}
