/**
 * Room moderation of the store: each room's state settled from its `mod`
 * ops by lib/rules/moderation.ts, cached and kept up to date op by op
 * (lib/rules/fold_cache.ts: a new op that sorts after the others is one
 * fold step, not a new read of the room's every op). Private to lib/store/:
 * reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { ModAction } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { emptyRoom, foldMod, type ModOp, type RoomMod, settleRoom } from "../rules/moderation.ts";
import { rowKey } from "./_ops.ts";
import { FoldCache, type Folded, lastKey } from "../rules/fold_cache.ts";
import { type Key, keyLess } from "../rules/conflict.ts";

export type { RoomMod };

export class Moderation {
  #s: Record<"ops" | "opens", StatementSync>;
  readonly #cache = new FoldCache<RoomMod, ModOp>({ load: (k) => this.#settle(k), step: foldMod });

  constructor(db: DatabaseSync) {
    this.#s = {
      ops: db.prepare("SELECT origin, seq, deps, at, tag AS action, user, conf AS target, msg AS text FROM ops WHERE kind = 'mod' AND lower(room) = ?"),
      opens: db.prepare(
        "SELECT o.origin, o.seq, o.deps, o.at, COALESCE(s.user, '') AS user FROM ops o LEFT JOIN sessions s ON s.id = o.session WHERE o.kind = 'open' AND lower(o.room) = ?",
      ),
    };
  }

  /** The moderation state of a room (empty for a room without any). Read it now: the next op of the room changes it in place. */
  get(groupName: string): RoomMod {
    return this.#cache.get(nameKey(groupName));
  }

  /** A `mod` op of this room was stored. */
  applied(groupName: string, op: ModOp): void {
    this.#cache.applied(nameKey(groupName), op);
  }

  /** An `open` of this room was stored (it may name another owner): settle it again. */
  changed(groupName: string): void {
    this.#cache.forget(nameKey(groupName));
  }

  /** Loads (from every `mod` and `open` op of the room) and folds. */
  #settle(k: string): Folded<RoomMod> {
    const rows = this.#s.ops.all(k) as { origin: string; seq: number; deps: string; at: number; action: ModAction; user: string; target: string; text: string }[];
    const opens = this.#s.opens.all(k) as { origin: string; seq: number; deps: string; at: number; user: string }[];
    let owner: { key: Key; user: string; at: number } | null = null;
    for (const o of opens) {
      const key = rowKey(o);
      if (owner === null || keyLess(key, owner.key)) owner = { key, user: o.user, at: o.at };
    }
    const ownerName = owner === null || owner.user === "" ? null : owner.user;
    const ops = rows.map((r) => ({ key: rowKey(r), action: r.action, actor: r.user, target: r.target, text: r.text, at: r.at }));
    const state = ops.length === 0 ? { ...emptyRoom(), owner: ownerName } : settleRoom(ops, ownerName);
    state.created = owner?.at ?? null; // the time of the open that names the room
    return { state, last: lastKey(ops.map((o) => o.key)) };
  }
}
