/**
 * Peer protocol versions in the epoch handshake (lib/replication/peer_versions.ts,
 * peer_auth.ts; docs/PEER_PROTOCOL.md "Versions and rolling upgrades"):
 * two version-2 servers learn each other's version; a version-2 server and a
 * version-1 one (simulated: createPeerAuth at version 1 behind a decoder that,
 * like the version-1 grammar, refuses a version line) still complete the
 * handshake, and the version-2 side speaks version 1 to it (no version line
 * reaches it but the probes, which it drops as malformed, few and bounded).
 * The real previous release is run against this one in tests/rolling_upgrade_test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer } from "../lib/wire/codec.ts";
import type { PeerDatagram, SignedPeerDatagram } from "../lib/wire/messages.ts";
import { createPeerAuth, type PeerAuth } from "../lib/replication/peer_auth.ts";
import { createPeerVersions, OLDEST_PEER_VERSION, PEER_PROTOCOL_VERSION } from "../lib/replication/peer_versions.ts";
import { mulberry32, randomBytes } from "../testing/prng.ts";
import { EMPTY } from "../lib/wire/vector.ts";

const KEY = new TextEncoder().encode("a cluster key for the version tests");
const ask = (from: string): PeerDatagram => ({ verb: "ask", from, nonce: "-", vector: EMPTY });

function decode(bytes: Uint8Array): SignedPeerDatagram {
  const r = decodePeer(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** A server: its authenticator and whether it reads version lines (version 1 does not). */
type Node = { id: string; auth: PeerAuth; readsVersions: boolean; malformed: number };

function pair(o: { key: Uint8Array | null; aVersion?: number; seed?: number }) {
  const r = mulberry32(o.seed ?? 3);
  const clock = { t: 1_700_000_000_000 };
  const mk = (id: string, peer: string, version?: number): Node => ({
    id,
    auth: createPeerAuth({ key: o.key, peers: [peer], now: () => clock.t, random: (n) => randomBytes(r, n), version }),
    readsVersions: (version ?? PEER_PROTOCOL_VERSION) >= 2,
    malformed: 0,
  });
  return { clock, a: mk("a", "b", o.aVersion), b: mk("b", "a") };
}

/** Delivers `d` sealed by `from` to `to`, and every answer back and forth; the datagrams `to`'s side dropped as malformed count. */
function send(from: Node, to: Node, d: PeerDatagram): void {
  let [src, dst, next]: [Node, Node, PeerDatagram | undefined] = [from, to, d];
  for (let hops = 0; next && hops < 6; hops++) {
    const sd = decode(src.auth.seal({ ...next, from: src.id }));
    const versioned = (sd.datagram.verb === "hello" || sd.datagram.verb === "proof") && sd.datagram.version !== undefined;
    if (versioned && !dst.readsVersions) {
      dst.malformed++; // the version-1 grammar has no version line
      return;
    }
    next = dst.auth.verify(sd).answer;
    [src, dst] = [dst, src];
  }
}

/** Both send each other an `ask` every 100 ms for `ms`. */
function traffic(p: ReturnType<typeof pair>, ms: number): void {
  for (let t = 0; t < ms; t += 100) {
    p.clock.t += 100;
    send(p.a, p.b, ask("a"));
    send(p.b, p.a, ask("b"));
  }
}

test("two version-2 servers, keyed: each learns the other's version in the epoch handshake", () => {
  const p = pair({ key: KEY });
  traffic(p, 1000);
  assert.is(p.a.auth.versions.of("b"), PEER_PROTOCOL_VERSION);
  assert.is(p.b.auth.versions.of("a"), PEER_PROTOCOL_VERSION);
  assert.is(p.b.auth.versions.shared(["a"]), PEER_PROTOCOL_VERSION);
  assert.ok(p.b.auth.verify(decode(p.a.auth.seal(ask("a")))).ok, "datagrams pass after the handshake");
});

test("two version-2 servers without a key learn each other's version by probes", () => {
  const p = pair({ key: null });
  traffic(p, 1000);
  assert.is(p.a.auth.versions.of("b"), PEER_PROTOCOL_VERSION);
  assert.is(p.b.auth.versions.of("a"), PEER_PROTOCOL_VERSION);
});

for (const key of [KEY, null]) {
  test(`a version-1 peer (${key ? "keyed" : "no key"}): the handshake completes, it is spoken to as version 1, few probes reach it`, () => {
    const p = pair({ key, aVersion: 1 });
    traffic(p, 5 * 60_000);
    assert.is(p.b.auth.versions.shared(["a"]), OLDEST_PEER_VERSION);
    if (key) assert.is(p.b.auth.versions.of("a"), 1, "proved version 1 (a proof without a version line)");
    else assert.is(p.b.auth.versions.of("a"), null, "a version-1 server without a key never answers a hello");
    // Datagrams from the version-1 side pass at b (keyed: its epoch was proved with a plain hello).
    const v = p.b.auth.verify(decode(p.a.auth.seal(ask("a"))));
    assert.ok(v.ok, JSON.stringify(v));
    // What the version-1 side dropped: the first versioned hellos, then one probe every 30 s.
    assert.ok(p.a.malformed <= 6 + (5 * 60) / 30, `${p.a.malformed} versioned datagrams reached the version-1 side in 5 minutes`);
  });
}

test("a peer upgraded to this version is found by the next probe; shared() is the least of the peers", () => {
  const pv = createPeerVersions();
  pv.set("b", 1, 0);
  assert.is(pv.probe("b", 1000, () => "x".repeat(32)), null, "not at once after an older peer's proof");
  const c = pv.probe("b", 30_000, () => "c".repeat(32));
  assert.is(c, "c".repeat(32));
  assert.is(pv.answered("b", "d".repeat(32), 2), false, "another challenge proves nothing");
  assert.is(pv.answered("b", c!, PEER_PROTOCOL_VERSION), true);
  assert.is(pv.of("b"), PEER_PROTOCOL_VERSION);
  assert.is(pv.probe("b", 90_000, () => "e".repeat(32)), null, "no probes once it speaks our version");
  assert.is(pv.shared(["b", "z"]), OLDEST_PEER_VERSION, "an unknown peer counts as the oldest version");
  assert.is(pv.shared(["b"]), PEER_PROTOCOL_VERSION);
});

test.run();
