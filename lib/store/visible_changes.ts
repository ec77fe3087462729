/**
 * A count that moves whenever which copy of a (session, tag) is visible
 * may have changed: once for every row of `messages` whose `hidden` is
 * written, and for every row deleted (TEMP triggers of this connection,
 * so nothing is stored). An insert never changes it for a copy that is
 * visible: a new visible copy of the same (session, tag) hides the old one
 * by an UPDATE (the twin rule, lib/store/messages.ts), and a copy stored
 * hidden changes no answer.
 *
 * The ack gate (lib/server/ack_gate.ts) reads a held add's visible copy
 * again at its release only when the count moved since it was held: under
 * load nearly every release, one read each at the origin, skipped
 * (issue 27's cluster CPU). The count is per connection: the server's
 * writes all go through the one it is made on.
 *
 * @example
 * ```ts
 * const changes = countVisibleChanges(store.db);
 * const seen = changes();
 * // … later: changes() === seen means byTag would answer what it answered then
 * ```
 */
import type { DatabaseSync } from "node:sqlite";

const counters = new WeakMap<DatabaseSync, () => number>();

/** The count of `db` (made once per connection: its triggers call this counter). */
export function countVisibleChanges(db: DatabaseSync): () => number {
  const known = counters.get(db);
  if (known) return known;
  let n = 0;
  db.function("distchat_visible_changed", () => {
    n++;
    return null;
  });
  db.exec(
    "CREATE TEMP TRIGGER IF NOT EXISTS distchat_hidden_written AFTER UPDATE OF hidden ON main.messages BEGIN SELECT distchat_visible_changed(); END;" +
      "CREATE TEMP TRIGGER IF NOT EXISTS distchat_message_deleted AFTER DELETE ON main.messages BEGIN SELECT distchat_visible_changed(); END;",
  );
  const count = () => n;
  counters.set(db, count);
  return count;
}
