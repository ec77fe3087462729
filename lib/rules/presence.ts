/**
 * Typing and away, ephemeral (docs/PROTOCOL.md "Typing and away"): a board
 * in memory, never stored or logged, with time passed in. A state lasts a
 * short while unless said again (typing: 6 s; away: 10 minutes, which a
 * client renews while it stays away), so nothing has to be cleaned up when
 * a client vanishes. The board is bounded: past `maxEntries` a new state is
 * dropped (and told so), never an old one evicted early.
 *
 * Servers pass states to one another in `pres` datagrams (docs/PEER_PROTOCOL.md
 * "Presence"): not ops — no sequence, no ack, no catch-up; a lost one is
 * simply said again by the client's next `typing`.
 *
 * @example
 * ```ts
 * const b = new PresenceBoard();
 * b.set(["lobby"], "bob", "typing", now);
 * b.list("lobby", now); // [{ userName: "bob", state: "typing" }]
 * ```
 */
import type { PresenceEntry, PresenceState } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";

/** How long a state lasts unless said again, ms. */
export const PRESENCE_TTL_MS: Record<"typing" | "away", number> = { typing: 6_000, away: 600_000 };

export type { PresenceNote } from "../wire/messages.ts";

type Entry = { userName: string; state: "typing" | "away"; until: number };

export class PresenceBoard {
  /** Room key → user key → state. */
  #rooms = new Map<string, Map<string, Entry>>();
  #entries = 0;
  #max: number;

  constructor(maxEntries = 20_000) {
    this.#max = maxEntries;
  }

  /**
   * Says `userName`'s state in rooms `rkeys` (room keys) at `now`, for
   * `ttlMs` (default: the state's own); idle and back clear it. False when
   * the board is full and the state was dropped.
   */
  set(rkeys: readonly string[], userName: string, state: PresenceState, now: number, ttlMs?: number): boolean {
    const ukey = nameKey(userName);
    const kind = state === "typing" || state === "idle" ? "typing" : "away";
    const on = state === "typing" || state === "away";
    const until = now + Math.min(ttlMs ?? PRESENCE_TTL_MS[kind], PRESENCE_TTL_MS[kind]);
    for (const rkey of rkeys) {
      let users = this.#rooms.get(rkey);
      const cur = users?.get(ukey);
      if (!on) {
        if (cur && cur.state === kind) this.#drop(rkey, ukey);
        continue;
      }
      if (!cur && this.#entries >= this.#max) {
        this.prune(now);
        if (this.#entries >= this.#max) return false;
      }
      if (!users) this.#rooms.set(rkey, users = new Map());
      // Typing does not hide away: an away user who types is shown away until back.
      if (cur && cur.state === "away" && kind === "typing" && cur.until > now) continue;
      if (!cur) this.#entries++;
      users.set(ukey, { userName, state: kind, until });
    }
    return true;
  }

  /** Who is typing or away in room `rkey` at `now`, at most `limit`, sorted by name. */
  list(rkey: string, now: number, limit = 50): PresenceEntry[] {
    const users = this.#rooms.get(rkey);
    if (!users) return [];
    const out: PresenceEntry[] = [];
    for (const [ukey, e] of users) {
      if (e.until <= now) this.#drop(rkey, ukey);
      else out.push({ userName: e.userName, state: e.state });
    }
    return out.sort((x, y) => (x.userName < y.userName ? -1 : 1)).slice(0, limit);
  }

  /** States held (for tests and status). */
  get size(): number {
    return this.#entries;
  }

  /** Forgets every state past its time. */
  prune(now: number): void {
    for (const [rkey, users] of this.#rooms) for (const [ukey, e] of users) if (e.until <= now) this.#drop(rkey, ukey);
  }

  #drop(rkey: string, ukey: string): void {
    const users = this.#rooms.get(rkey);
    if (!users?.delete(ukey)) return;
    this.#entries--;
    if (users.size === 0) this.#rooms.delete(rkey);
  }
}
