/**
 * Live membership changes (docs/ARCHITECTURE.md "Membership changes"):
 * what a reloaded servers file changes, whether that change may be made
 * now, and when a server added to a running cluster has caught up. Pure:
 * the servers, what the liveness table says and the vectors come in; a
 * decision goes out.
 *
 * @example
 * ```ts
 * membershipChange({ self: "a", current, next, heardAgoMs: (id) => 200 });
 * // { ok: true, added: ["d"], removed: [], retiring: false }
 * const watch = new JoinWatch("d");
 * watch.caughtUp([{ id: "a", vector }], ["a", "b"], mine); // false until both told and `mine` covers them
 * ```
 */
import type { Address } from "../wire/address.ts";
import { formatAddress } from "../wire/address.ts";
import { covers, fromEntries, get, merge, type Vector } from "../wire/vector.ts";
import { serverOf } from "./incarnation.ts";

/** A server as membership sees it: its id and peer address (and, from a servers file, its client address and key, which clients learn). */
export type Member = { id: string; peer: Address; client?: Address; publicKey?: Uint8Array };

/** A change a reload may make, or why it is refused (nothing changes then). */
export type MembershipChange =
  | { ok: true; added: string[]; removed: string[]; retiring: boolean }
  | { ok: false; problem: string };

/** A peer silent this long counts as down when a server is to be added, ms (LIVENESS.liveFarMs: every peer sends a `got` each second). */
export const DOWN_AFTER_MS = 3000;

/**
 * What going from `current` to `next` changes for server `self`: at most
 * one server added or one retired per reload ("one change at a time"), a
 * kept server's peer address unchanged, and no server added while a current
 * peer is down (`heardAgoMs`: how long ago it was heard, Infinity: never) —
 * the down server would miss the change. Retiring a server that is down is
 * allowed (a dead host is the usual reason to retire one). `self` missing
 * from `next`: this server is being retired.
 */
export function membershipChange(o: {
  self: string;
  current: readonly Member[];
  next: readonly Member[];
  heardAgoMs: (id: string) => number;
}): MembershipChange {
  const was = new Map(o.current.map((m) => [m.id, m] as const));
  const now = new Map(o.next.map((m) => [m.id, m] as const));
  const added = o.next.filter((m) => !was.has(m.id)).map((m) => m.id);
  const removed = o.current.filter((m) => !now.has(m.id)).map((m) => m.id);
  for (const m of o.next) {
    const before = was.get(m.id);
    if (before && formatAddress(before.peer) !== formatAddress(m.peer)) {
      return { ok: false, problem: `server ${m.id}'s peer address changed from ${formatAddress(before.peer)} to ${formatAddress(m.peer)}: retire it and add it under a new id, or restart every server` };
    }
  }
  if (added.length + removed.length > 1) {
    const what = [...added.map((id) => `adds ${id}`), ...removed.map((id) => `retires ${id}`)].join(" and ");
    return { ok: false, problem: `the servers file ${what}: one change at a time (make one, wait until every server has it in npm run status, then the next)` };
  }
  if (added.length === 1) {
    const down = o.current.filter((m) => m.id !== o.self && !(o.heardAgoMs(m.id) < DOWN_AFTER_MS)).map((m) => m.id);
    if (down.length > 0) {
      return { ok: false, problem: `adding ${added[0]} refused: ${down.join(", ")} ${down.length > 1 ? "are" : "is"} down (not heard for ${DOWN_AFTER_MS / 1000} s) and would miss the change; bring ${down.length > 1 ? "them" : "it"} back, or retire ${down.length > 1 ? "them" : "it"} first` };
    }
  }
  return { ok: true, added, removed, retiring: removed.includes(o.self) };
}

/**
 * When a server added to a running cluster (`--join`) has caught up: once
 * every peer has told its vector, the target is what they had then (their
 * ops of this server's own origins left out); caught up when this server's
 * vector covers it. From then on it is in the ordinary replication stream,
 * and may take writes and be named confirmer.
 */
export class JoinWatch {
  #self: string;
  #target: Vector | null = null;

  constructor(self: string) {
    this.#self = self;
  }

  /** What the server still waits for: null once caught up; else "hearing X, Y" or "N op(s) of X, Y" (`unknown`: servers whose ops it cannot take). */
  waiting(told: readonly { id: string; vector: Vector }[], peers: readonly string[], mine: Vector, unknown: (server: string) => boolean = () => false): string | null {
    if (this.#target === null) {
      const silent = peers.filter((p) => !told.some((t) => t.id === p));
      if (silent.length > 0) return `hearing ${silent.join(", ")}`;
      let target: Vector = fromEntries([]);
      for (const t of told) target = merge(target, withoutOrigins(t.vector, this.#self));
      this.#target = target;
    }
    return lacking(this.#target, mine, unknown);
  }
}

/**
 * When a restarted server (its database already held state: a restart after
 * kill -9, a planned restart, a restore) has caught up (docs/ARCHITECTURE.md
 * "A confirmer that dies"): at the first check it notes what each peer that
 * answered by then told (their ops of this server's own origins left out);
 * caught up when its vector covers what every one of them that is still
 * live told. A peer silent at that first check does not hold it back (it is
 * down: the others stand in for it as confirmer), nor one that has gone
 * silent since (its ops are on a second disk, whose peer is still counted),
 * nor ops of servers `unknown` to it (it cannot take them).
 */
export class RejoinWatch {
  #self: string;
  #targets: Map<string, Vector> | null = null;

  constructor(self: string) {
    this.#self = self;
  }

  /** The peers whose word it waits for (null before the first check). */
  get answered(): string[] | null {
    return this.#targets && [...this.#targets.keys()];
  }

  /** What the server still waits for ("N op(s) of X, Y"), or null once caught up; `live`: whether a peer is up now. */
  waiting(told: readonly { id: string; vector: Vector }[], live: (peer: string) => boolean, mine: Vector, unknown: (server: string) => boolean = () => false): string | null {
    this.#targets ??= new Map(told.map((t) => [t.id, withoutOrigins(t.vector, this.#self)]));
    let target: Vector = fromEntries([]);
    for (const [id, v] of this.#targets) if (live(id)) target = merge(target, v);
    // Ops of a server its servers file does not know it can never take: waiting for them would refuse writes for good.
    return lacking(fromEntries([...target].filter(([o]) => !unknown(serverOf(o)))), mine, unknown);
  }
}

/** `v` without the entries of origins of server `self`. */
function withoutOrigins(v: Vector, self: string): Vector {
  return fromEntries([...v].filter(([o]) => serverOf(o) !== self));
}

/** Null when `mine` covers `target`; else "N op(s) of X, Y" (with a hint when `unknown` says a server is not in the servers file). */
function lacking(target: Vector, mine: Vector, unknown: (server: string) => boolean): string | null {
  if (covers(mine, target)) return null;
  let count = 0;
  const of = new Set<string>();
  for (const [origin, n] of target) {
    if (n > get(mine, origin)) of.add(serverOf(origin));
    count += Math.max(0, n - get(mine, origin));
  }
  const foreign = [...of].filter(unknown);
  const hint = foreign.length > 0 ? `; this servers file does not list ${foreign.join(", ")}: add \`${foreign[0]} retired\`?` : "";
  return `${count} op(s) of ${[...of].join(", ")}${hint}`;
}
