/**
 * Authentication of server-network datagrams (protocol.peggy "Server
 * network"): with a cluster key every datagram carries a nonce
 * `<digits>.<16 hex digits>` and a mac line, the hex HMAC-SHA256 under the
 * key of every byte before that line. Every receiver drops a datagram that
 *
 * - comes from a server that is not one of its peers (`unknown-peer`),
 * - has no nonce or no mac while a key is required (`unauthenticated`),
 * - has a mac that does not match (`bad-mac`, compared in constant time).
 *
 * What the nonce means, and how replays are refused, is each
 * authenticator's: createPeerAuth (servers: `<counter>.<epoch>`, proved by
 * challenge, no clock) and createStatAuth (the status tool: `<ms>.<random>`
 * within a time window). Without a key, nonce and mac are "-" and only the
 * peer is checked (the server warns about that once at start).
 *
 * Time and randomness come in as arguments; nothing here reads a clock.
 *
 * @example
 * ```ts
 * const auth = createPeerAuth({ key, peers: ["b", "c"], now: Date.now, random: randomBytes });
 * const bytes = auth.seal({ verb: "ask", from: "a", nonce: "-", vector: EMPTY });
 * const r = decodePeer(received);
 * if (r.ok) { const v = auth.verify(r.value); if (!v.ok) drops[v.reason]++; }
 * ```
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { encodePeer } from "../wire/codec.ts";
import type { PeerDatagram, SignedPeerDatagram } from "../wire/messages.ts";
import { createPeerVersions, type PeerVersions } from "./peer_versions.ts";

/** Why a peer datagram was refused; servers count them by this name. */
export type AuthDropReason = "unknown-peer" | "unauthenticated" | "bad-mac" | "stale" | "replay" | "unknown-epoch" | "bad-proof";

/**
 * Accepted; or refused, by reason; either with maybe a datagram to send back
 * to the sender's servers.txt address (a `hello` for an unknown epoch or
 * asking the peer's protocol version, a `proof` for a `hello`).
 * "handshake": a hello or proof, consumed (not a drop).
 */
export type AuthResult = { ok: true; answer?: PeerDatagram } | { ok: false; reason: AuthDropReason | "handshake"; answer?: PeerDatagram };

export type PeerAuthOptions = {
  /** The cluster key (the bytes of the `--cluster-key` file), or null for none. */
  key: Uint8Array | null;
  /** Server ids this node accepts datagrams from (its peers, not itself); "any" for status queries (`stat`). */
  peers: Iterable<string> | "any";
  /** Milliseconds since the Unix epoch. */
  now: () => number;
  /** `n` random bytes (node:crypto randomBytes in production). */
  random: (n: number) => Uint8Array;
  /** Largest accepted |now - nonce time|, ms. Default 30000. */
  windowMs?: number;
  /** Most nonces remembered. Default 100000. */
  maxNonces?: number;
  /** This server's peer protocol version (default PEER_PROTOCOL_VERSION; tests pass an older one). */
  version?: number;
  /** The version bookkeeping to use (shared by the encrypted peer links' two authenticators); default a new one. */
  versions?: PeerVersions;
};

export interface PeerAuth {
  /** True when a cluster key is in use. */
  readonly keyed: boolean;
  /** Encodes `d` with a fresh nonce (its own `nonce` is ignored) and its mac. */
  seal(d: PeerDatagram): Uint8Array;
  /** Checks a decoded datagram; accepting it records its nonce. */
  verify(s: SignedPeerDatagram): AuthResult;
  /** Nonces currently remembered. */
  readonly rememberedNonces: number;
  /** The servers datagrams are accepted from change (a membership change); what is known of those that stay is kept. */
  setPeers?(peers: Iterable<string>): void;
  /** Peer protocol versions proved by the peers (createStatAuth: none). */
  readonly versions: PeerVersions;
}

/** `<digits>.<16 hex digits>`: counter and epoch (peers), or ms and random bits (`stat`). */
const NONCE = /^(\d{1,16})\.([0-9a-f]{16})$/;

/** Hex HMAC-SHA256 of `signed` (its UTF-8 bytes) under `key`. */
export function peerMac(key: Uint8Array, signed: string): string {
  return createHmac("sha256", key).update(signed, "utf8").digest("hex");
}

/** A `hello` (challenge `text`) stating `version` when given and above 1 (version 1 had no version line). */
function hello(text: string, version?: number): PeerDatagram {
  return { verb: "hello", from: "", nonce: "-", challenge: text, ...(version === undefined || version < 2 ? {} : { version }) };
}

