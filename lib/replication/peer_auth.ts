/**
 * Authentication of server-network datagrams (protocol.peggy "Server
 * network"): with a cluster key every datagram carries a nonce
 * `<ms>.<16 hex digits>` and a mac line, the hex HMAC-SHA256 under the key of
 * every byte before that line. A receiver drops a datagram that
 *
 * - comes from a server that is not one of its peers (`unknown-peer`),
 * - has no nonce or no mac while a key is required (`unauthenticated`),
 * - has a mac that does not match (`bad-mac`, compared in constant time),
 * - has a nonce whose time is more than `windowMs` away from ours, or older
 *   than this receiver (so replays of datagrams sent before a restart are
 *   refused) (`stale`),
 * - repeats a nonce already accepted from that sender (`replay`).
 *
 * Seen nonces are kept for `windowMs` (older ones are refused as stale
 * anyway), at most `maxNonces` of them: when full, the oldest are forgotten
 * and anything not newer than them counts as stale, so a replay is never let
 * through. Without a key, nonce and mac are "-" and only the peer is checked
 * (the server warns about that once at start).
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

/** Why a peer datagram was refused; servers count them by this name. */
export type AuthDropReason = "unknown-peer" | "unauthenticated" | "bad-mac" | "stale" | "replay";

export type AuthResult = { ok: true } | { ok: false; reason: AuthDropReason };

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
}

const NONCE = /^(\d{1,16})\.[0-9a-f]{16}$/;

/** Hex HMAC-SHA256 of `signed` (its UTF-8 bytes) under `key`. */
export function peerMac(key: Uint8Array, signed: string): string {
  return createHmac("sha256", key).update(signed, "utf8").digest("hex");
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

/** Builds the authenticator of one server; see the module comment. */
export function createPeerAuth(options: PeerAuthOptions): PeerAuth {
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
    get rememberedNonces() {
      return seen.size;
    },
    seal(d) {
      if (key === null) return encodePeer({ ...d, nonce: "-" });
      const nonce = `${Math.floor(now())}.${hex(random(8))}`;
      return encodePeer({ ...d, nonce }, (signed) => peerMac(key, signed));
    },
    verify({ datagram, signed, mac }) {
      if (peers !== null && !peers.has(datagram.from)) return { ok: false, reason: "unknown-peer" };
      if (key === null) return { ok: true };
      const m = NONCE.exec(datagram.nonce);
      if (m === null || mac === "-") return { ok: false, reason: "unauthenticated" };
      if (!macMatches(key, signed, mac)) return { ok: false, reason: "bad-mac" };
      const t = now();
      const ms = Number(m[1]);
      if (Math.abs(t - ms) > windowMs || ms <= floor) return { ok: false, reason: "stale" };
      const id = `${datagram.from} ${datagram.nonce}`;
      if (seen.has(id)) return { ok: false, reason: "replay" };
      sweep(t);
      seen.set(id, ms);
      return { ok: true };
    },
  };
}
