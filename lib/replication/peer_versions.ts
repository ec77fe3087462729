/**
 * Peer protocol versions (docs/PEER_PROTOCOL.md "Versions and rolling
 * upgrades"): what each peer proved it speaks, and when to ask a peer that
 * has not proved this server's version again. A peer states its version in
 * the `hello` and `proof` of the epoch handshake (a line `v<N>`; none:
 * version 1). A server sends a versioned hello or proof only where it may be
 * read: a versioned hello first, a plain one when that went unanswered (a
 * version-1 peer drops the versioned one as malformed), and a versioned
 * proof only to a versioned hello. Until a peer has proved a version, it is
 * spoken to in the oldest dialect this release speaks (OLDEST_PEER_VERSION).
 *
 * Pure: time comes in as arguments.
 *
 * @example
 * ```ts
 * const pv = createPeerVersions();
 * pv.probe("b", now, () => "0123…") // a challenge to send in a versioned hello, or null
 * pv.answered("b", "0123…", 2)      // true: b proved version 2
 * pv.shared(["b", "c"])             // the version every peer speaks (1 while c is unknown)
 * ```
 */

/**
 * The peer protocol version this release speaks. Version 2: versions stated
 * in hello and proof. Version 3: a fan-out `add` may end with `got <at>`,
 * and a `leave` op may carry a reason (`leave why`, `leave quit`). Version 4:
 * a `got` may carry `silent`, the peers its sender has not heard from lately.
 */
export const PEER_PROTOCOL_VERSION = 4;
/** The version whose `leave` ops may carry a reason (`leave why`, `leave quit`): made only once every peer speaks it. */
export const LEAVE_REASON_VERSION = 3;
/** The version that reads a fan-out's `got` line: a fan-out carries it only when every peer speaks it. */
export const FAN_OUT_GOT_VERSION = 3;
/** The version that reads a `got`'s `silent` line (a `got` datagram, to a peer that proved it; on a fan-out, when every peer did). */
export const SILENT_VERSION = 4;
/** The oldest version this release still speaks to (version 4 still speaks 1): a peer that has not proved more is spoken to in it. */
export const OLDEST_PEER_VERSION = 1;

/** Probes, one every this many ms, while a peer's version is unknown or older (datagrams get lost)… */
const PROBE_FAST_MS = 250;
const FAST_PROBES = 4;
/** …then one every this many ms (an upgraded peer is found within it; a version-1 peer counts each as `malformed`). */
const PROBE_SLOW_MS = 30_000;

export type PeerVersions = {
  /** This server's version. */
  readonly own: number;
  /** What `peer` proved (1: it answered without a version line), or null while unknown. */
  of(peer: string): number | null;
  /** Records what `peer` proved by an epoch proof at `t` (1 for a proof without a version line). */
  set(peer: string, version: number, t: number): void;
  /** The challenge of a versioned `hello` to send `peer` now, or null when none is due (it proved `own` or more, or one went lately). */
  probe(peer: string, t: number, challenge: () => string): string | null;
  /** True when `challenge` is `peer`'s outstanding probe: its `version` is recorded. */
  answered(peer: string, challenge: string, version: number): boolean;
  /** Forgets what `peer` proved (a new encrypted session: it may have been upgraded); the next probe is a fast one. */
  forget(peer: string): void;
  /** The version all of `peers` speak: the least proved, OLDEST_PEER_VERSION for one not known, never above `own`. */
  shared(peers: Iterable<string>): number;
  /** True when this server and `peer` both speak version `n` (what `peer` proved; OLDEST_PEER_VERSION while unknown). */
  reads(peer: string, n: number): boolean;
};

/** Version bookkeeping for one server (`own`: its version, PEER_PROTOCOL_VERSION unless a test says otherwise). */
export function createPeerVersions(own = PEER_PROTOCOL_VERSION): PeerVersions {
  const versions = new Map<string, number>();
  const probes = new Map<string, { text: string; at: number; tries: number }>();
  return {
    own,
    of: (peer) => versions.get(peer) ?? null,
    set(peer, version, t) {
      versions.set(peer, version);
      // An older peer was just asked (its versioned hello went unanswered): the next probe is a slow one.
      if (version < own) probes.set(peer, { text: "", at: t, tries: FAST_PROBES });
      else probes.delete(peer);
    },
    probe(peer, t, challenge) {
      if (own < 2 || (versions.get(peer) ?? 0) >= own) return null;
      const p = probes.get(peer);
      if (p && t - p.at < (p.tries < FAST_PROBES ? PROBE_FAST_MS : PROBE_SLOW_MS)) return null;
      const text = challenge();
      probes.set(peer, { text, at: t, tries: (p?.tries ?? 0) + 1 });
      return text;
    },
    forget(peer) {
      versions.delete(peer);
      probes.delete(peer);
    },
    answered(peer, challenge, version) {
      const p = probes.get(peer);
      if (!p || p.text === "" || p.text !== challenge) return false;
      versions.set(peer, version);
      if (version >= own) probes.delete(peer);
      else probes.set(peer, { ...p, text: "" });
      return true;
    },
    shared(peers) {
      let v = own;
      for (const p of peers) v = Math.min(v, versions.get(p) ?? OLDEST_PEER_VERSION);
      return v;
    },
    reads: (peer, n) => own >= n && (versions.get(peer) ?? OLDEST_PEER_VERSION) >= n,
  };
}
