/**
 * Direct conversations of the store (`dm_parts`): which conversations each
 * party is in, so `dms` can list them. A conversation is a room whose key is
 * "@" PART "@" PART (lib/wire/names.ts DM_ROOM). Private to lib/store/.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class Conversations {
  #s: Record<"note" | "of" | "has", StatementSync>;
  #known = new Set<string>();

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      note: p("INSERT OR IGNORE INTO dm_parts (part, rkey) VALUES (?, ?)"),
      of: p("SELECT rkey FROM dm_parts WHERE part = ? ORDER BY rkey LIMIT ? + 0"),
      has: p("SELECT 1 AS x FROM dm_parts WHERE part = ? AND rkey = ?"),
    };
  }

  /** Records a conversation's parts (its key is lower case already). */
  note(rkey: string): void {
    if (this.#known.has(rkey)) return;
    for (const part of parts(rkey)) this.#s.note.run(part, rkey);
    if (this.#known.size > 10_000) this.#known.clear();
    this.#known.add(rkey);
  }

  /** True when the conversation `rkey` has a message here. */
  has(rkey: string): boolean {
    return this.#known.has(rkey) || this.#s.has.get(parts(rkey)[0], rkey) !== undefined;
  }

  /** Keys of the conversations `part` is in, at most `limit`. */
  of(part: string, limit: number): string[] {
    return (this.#s.of.all(part, limit) as { rkey: string }[]).map((r) => r.rkey);
  }
}

/** The two parts of a conversation key "@x@y". */
export function parts(rkey: string): [string, string] {
  const at = rkey.indexOf("@", 1);
  return [rkey.slice(1, at), rkey.slice(at + 1)];
}
