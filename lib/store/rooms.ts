/**
 * Rooms and memberships of the store (`rooms`, `members`). Private to
 * lib/store/: reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { nameKey } from "../wire/names.ts";
import { type Key, opensFirst } from "../rules/conflict.ts";
import { keptCount } from "./kept_counts.ts";
import { type Membership, MembershipCache } from "./_membership_cache.ts";
import type { Sessions } from "./sessions.ts";

export class Rooms {
  #s: Record<"room" | "insert" | "rename" | "after" | "isMember" | "membership" | "ofSession" | "join" | "leave" | "membersAfter", StatementSync>;

  /** Rooms there are (kept by SQLite: no scan). */
  readonly count: () => number;
  /** `membership` answers until a write here (or a session's end) changes them. */
  readonly #known = new MembershipCache();

  /** `sessions`: told when a session ends, its memberships with it. */
  constructor(db: DatabaseSync, sessions: Sessions) {
    sessions.onEnd((id) => this.#known.forgetSession(id));
    const p = (sql: string) => db.prepare(sql);
    this.count = keptCount(db, "rooms");
    this.#s = {
      room: p("SELECT name, ksum, korigin FROM rooms WHERE rkey = ?"),
      insert: p("INSERT INTO rooms (rkey, name, ksum, korigin) VALUES (?,?,?,?)"),
      rename: p("UPDATE rooms SET name = ?, ksum = ?, korigin = ? WHERE rkey = ?"),
      after: p("SELECT name FROM rooms WHERE rkey > ? ORDER BY rkey LIMIT ? + 0"),
      isMember: p("SELECT 1 AS x FROM members WHERE rkey = ? AND session = ?"),
      ofSession: p("SELECT rkey FROM members WHERE session = ? LIMIT 1000"),
      membership: p("SELECT r.name, m.jsum, m.jorigin FROM rooms r JOIN members m ON m.rkey = r.rkey WHERE r.rkey = ? AND m.session = ?"),
      // A membership keeps the key of its newest join (in key order, whatever the arrival order).
      join: p(
        "INSERT INTO members (rkey, session, expires, jsum, jorigin) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET expires = excluded.expires, " +
          "jsum = CASE WHEN (excluded.jsum, excluded.jorigin) > (members.jsum, members.jorigin) THEN excluded.jsum ELSE members.jsum END, " +
          "jorigin = CASE WHEN (excluded.jsum, excluded.jorigin) > (members.jsum, members.jorigin) THEN excluded.jorigin ELSE members.jorigin END",
      ),
      leave: p("DELETE FROM members WHERE rkey = ? AND session = ?"),
      membersAfter: p(
        "SELECT s.id FROM members m JOIN sessions s ON s.id = m.session " +
          "WHERE m.rkey = ? AND m.expires >= ? AND s.ended = 0 AND s.ukey > ? ORDER BY s.ukey LIMIT ? + 0",
      ),
    };
  }

  /**
   * Applies an `open` or `join` op with key `k`: the room exists (named by
   * its first open) and `session` is a member, surely expired after `expires`.
   */
  enter(kind: "open" | "join", groupName: string, session: string, k: Key, expires: number): void {
    const rkey = nameKey(groupName);
    const room = this.#s.room.get(rkey) as { ksum: number; korigin: string } | undefined;
    if (!room) this.#s.insert.run(rkey, groupName, k[0], k[1]);
    else if (kind === "open" && opensFirst(k, [room.ksum, room.korigin])) {
      this.#s.rename.run(groupName, k[0], k[1], rkey);
      this.#known.clear(); // every member's answer names the room
    }
    this.#s.join.run(rkey, session, expires, k[0], k[1]);
    this.#known.forget(session, rkey);
  }

  leave(groupName: string, session: string): void {
    const rkey = nameKey(groupName);
    this.#s.leave.run(rkey, session);
    this.#known.forget(session, rkey);
  }

  /** The display name of a room, or null when it does not exist. */
  name(groupName: string): string | null {
    const row = this.#s.room.get(nameKey(groupName)) as { name: string } | undefined;
    return row ? row.name : null;
  }

  /** Display names of rooms whose key sorts after `after` (case-folded), in order. */
  after(after: string | null, limit: number): string[] {
    const rows = this.#s.after.all(after === null ? "" : nameKey(after), limit) as { name: string }[];
    return rows.map((r) => r.name);
  }

  isMember(groupName: string, session: string): boolean {
    return this.#s.isMember.get(nameKey(groupName), session) !== undefined;
  }

  /** The room's display name and the key of the membership's newest join, if `session` is a member; else null. */
  membership(groupName: string, session: string): Membership | null {
    const rkey = nameKey(groupName);
    const known = this.#known.get(session, rkey);
    if (known !== undefined) return known;
    const row = this.#s.membership.get(rkey, session) as { name: string; jsum: number; jorigin: string } | undefined;
    const m = row ? { name: row.name, joined: [row.jsum, row.jorigin] as Key } : null;
    this.#known.set(session, rkey, m);
    return m;
  }

  /** Keys of the rooms `session` is a member of (at most 1,000). */
  ofSession(session: string): string[] {
    return (this.#s.ofSession.all(session) as { rkey: string }[]).map((r) => r.rkey);
  }

  /** Ids of member sessions that may be live at `now`, sorted by case-folded user name after `after` (reads live members only). */
  memberIdsAfter(groupName: string, after: string | null, limit: number, now: number): string[] {
    const rows = this.#s.membersAfter.all(nameKey(groupName), now, after === null ? "" : nameKey(after), limit) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
