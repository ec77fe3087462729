/**
 * Saved replies (`replies`): the answers of state-changing requests, kept
 * so that a retransmission is answered as before even after a restart
 * (docs/PROTOCOL.md "Retransmission"). Private to lib/store/.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class SavedReplies {
  #s: Record<"get" | "save" | "prune", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#s = {
      get: db.prepare("SELECT body FROM replies WHERE k = ?"),
      save: db.prepare("INSERT OR REPLACE INTO replies (k, at, body) VALUES (?, ?, ?)"),
      prune: db.prepare("DELETE FROM replies WHERE at < ?"),
    };
  }

  get(key: string): string | null {
    const row = this.#s.get.get(key) as { body: string } | undefined;
    return row ? row.body : null;
  }

  save(key: string, body: string, at: number): void {
    this.#s.save.run(key, at, body);
  }

  /** Forgets saved replies older than `before`. */
  prune(before: number): void {
    this.#s.prune.run(before);
  }
}
