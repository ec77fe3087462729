/**
 * The ring of servers.txt that two-disk acks go round (docs/ARCHITECTURE.md
 * "Acks"): a server names as the confirmer of a new message the first server
 * after itself in file order (wrapping) that is live — the one a client
 * failing over from it reaches next — or, when none is, simply the next
 * one. The servers that may name this one are the `near` ones before it;
 * they hear its `got` more often. Pure.
 *
 * @example
 * ```ts
 * const ring = new Ring(["a", "b", "c", "d", "e"], "a");
 * ring.successors;               // ["b", "c", "d", "e"]
 * ring.near;                     // ["c", "d", "e"]: they may name a
 * ring.confirmer(liveness, now); // "b" when b's got came in the last 750 ms, else "c" if live, …, else "b"
 * ```
 */
import { LIVENESS, type PeerLiveness } from "./liveness.ts";

/** This server's place among the servers of servers.txt. */
export class Ring {
  /** The peers after this server in ring order (wrapping). */
  readonly successors: readonly string[];
  /** The servers before this one that may name it confirmer (every peer when there are `near` + 1 servers or fewer), sorted. */
  readonly near: readonly string[];
  /** Every peer, sorted. */
  readonly peers: readonly string[];

  /** `ids`: every server of servers.txt in file order (this one among them). */
  constructor(ids: readonly string[], self: string) {
    const ring = ids.includes(self) ? ids : [self, ...ids];
    const at = ring.indexOf(self);
    this.successors = [...ring.slice(at + 1), ...ring.slice(0, at)].filter((id) => id !== self);
    this.peers = [...this.successors].sort();
    this.near = this.successors.length <= LIVENESS.near ? this.peers : this.successors.slice(-LIVENESS.near);
  }

  /**
   * The confirmer of a message made at `now`: the first successor whose
   * `got` came in the last liveNearMs (the near ones after this server send
   * theirs every gotNearEveryMs; those further on every gotAllEveryMs, so
   * for them liveFarMs), else the next one (the ack then waits for it);
   * undefined without peers.
   */
  confirmer(peers: PeerLiveness, now: number): string | undefined {
    const live = (id: string, i: number) => now - (peers.gotAt(id) ?? -Infinity) < (i < LIVENESS.near ? LIVENESS.liveNearMs : LIVENESS.liveFarMs);
    return this.successors.find(live) ?? this.successors[0];
  }
}
