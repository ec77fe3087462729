/**
 * Sessions of the store: the `sessions` table and an in-memory cache of
 * the sessions in use (their activity is kept there and written back at
 * most every `touchEvery`). Private to lib/store/: reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { nameKey } from "../wire/names.ts";
import { isLive, remoteSlack } from "../rules/conflict.ts";

/** A session as the store knows it. `lastActive` includes unlogged activity. */
export type SessionRecord = {
  id: string;
  user: string;
  ukey: string;
  /** Idle lifetime in seconds. */
  ttl: number;
  /** Time of the login op. */
  born: number;
  lastActive: number;
  ended: boolean;
  ksum: number;
  korigin: string;
  /** Newest activity written to the sessions table. */
  savedActive: number;
  /** Newest activity recorded by an op of this session. */
  loggedActive: number;
  /**
   * Newest activity learnt from an op made at another server (0: none). Such
   * activity is logged at most every ttl/10 there, so it may lag the real
   * one: `isLive` allows `remoteSlack` for it.
   */
  remoteActive: number;
};

type Row = {
  id: string;
  user: string;
  ukey: string;
  ttl: number;
  born: number;
  last_active: number;
  ended: number;
  ksum: number;
  korigin: string;
};

export class Sessions {
  #cache = new Map<string, SessionRecord>();
  #onEnd: ((id: string) => void)[] = [];
  #touchEveryMs: number | undefined;
  #s: Record<"get" | "ofName" | "live" | "insert" | "saveActive" | "end" | "dropMemberships" | "memberExpiry", StatementSync>;

  constructor(db: DatabaseSync, touchEveryMs: number | undefined) {
    this.#touchEveryMs = touchEveryMs;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      get: p("SELECT * FROM sessions WHERE id = ?"),
      ofName: p("SELECT id FROM sessions WHERE ukey = ? AND ended = 0"),
      live: p("SELECT id FROM sessions WHERE ended = 0 AND last_active + ttl * 1100 + 1000 >= ?"),
      insert: p(
        "INSERT OR IGNORE INTO sessions (id, user, ukey, ttl, born, last_active, ended, ksum, korigin, login_vt) VALUES (?,?,?,?,?,?,0,?,?,?)",
      ),
      saveActive: p("UPDATE sessions SET last_active = max(last_active, ?) WHERE id = ?"),
      end: p("UPDATE sessions SET ended = 1 WHERE id = ?"),
      dropMemberships: p("DELETE FROM members WHERE session = ?"),
      memberExpiry: p("UPDATE members SET expires = ? WHERE session = ?"),
    };
  }

  /** How often activity of `s` is logged, in ms: ttl/10, at most 30 s. */
  touchEvery(s: SessionRecord): number {
    return this.#touchEveryMs ?? Math.max(100, Math.min(30_000, s.ttl * 100));
  }

  /**
   * A time after which `s` is surely not live (rules.ts isLive), from the
   * activity written to the table: activity not yet written is less than
   * `touchEvery` newer. Kept in `members.expires`, so `who` reads only
   * memberships that may be live.
   */
  expiresBound(s: SessionRecord): number {
    return s.savedActive + s.ttl * 1000 + remoteSlack(s.ttl) + this.touchEvery(s);
  }

  /** The session with this id, or null. */
  get(id: string): SessionRecord | null {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const row = this.#s.get.get(id) as Row | undefined;
    if (!row) return null;
    const rec: SessionRecord = {
      id: row.id,
      user: row.user,
      ukey: row.ukey,
      ttl: row.ttl,
      born: row.born,
      lastActive: row.last_active,
      ended: row.ended !== 0,
      ksum: row.ksum,
      korigin: row.korigin,
      savedActive: row.last_active,
      loggedActive: row.last_active,
      // The table does not say where that activity happened: allow the slack.
      remoteActive: row.last_active,
    };
    this.#cache.set(id, rec);
    return rec;
  }

  /** Writes a new session row (a login op). */
  insert(
    o: { id: string; user: string; ttl: number; at: number; ksum: number; korigin: string; loginVector: string },
  ): void {
    this.#s.insert.run(o.id, o.user, nameKey(o.user), o.ttl, o.at, o.at, o.ksum, o.korigin, o.loginVector);
  }

  /** Runs `f` with the id of every session ended here (its memberships end with it). */
  onEnd(f: (id: string) => void): void {
    this.#onEnd.push(f);
  }

  /** Ends a session and its memberships. */
  end(id: string): void {
    this.#s.end.run(id);
    this.#s.dropMemberships.run(id);
    for (const f of this.#onEnd) f(id);
    const s = this.#cache.get(id);
    if (s) s.ended = true;
  }

  /**
   * Notes activity of a session at `at` (`remote`: learnt from another
   * server's op); writes it to the table when forced or when it was last
   * written `touchEvery` ago. True when `lastActive` moved.
   */
  noteActivity(s: SessionRecord, at: number, force: boolean, remote: boolean): boolean {
    const moved = at > s.lastActive;
    if (moved) s.lastActive = at;
    if (remote && at > s.remoteActive) s.remoteActive = at;
    if (at > s.loggedActive) s.loggedActive = at;
    if (at > s.savedActive && (force || at - s.savedActive >= this.touchEvery(s))) {
      this.#s.saveActive.run(at, s.id);
      s.savedActive = at;
      this.#s.memberExpiry.run(this.expiresBound(s), s.id);
    }
    return moved;
  }

  /** True when the session with this id exists and is live at `now`. */
  isLiveId(id: string, now: number): boolean {
    const s = this.get(id);
    return s !== null && isLive(s, now);
  }

  /** The live session holding a user name (case-insensitive), or null. */
  liveHolder(userName: string, now: number): SessionRecord | null {
    for (const { id } of this.#s.ofName.all(nameKey(userName)) as { id: string }[]) {
      const s = this.get(id);
      if (s && isLive(s, now)) return s;
    }
    return null;
  }

  /** Drops ended and long-expired sessions from memory (they stay on disk). */
  forgetIdle(now: number): void {
    for (const [id, s] of this.#cache) {
      if (s.ended || now > s.lastActive + s.ttl * 1000 + remoteSlack(s.ttl) + 60_000) {
        this.#saveIfNewer(s);
        this.#cache.delete(id);
      }
    }
  }

  /** Writes every cached session's newest activity (before closing). */
  saveAll(): void {
    for (const s of this.#cache.values()) this.#saveIfNewer(s);
  }

  #saveIfNewer(s: SessionRecord): void {
    if (s.lastActive > s.savedActive) {
      this.#s.saveActive.run(s.lastActive, s.id);
      s.savedActive = s.lastActive;
    }
  }

  /** Sessions held in memory. */
  get cached(): number {
    return this.#cache.size;
  }

  /** Live sessions among those in memory. */
  liveCount(now: number): number {
    let n = 0;
    for (const s of this.#cache.values()) if (isLive(s, now)) n++;
    return n;
  }

  /** Loads the sessions that may be live at `now` into memory; returns how many. */
  loadLive(now: number): number {
    const rows = this.#s.live.all(now) as { id: string }[];
    for (const r of rows) this.get(r.id);
    return rows.length;
  }
}
