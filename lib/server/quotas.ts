/**
 * Quotas of the client port (docs/OPERATIONS.md "Quotas"): what one source
 * IP address or one session may create, so that a flood from one place
 * costs the server bounded memory and disk and leaves everyone else served.
 * A request over a quota is answered `rate-limited` with the quota's name;
 * the disk floor answers `unavailable` (the client goes to another server).
 * Counts are kept in memory, per server: a restart starts them afresh.
 *
 * @example
 * ```ts
 * const q = new Quotas(DEFAULT_QUOTAS, isLive);  // lib/config/limits.ts
 * q.refusal(req, "10.0.0.7", sessionIdOf(req), now); // null: go ahead
 * q.note(req, "10.0.0.7", sessionIdOfReply, now);    // after an ok
 * ```
 */
import type { Request } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";
import type { QuotaLimits } from "../config/limits.ts";

/**
 * Verbs that may write to the database (an op, a saved reply): below the
 * disk floor they get `unavailable` (lib/server/client_port.ts), and each is
 * under a quota — `login` (logins and sessions per address), `open` (rooms),
 * `add` and `act` (message bytes; an act counts its text and 64 bytes more), `logout` (once per session, so the logins quota),
 * the others the shared writes quota.
 */
export const WRITING_VERBS: ReadonlySet<Request["verb"]> = new Set([
  "login", "open", "add", "act", "logout", "connect", "leave", "mod", "register", "password", "drop", "pubkey",
]);

/** Writing verbs without a quota of their own: they share `writes-per-session-minute` and `writes-per-ip-minute`. */
export const SHARED_QUOTA_VERBS: ReadonlySet<Request["verb"]> = new Set(["connect", "leave", "mod", "register", "password", "drop", "pubkey"]);

/** What an add or an act counts against the message-bytes quota: its text, and 64 bytes more for an act. */
function writtenBytes(req: Request & { verb: "add" | "act" }): number {
  return req.verb === "add" ? utf8Length(req.msg) : utf8Length(req.text) + 64;
}

/** Counts per key in fixed windows of `ms`. */
class Windowed {
  #ms: number;
  #counts = new Map<string, { start: number; n: number }>();
  constructor(ms: number) {
    this.#ms = ms;
  }
  get(key: string, now: number): number {
    const c = this.#counts.get(key);
    return c && now - c.start < this.#ms ? c.n : 0;
  }
  add(key: string, n: number, now: number): void {
    const c = this.#counts.get(key);
    if (c && now - c.start < this.#ms) c.n += n;
    else this.#counts.set(key, { start: now, n });
  }
  prune(now: number): void {
    for (const [k, c] of this.#counts) if (now - c.start >= this.#ms) this.#counts.delete(k);
  }
}

export class Quotas {
  readonly limits: QuotaLimits;
  #isLive: (session: string, now: number) => boolean;
  #logins = new Windowed(60_000);
  #roomsByIp = new Windowed(3_600_000);
  #bytes = new Windowed(60_000);
  #writesBySession = new Windowed(60_000);
  #writesByIp = new Windowed(60_000);
  #roomsBySession = new Map<string, number>();
  #sessionsByIp = new Map<string, Set<string>>();
  /** Refusals by quota name (for status). */
  refused: Record<string, number> = {};

  /** `isLive` says whether a session still counts against its address. */
  constructor(limits: QuotaLimits, isLive: (session: string, now: number) => boolean) {
    this.limits = limits;
    this.#isLive = isLive;
  }

  /** Why `req` (from `ip`, of session `session` — "" for a login) may not run now, or null. */
  refusal(req: Request, ip: string, session: string, now: number): string | null {
    const l = this.limits;
    switch (req.verb) {
      case "login":
        if (this.#logins.get(ip, now) >= l.loginsPerIpPerMinute) return this.#refuse("logins", `more than ${l.loginsPerIpPerMinute} logins a minute from this address`);
        if (this.#liveSessions(ip, now) >= l.sessionsPerIp) return this.#refuse("sessions", `more than ${l.sessionsPerIp} live sessions from this address`);
        return null;
      case "open":
        if ((this.#roomsBySession.get(session) ?? 0) >= l.roomsPerSession) return this.#refuse("rooms", `more than ${l.roomsPerSession} rooms created by this session`);
        if (this.#roomsByIp.get(ip, now) >= l.roomsPerIpPerHour) return this.#refuse("rooms", `more than ${l.roomsPerIpPerHour} rooms an hour from this address`);
        return null;
      case "add":
      case "act":
        if (this.#bytes.get(session, now) + writtenBytes(req) > l.msgBytesPerSessionPerMinute) {
          return this.#refuse("message-bytes", `more than ${l.msgBytesPerSessionPerMinute} bytes of messages a minute from this session`);
        }
        return null;
      default:
        if (!SHARED_QUOTA_VERBS.has(req.verb)) return null;
        if (session !== "" && this.#writesBySession.get(session, now) >= l.writesPerSessionPerMinute) {
          return this.#refuse("writes", `more than ${l.writesPerSessionPerMinute} changes a minute (joins, leaves, moderation, account changes) from this session`);
        }
        if (this.#writesByIp.get(ip, now) >= l.writesPerIpPerMinute) {
          return this.#refuse("writes", `more than ${l.writesPerIpPerMinute} changes a minute (joins, leaves, moderation, account changes) from this address`);
        }
        return null;
    }
  }

  /**
   * Counts a request that succeeded; `session` is the new session of a
   * login. `changed`: it wrote something (a `connect` to a room the session
   * is in changes nothing and is not counted).
   */
  note(req: Request, ip: string, session: string, now: number, changed = true): void {
    if (SHARED_QUOTA_VERBS.has(req.verb)) {
      if (!changed) return;
      if (session !== "") this.#writesBySession.add(session, 1, now);
      this.#writesByIp.add(ip, 1, now);
      return;
    }
    switch (req.verb) {
      case "login": {
        this.#logins.add(ip, 1, now);
        let set = this.#sessionsByIp.get(ip);
        if (!set) this.#sessionsByIp.set(ip, set = new Set());
        set.add(session);
        break;
      }
      case "open":
        this.#roomsBySession.set(session, (this.#roomsBySession.get(session) ?? 0) + 1);
        this.#roomsByIp.add(ip, 1, now);
        break;
      case "add":
      case "act":
        this.#bytes.add(session, writtenBytes(req), now);
        break;
    }
  }

  /** Forgets what no longer counts (housekeeping). */
  prune(now: number): void {
    this.#logins.prune(now);
    this.#roomsByIp.prune(now);
    this.#bytes.prune(now);
    this.#writesBySession.prune(now);
    this.#writesByIp.prune(now);
    for (const ip of this.#sessionsByIp.keys()) this.#liveSessions(ip, now);
    for (const s of this.#roomsBySession.keys()) if (!this.#isLive(s, now)) this.#roomsBySession.delete(s);
  }

  #liveSessions(ip: string, now: number): number {
    const set = this.#sessionsByIp.get(ip);
    if (!set) return 0;
    if (set.size >= this.limits.sessionsPerIp || set.size > 64) {
      for (const s of set) if (!this.#isLive(s, now)) set.delete(s);
    }
    if (set.size === 0) this.#sessionsByIp.delete(ip);
    return set.size;
  }

  #refuse(name: string, message: string): string {
    this.refused[name] = (this.refused[name] ?? 0) + 1;
    return message;
  }
}