/** The `proof` answering hello `d`: versioned only when the hello was (a plain hello's sender may not read a version line). */
function proofFor(d: PeerDatagram & { verb: "hello" }, own: number): PeerDatagram {
  return { verb: "proof", from: "", nonce: "-", challenge: d.challenge, ...(d.version === undefined || own < 2 ? {} : { version: own }) };
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** True when `mac` is the mac of `signed` under `key` (compared in constant time). */
export function macMatches(key: Uint8Array, signed: string, mac: string): boolean {
  const want = fromHex(peerMac(key, signed));
  const got = fromHex(mac);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * The checks every authenticator makes (the module comment's list): the
 * refusal, or the nonce's two parts once the sender and the mac check
 * (`null` nonce: no key, nothing more to check).
 */
function checkSigned(
  sd: SignedPeerDatagram,
  peers: ReadonlySet<string> | null,
  key: Uint8Array | null,
): { refused: AuthResult } | { nonce: [number, string] | null } {
  if (peers !== null && !peers.has(sd.datagram.from)) return { refused: { ok: false, reason: "unknown-peer" } };
  if (key === null) return { nonce: null };
  const m = NONCE.exec(sd.datagram.nonce);
  if (m === null || sd.mac === "-") return { refused: { ok: false, reason: "unauthenticated" } };
  if (!macMatches(key, sd.signed, sd.mac)) return { refused: { ok: false, reason: "bad-mac" } };
  return { nonce: [Number(m[1]), m[2]] };
}

/** Counters of one sender's epoch that a receiver remembers below the highest (reordering window). */
const WINDOW = 4096;
/** A receiver asks one peer to prove its epoch at most this often, ms. */
const HELLO_EVERY_MS = 250;
/** A server answers one peer's hellos at most this often, ms. */
const PROOF_EVERY_MS = 50;

/** A peer's proven epoch: counters at or below `floor` are refused; `seen` holds those accepted above it. */
type Known = { epoch: string; floor: number; high: number; seen: Set<number> };

/** Counter `n` of a proven epoch: accepted (null) once, within the window, or refused. */
function checkCounter(k: Known, n: number): AuthResult | null {
  if (n <= k.floor) return { ok: false, reason: "stale" };
  if (k.seen.has(n)) return { ok: false, reason: "replay" };
  k.seen.add(n);
  if (n > k.high) k.high = n;
  if (k.seen.size > 2 * WINDOW) {
    k.floor = Math.max(k.floor, k.high - WINDOW);
    for (const x of k.seen) if (x <= k.floor) k.seen.delete(x);
  }
  return null;
}

/**
 * The authenticator of the server network, which does not trust clocks
 * (docs/PEER_PROTOCOL.md "Authentication and drops"). Each run of a server
 * draws a random 64-bit *epoch* and numbers its datagrams 1, 2, 3, …: the
 * nonce is `<counter>.<epoch>`. A receiver accepts from a peer only the
 * epoch that peer proved to it, and each counter of it once, within a
 * window of the highest seen. A datagram of an unknown epoch (the peer
 * restarted, or this receiver did, or it is a replay of an old run) is
 * dropped and answered with `hello <challenge>`; the peer answers `proof
 * <challenge>`, sealed with its current nonce, and from then on only its
 * later counters pass. So no datagram accepted before a restart of either
 * side is ever accepted after it, and no clock is read. Hellos and proofs
 * also carry protocol versions (lib/replication/peer_versions.ts, in `versions`).
 */
export function createPeerAuth(options: PeerAuthOptions & { peers: Iterable<string> }): PeerAuth {
  const { key, now, random } = options;
  const peers = new Set(options.peers);
  const versions = options.versions ?? createPeerVersions(options.version);
  const epoch = hex(random(8));
  let counter = 0;
  const known = new Map<string, Known>();
  /** Outstanding epoch challenges; `versioned`: its hello stated our version. */
  const challenges = new Map<string, { text: string; at: number; versioned: boolean }>();
  const proofAt = new Map<string, number>();
  const challenge = () => hex(random(16));

  /** A hello: answered by a proof, at a bounded rate (anyone with the key may ask; a replayed hello only costs a proof). */
  function answerHello(d: PeerDatagram & { verb: "hello" }, t: number): AuthResult {
    const last = proofAt.get(d.from) ?? -Infinity;
    if (t - last < PROOF_EVERY_MS) return { ok: false, reason: "handshake" };
    proofAt.set(d.from, t);
    return { ok: false, reason: "handshake", answer: proofFor(d, versions.own) };
  }

  /** Accepted: with a versioned hello when the peer's version is to be asked (again). */
  function accepted(from: string, t: number): AuthResult {
    const text = versions.probe(from, t, challenge);
    return text === null ? { ok: true } : { ok: true, answer: hello(text, versions.own) };
  }

  /** A proof with a nonce of epoch `theirs`, counter `n`. */
  function proved(d: PeerDatagram & { verb: "proof" }, n: number, theirs: string, t: number): AuthResult {
    const c = challenges.get(d.from);
    const version = d.version ?? 1;
    if (c && c.text === d.challenge) {
      challenges.delete(d.from);
      versions.set(d.from, version, t);
    } else if (!versions.answered(d.from, d.challenge, version)) return { ok: false, reason: "bad-proof" };
    // Everything that peer sent before this proof is refused from now on (a proof of the epoch already known changes nothing).
    if (known.get(d.from)?.epoch !== theirs) known.set(d.from, { epoch: theirs, floor: n, high: n, seen: new Set() });
    return { ok: false, reason: "handshake" };
  }

  /** A datagram of an epoch not proved: dropped, and a hello (versioned unless the last, versioned, went unanswered). */
  function unknownEpoch(from: string, t: number): AuthResult {
    const c = challenges.get(from);
    if (c && t - c.at < HELLO_EVERY_MS) return { ok: false, reason: "unknown-epoch" };
    const versioned = !(c?.versioned ?? false);
    const text = challenge();
    challenges.set(from, { text, at: t, versioned });
    return { ok: false, reason: "unknown-epoch", answer: hello(text, versioned ? versions.own : undefined) };
  }

  return {
    keyed: key !== null,
    setPeers: (ids) => replaceAll(peers, ids),
    versions,
    get rememberedNonces() {
      return [...known.values()].reduce((n, k) => n + k.seen.size, 0);
    },
    seal(d) {
      if (key === null) return encodePeer({ ...d, nonce: "-" });
      return encodePeer({ ...d, nonce: `${++counter}.${epoch}` }, (signed) => peerMac(key, signed));
    },
    verify(sd) {
      const checked = checkSigned(sd, peers, key);
      if ("refused" in checked) return checked.refused;
      const d = sd.datagram;
      const t = now();
      if (d.verb === "hello") return d.version === undefined && checked.nonce === null ? { ok: false, reason: "handshake" } : answerHello(d, t);
      if (checked.nonce === null) {
        // No key, no epochs: hellos and proofs only tell versions.
        if (d.verb === "proof") versions.answered(d.from, d.challenge, d.version ?? 1);
        return d.verb === "proof" ? { ok: false, reason: "handshake" } : accepted(d.from, t);
      }
      const [n, theirs] = checked.nonce;
      if (d.verb === "proof") return proved(d, n, theirs, t);
      const k = known.get(d.from);
      if (!k || k.epoch !== theirs) return unknownEpoch(d.from, t);
      return checkCounter(k, n) ?? accepted(d.from, t);
    },
  };
}

/** `set` holds `items` now, and nothing else. */
function replaceAll<T>(set: Set<T>, items: Iterable<T>): void {
  set.clear();
  for (const x of items) set.add(x);
}

/**
 * The authenticator of `stat` queries (the status tool, which keeps no
 * state): nonces are `<ms>.<random>`, accepted within `windowMs` of this
 * server's clock and once. Peers use createPeerAuth, which needs no clock.
 */
export function createStatAuth(options: PeerAuthOptions): PeerAuth {
  const { key, now, random } = options;
  const peers = options.peers === "any" ? null : new Set(options.peers);
  const windowMs = options.windowMs ?? 30_000;
  const maxNonces = options.maxNonces ?? 100_000;
  /** "from nonce" -> the nonce's ms, in insertion order. */
  const seen = new Map<string, number>();
  /** Nonces with a time at or below this are stale (restart, or forgotten when full). */
  let floor = now() - 1;
  let lastSweep = now();

  function sweep(t: number): void {
    if (t - lastSweep < windowMs / 4 && seen.size < maxNonces) return;
    lastSweep = t;
    for (const [k, ms] of seen) if (ms < t - windowMs) seen.delete(k);
    for (const [k, ms] of seen) {
      if (seen.size < maxNonces) break;
      seen.delete(k);
      if (ms > floor) floor = ms;
    }
  }

  return {
    keyed: key !== null,
    versions: createPeerVersions(),
    get rememberedNonces() {
      return seen.size;
    },
    seal(d) {
      if (key === null) return encodePeer({ ...d, nonce: "-" });
      const nonce = `${Math.floor(now())}.${hex(random(8))}`;
      return encodePeer({ ...d, nonce }, (signed) => peerMac(key, signed));
    },
    verify(sd) {
      const checked = checkSigned(sd, peers, key);
      if ("refused" in checked) return checked.refused;
      if (checked.nonce === null) return { ok: true };
      const datagram = sd.datagram;
      const t = now();
      const ms = checked.nonce[0];
      if (Math.abs(t - ms) > windowMs || ms <= floor) return { ok: false, reason: "stale" };
      const id = `${datagram.from} ${datagram.nonce}`;
      if (seen.has(id)) return { ok: false, reason: "replay" };
      sweep(t);
      seen.set(id, ms);
      return { ok: true };
    },
  };
}
