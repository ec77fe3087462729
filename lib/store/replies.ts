/**
 * Saved replies (`replies`): the answers of state-changing requests, kept
 * so that a retransmission is answered as before even after a restart
 * (docs/PROTOCOL.md "Retransmission"). Private to lib/store/.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class SavedReplies {
  #s: Record<"get" | "save" | "prune" | "pruneLogins", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#s = {
      get: db.prepare("SELECT body FROM replies WHERE k = ? AND at >= ?"),
      save: db.prepare("INSERT OR REPLACE INTO replies (k, at, body) VALUES (?, ?, ?)"),
      prune: db.prepare("DELETE FROM replies WHERE at < ?"),
      pruneLogins: db.prepare("DELETE FROM replies WHERE k >= 'L ' AND k < 'L!' AND at < ?"),
    };
  }

  /** The reply saved under `key` at or after `notBefore` (default: any age), or null. */
  get(key: string, notBefore = 0): string | null {
    const row = this.#s.get.get(key, notBefore) as { body: string } | undefined;
    return row ? row.body : null;
  }

  save(key: string, body: string, at: number): void {
    this.#s.save.run(key, at, body);
  }

  /** Forgets saved replies older than `before`, and saved login replies (keys "L …") older than `loginsBefore`. */
  prune(before: number, loginsBefore = before): void {
    this.#s.prune.run(before);
    this.#s.pruneLogins.run(loginsBefore);
  }
}
