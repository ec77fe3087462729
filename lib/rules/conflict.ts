/**
 * The conflict rules of the replicated state, pure (docs/ARCHITECTURE.md
 * "Conflict rules"): every server applies them to the same ops and so ends
 * in the same state whatever order the ops arrived in. Nothing here reads a
 * database or a clock; lib/store/ feeds them rows.
 *
 * - Every op has a key `(sum of its full vector timestamp, origin)`; the
 *   smaller key wins a conflict. Sums grow along causality, so an op never
 *   loses to one made after it was known.
 * - **Room names:** the first `open` (smallest key) of a case-folded name
 *   sets its display name.
 * - **Twin messages:** two adds of one (session, tag) — a client's
 *   retransmission stored by two servers — show once: the smaller key.
 * - **Name claims:** the logins of one user name, in key order; each
 *   becomes the holder when there is none, when it saw a logout of the
 *   holder, or when the holder had expired before it was made; otherwise it
 *   loses and its session ends.
 *
 * @example
 * ```ts
 * keyLess(opKey(a), opKey(b)); // does a win over b?
 * settle(claims, (c, holder) => follows(c, holder, lastActive(holder)));
 * ```
 */
import type { Op } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { get, sum } from "../wire/vector.ts";

/** A conflict key: (sum of the op's full timestamp, origin). */
export type Key = readonly [number, string];

/** Conflict key of an op: (sum of its full timestamp, origin); smaller wins. */
export function opKey(op: Pick<Op, "deps" | "seq" | "origin">): [number, string] {
  return [sum(op.deps) - get(op.deps, op.origin) + op.seq, op.origin];
}

/** True when key a is smaller than key b. */
export function keyLess(a: Key, b: Key): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Orders keys, smallest first (a comparator for sort). */
export function compareKeys(a: Key, b: Key): number {
  return keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0;
}

/** Sorts by key, smallest first. */
export function byKey<T extends { ksum: number; korigin: string }>(items: T[]): T[] {
  return items.sort((x, y) => (keyLess([x.ksum, x.korigin], [y.ksum, y.korigin]) ? -1 : 1));
}

// --- Sessions ------------------------------------------------------------------

/** What liveness needs of a session. */
export type Liveness = {
  ended: boolean;
  /** Idle lifetime, seconds. */
  ttl: number;
  lastActive: number;
  /** Newest activity learnt from an op made at another server (0: none). */
  remoteActive: number;
};

/**
 * Extra lifetime allowed for activity seen at another server, ms: that server
 * logs activity (touch ops) at most every ttl/10, so its last logged activity
 * may be up to ttl/10 (plus replication delay) older than the real one.
 */
export function remoteSlack(ttlSeconds: number): number {
  return Math.ceil(ttlSeconds * 100) + 1000;
}

/**
 * True while a session is not ended and `now ≤ lastActive + ttl` — or, for
 * activity last seen at another server, `now ≤ remoteActive + ttl + ttl/10 + 1 s`
 * (a live session is never expired early here because its activity there was
 * logged late).
 */
export function isLive(s: Liveness, now: number): boolean {
  if (s.ended) return false;
  const ttl = s.ttl * 1000;
  return now <= s.lastActive + ttl || (s.remoteActive > 0 && now <= s.remoteActive + ttl + remoteSlack(s.ttl));
}

// --- Name claims ---------------------------------------------------------------

/** A login of a user name as settling reads it. */
export type Claim = {
  id: string;
  ksum: number;
  korigin: string;
  /** The login's full vector timestamp (what its origin had seen), read only when needed. */
  seen: () => Vector;
  /** Time of the login. */
  born: number;
};

/** What settling needs of the current holder: its logouts ("origin.seq" ids) and when it was last active. */
export type Holder = { logouts: readonly string[]; lastActive: number; ttl: number };

/**
 * True when claim `c` was made after `holder` ended: it saw a logout of
 * it, or the holder had expired when `c` was made. (Without the remote
 * slack of isLive: the slack depends on where an op was made, this must not.)
 */
export function follows(c: Pick<Claim, "seen" | "born">, holder: Holder): boolean {
  if (holder.logouts.length > 0) {
    const seen = c.seen();
    for (const id of holder.logouts) {
      const dot = id.lastIndexOf(".");
      if (get(seen, id.slice(0, dot)) >= Number(id.slice(dot + 1))) return true;
    }
  }
  return c.born > holder.lastActive + holder.ttl * 1000;
}

/**
 * Settles the claims of one name, given in key order: returns the id of
 * the final holder and the ids of the claims that lost. `holderOf(c)` says
 * how the claim `c` looks as a holder.
 */
export function settle<C extends Pick<Claim, "seen" | "born">>(
  claims: readonly C[],
  holderOf: (c: C) => Holder,
): { holder: C | null; losers: C[] } {
  let holder: C | null = null;
  const losers: C[] = [];
  for (const c of claims) {
    if (holder !== null && !follows(c, holderOf(holder))) losers.push(c);
    else holder = c;
  }
  return { holder, losers };
}

// --- Rooms and messages --------------------------------------------------------

/** True when an `open` with key `k` renames a room whose name was set by key `current`. */
export function opensFirst(k: Key, current: Key): boolean {
  return keyLess(k, current);
}

/** Which of two twin messages (same session and tag) stays visible: "new" or "old". */
export function visibleTwin(newKey: Key, oldKey: Key): "new" | "old" {
  return keyLess(newKey, oldKey) ? "new" : "old";
}
