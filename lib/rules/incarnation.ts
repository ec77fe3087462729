/**
 * Which origin name a server writes its ops under (docs/ARCHITECTURE.md
 * "Incarnations"). An op id `origin.seq` must never name two different ops,
 * yet a server can lose its database or be started on an older copy of it,
 * and would then count seqs again from where its disk says. So a server's
 * origin is its id (`a`) or an *incarnation* of it (`a~lq3x9k2`): whenever
 * its database may be behind what the cluster has of its origin, it starts
 * a new incarnation, a name nobody used before, and its old ops stay valid
 * under the old name (it learns them back from its peers like anyone
 * else's). A server's own files cannot tell it they are current (a backup
 * restores the database and its high-water mark together), so it keeps its
 * stored origin only when every peer answered and none has more of it.
 * Pure: the server gathers the facts and calls `chooseOrigin`.
 *
 * @example
 * ```ts
 * chooseOrigin({ id: "a", stored: "a", local, hwm: { origin: "a", seq: 9 }, backup: null, peers: [bVector], allPeersHeard: true, newCluster: false, now });
 * // { origin: "a~m3k2x1c", reason: "the database is older than its own high-water mark (a.9)" } when local.a < 9
 * ```
 */
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";

/** Separates a server id from its incarnation in an origin name. */
export const INCARNATION_MARK = "~";

/** The server id an origin belongs to ("a~lq3x9k2" → "a"). */
export function serverOf(origin: string): string {
  const i = origin.indexOf(INCARNATION_MARK);
  return i < 0 ? origin : origin.slice(0, i);
}

/** The rule "an origin is one of these servers, or an incarnation of one" (which ops may exist at all). */
export function originsOf(serverIds: Iterable<string>): (origin: string) => boolean {
  const ids = new Set(serverIds);
  return (origin) => ids.has(serverOf(origin));
}

export type OriginFacts = {
  /** This server's id. */
  id: string;
  /** The origin the database was writing under, or null for a new database. */
  stored: string | null;
  /** The database's vector. */
  local: Vector;
  /** The high-water mark kept beside the database (the last seq it committed under an origin), if any. */
  hwm: { origin: string; seq: number } | null;
  /** The mark `npm run backup` leaves in its copies ("a 2026-12-07T05:00:00.000Z"), or null: the database is not a restored backup. */
  backup?: string | null;
  /** Vectors of the peers heard since start. */
  peers: readonly Vector[];
  /** True when every peer of servers.txt has been heard. */
  allPeersHeard: boolean;
  /** The operator says the cluster is new (`--new-cluster`): a new database may take the plain id unless a peer knows it. */
  newCluster: boolean;
  /** Milliseconds since the epoch (names new incarnations). */
  now: number;
};

export type OriginChoice = { origin: string; reason: string | null };

/**
 * The origin to write under: the stored one when every peer answered and
 * nothing suggests the database is behind; the plain id for a new database
 * of a new cluster; otherwise a new incarnation, with the reason.
 */
export function chooseOrigin(f: OriginFacts): OriginChoice {
  const family = (origin: string) => serverOf(origin) === f.id;
  const known = new Set<string>([...f.local.keys()].filter(family));
  for (const p of f.peers) for (const k of p.keys()) if (family(k)) known.add(k);
  const fresh = (reason: string): OriginChoice => ({ origin: newIncarnation(f.id, f.now, known), reason });
  if (f.stored === null) {
    const seenElsewhere = f.peers.some((p) => [...p.keys()].some(family));
    if (!seenElsewhere && (f.allPeersHeard || f.newCluster)) return { origin: f.id, reason: null };
    return fresh(
      seenElsewhere
        ? "a new database, and the peers know ops of this server: they are caught up under their old names"
        : "a new database, and not every peer could confirm that this server never wrote before",
    );
  }
  const o = f.stored;
  const n = get(f.local, o);
  if (f.backup) return fresh(`the database is a restored backup (of ${f.backup}): this server may have written more since`);
  if (f.hwm && f.hwm.origin === o && f.hwm.seq > n) {
    return fresh(`the database is older than its own high-water mark (${o}.${f.hwm.seq}, the database has ${o}.${n})`);
  }
  for (const p of f.peers) {
    if (get(p, o) > n) return fresh(`a peer has ${o}.${get(p, o)}, the database only ${o}.${n}: it is an older copy`);
    const later = [...p.keys()].find((k) => family(k) && incarnationTime(k) > incarnationTime(o) && !f.local.has(k));
    if (later) return fresh(`a peer knows the later incarnation ${later}: the database is an older copy`);
  }
  // Files restored together (database and mark from one old copy) look current to
  // themselves: only the peers can say they are, and a peer that did not answer may
  // hold ops of ours that the others never got.
  if (!f.allPeersHeard) return fresh(`not every peer answered, so none could confirm that ${o}.${n} is this server's latest op`);
  return { origin: o, reason: null };
}

/** When an incarnation began (its name's base-36 suffix, ms); 0 for the plain id. */
export function incarnationTime(origin: string): number {
  const i = origin.indexOf(INCARNATION_MARK);
  return i < 0 ? 0 : parseInt(origin.slice(i + 1), 36) || 0;
}

/** A fresh incarnation name: the id, the mark and the time in base 36 (later than any known, never one in `taken`). */
export function newIncarnation(id: string, now: number, taken: ReadonlySet<string>): string {
  let t = Math.max(1, Math.floor(now));
  for (const k of taken) if (incarnationTime(k) > 0) t = Math.max(t, incarnationTime(k) + 1);
  let name = `${id}${INCARNATION_MARK}${t.toString(36)}`;
  while (taken.has(name)) name = `${id}${INCARNATION_MARK}${(++t).toString(36)}`;
  return name;
}
