/**
 * What `Rooms.membership` answered, per (session, room key), kept until a
 * write that can change the answer (private to lib/store/): the session
 * entering or leaving the room, the room renamed by an earlier `open`, the
 * session ending. Every add asked SQLite (rooms ⋈ members) the same
 * question for the same pair, ~4 µs of an add's ~60
 * (docs/PERFORMANCE_NOTES.md §2, "addcpu"). Bans and kicks are not in it:
 * lib/handlers/direct.ts `roomAccess` reads them from the moderation fold on
 * every request. Transactions never roll back (a failed commit stops the
 * server), so a write's invalidation is never undone.
 *
 * Bounded: past `max` entries it starts again empty (a cache miss costs one
 * SELECT, the answer never goes stale).
 *
 * @example
 * ```ts
 * const cache = new MembershipCache();
 * cache.get("s1", "lobby");            // undefined: ask SQLite
 * cache.set("s1", "lobby", { name: "Lobby", joined: [3, "a"] });
 * cache.forget("s1", "lobby");         // a join or leave of s1 in lobby
 * ```
 */
import type { Key } from "../rules/conflict.ts";

/** A session's membership of a room: the room's display name and the key of its newest join. */
export type Membership = { readonly name: string; readonly joined: Key };

export class MembershipCache {
  #bySession = new Map<string, Map<string, Membership | null>>();
  #size = 0;
  readonly max: number;

  constructor(max = 65_536) {
    this.max = max;
  }

  /** The cached answer for `session` in room `rkey` (null: not a member), or undefined: not cached. */
  get(session: string, rkey: string): Membership | null | undefined {
    return this.#bySession.get(session)?.get(rkey);
  }

  /** Caches the answer SQLite just gave. */
  set(session: string, rkey: string, m: Membership | null): void {
    if (this.#size >= this.max) this.clear();
    let rooms = this.#bySession.get(session);
    if (rooms === undefined) this.#bySession.set(session, rooms = new Map());
    if (!rooms.has(rkey)) this.#size++;
    rooms.set(rkey, m);
  }

  /** Drops the answer for one pair (the session entered or left the room). */
  forget(session: string, rkey: string): void {
    const rooms = this.#bySession.get(session);
    if (rooms?.delete(rkey)) this.#size--;
  }

  /** Drops every answer of a session (it ended: its memberships went). */
  forgetSession(session: string): void {
    const rooms = this.#bySession.get(session);
    if (rooms === undefined) return;
    this.#size -= rooms.size;
    this.#bySession.delete(session);
  }

  /** Drops everything (a room's display name changed). */
  clear(): void {
    this.#bySession.clear();
    this.#size = 0;
  }

  /** Pairs cached. */
  get size(): number {
    return this.#size;
  }
}
