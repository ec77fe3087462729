/**
 * Room moderation of the store: each room's state settled from its `mod`
 * ops by lib/moderation/rules.ts, cached. Private to lib/store/: reached
 * through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { ModAction } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { emptyRoom, type RoomMod, settleRoom } from "../moderation/rules.ts";
import { rowKey } from "./_ops.ts";
import { type Key, keyLess } from "./rules.ts";

export type { RoomMod };

const CACHE = 10_000;

export class Moderation {
  #cache = new Map<string, RoomMod>();
  #s: Record<"ops" | "opens", StatementSync>;

  constructor(db: DatabaseSync) {
    this.#s = {
      ops: db.prepare("SELECT origin, seq, deps, at, tag AS action, user, conf AS target, msg AS text FROM ops WHERE kind = 'mod' AND lower(room) = ?"),
      opens: db.prepare(
        "SELECT o.origin, o.seq, o.deps, COALESCE(s.user, '') AS user FROM ops o LEFT JOIN sessions s ON s.id = o.session WHERE o.kind = 'open' AND lower(o.room) = ?",
      ),
    };
  }

  /** The moderation state of a room (empty for a room without any). */
  get(groupName: string): RoomMod {
    const k = nameKey(groupName);
    const hit = this.#cache.get(k);
    if (hit !== undefined) return hit;
    const rows = this.#s.ops.all(k) as { origin: string; seq: number; deps: string; at: number; action: ModAction; user: string; target: string; text: string }[];
    const opens = this.#s.opens.all(k) as { origin: string; seq: number; deps: string; user: string }[];
    let owner: { key: Key; user: string } | null = null;
    for (const o of opens) {
      const key = rowKey(o);
      if (owner === null || keyLess(key, owner.key)) owner = { key, user: o.user };
    }
    const ownerName = owner === null || owner.user === "" ? null : owner.user;
    const room = rows.length === 0
      ? { ...emptyRoom(), owner: ownerName }
      : settleRoom(rows.map((r) => ({ key: rowKey(r), action: r.action, actor: r.user, target: r.target, text: r.text, at: r.at })), ownerName);
    if (this.#cache.size >= CACHE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(k, room);
    return room;
  }

  /** A `mod` op of this room was stored: settle it again. */
  changed(groupName: string): void {
    this.#cache.delete(nameKey(groupName));
  }
}
