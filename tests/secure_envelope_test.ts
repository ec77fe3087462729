/**
 * lib/secure/envelope.ts: the layouts of docs/PROTOCOL.md "Encrypted
 * transport" (sizes, first bytes, what counts as plaintext), and under
 * fast-check: no bytes — random, or a valid datagram mutated — make
 * decodeEnvelope or any transport's `receive` throw, and none but the
 * genuine datagram yields a plaintext.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { decodeEnvelope, DATA_OVERHEAD, encodeDataHeader, KIND } from "../lib/secure/envelope.ts";
import { PeerTransport } from "../lib/secure/peer_transport.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { seeded, staticKey, text } from "./_secure.ts";

const A = "192.0.2.1:5000";
const serverKey = staticKey("server");

/** A server and a client with a session, and one datagram of each kind they exchanged. */
function exchange() {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(1), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(2) });
  const [initiation] = client.seal(text("login\n1\nbob\n"), 0);
  const response = server.receive(initiation, A, 0).send!;
  const [data] = client.receive(response, 0).send;
  const r = server.receive(data, A, 0);
  if (r.kind !== "data") throw new Error("no session");
  const reply = server.seal(r.session, text("ok\n1\n"), 0)!.bytes;
  const cookie = new ServerTransport({ staticKey: serverKey, ...seeded(3), now: 0 }).receive(initiation, A, 0, true).send!;
  return { server, client, initiation, response, data, reply, cookie };
}

test("sizes and first bytes of every kind", () => {
  const x = exchange();
  assert.equal([x.initiation.length, x.initiation[0]], [85, KIND.initiation]);
  assert.equal([x.response.length, x.response[0]], [73, KIND.response]);
  assert.equal([x.cookie.length, x.cookie[0]], [61, KIND.cookie]);
  assert.equal([x.data.length, x.data[0]], [DATA_OVERHEAD + 12, KIND.data]);
  assert.is(DATA_OVERHEAD, 29);
  const peers = new PeerTransport({ selfId: "ab", staticKey: staticKey("a"), peers: [{ id: "b", publicKey: staticKey("b").publicKey }], clusterKey: null, ...seeded(4), now: 0 });
  const [init] = peers.seal("b", text("x"), 0);
  assert.equal([init.length, init[0], init[5]], [86 + 2, KIND.peerInitiation, 2]);
  assert.is(decodeEnvelope(init).kind, "peer-initiation");
  // A reset: 21 bytes, smaller than the smallest data datagram.
  const reset = new ServerTransport({ staticKey: serverKey, ...seeded(5), now: 0 }).receive(x.data, A, 0).send!;
  assert.equal([reset.length, reset[0]], [21, KIND.reset]);
});

test("plaintext protocol, reserved and malformed datagrams", () => {
  for (const s of ["login\n1\nbob\n", "", " ", "\u00e9", "Z"]) assert.is(decodeEnvelope(text(s)).kind, "plaintext", JSON.stringify(s));
  for (const b of [0x00, 0x08, 0x1f]) assert.is(decodeEnvelope(Uint8Array.of(b, 1, 2, 3)).kind, "reserved");
  const x = exchange();
  for (const good of [x.initiation, x.response, x.cookie, x.data]) {
    assert.is(decodeEnvelope(good.subarray(0, good[0] === KIND.data ? DATA_OVERHEAD - 1 : good.length - 1)).kind, "malformed");
    if (good[0] !== KIND.data) assert.is(decodeEnvelope(Uint8Array.of(...good, 0)).kind, "malformed");
  }
  // A counter above 2^53 − 1 is no counter any session reaches.
  const big = Uint8Array.of(...encodeDataHeader(1, 0), ...new Uint8Array(16));
  big[12] = 0x00;
  big[11] = 0x20;
  assert.is(decodeEnvelope(big).kind, "malformed");
  big[11] = 0x1f;
  assert.is(decodeEnvelope(big).kind, "data");
  // A peer initiation whose id is not a server id.
  const peers = new PeerTransport({ selfId: "a", staticKey: staticKey("a"), peers: [{ id: "b", publicKey: staticKey("b").publicKey }], clusterKey: null, ...seeded(4), now: 0 });
  const [init] = peers.seal("b", text("x"), 0);
  for (const bad of [0x41, 0x2e, 0x0a]) {
    const m = init.slice();
    m[6] = bad;
    assert.is(decodeEnvelope(m).kind, "malformed", `id byte ${bad}`);
  }
  const zero = init.slice();
  zero[5] = 0;
  assert.is(decodeEnvelope(zero).kind, "malformed");
});

test("random bytes never make a decoder or a transport throw, nor give a plaintext (fast-check)", () => {
  const x = exchange();
  const peers = new PeerTransport({ selfId: "a", staticKey: staticKey("a"), peers: [{ id: "b", publicKey: staticKey("b").publicKey }], clusterKey: null, ...seeded(6), now: 0 });
  const kinds = new Set(["initiation", "peer-initiation", "response", "cookie", "data", "group", "reset", "plaintext", "reserved", "malformed"]);
  const transportLike = fc.tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 120 })).map(([k, rest]) => Uint8Array.of(k, ...rest));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), transportLike), (b) => {
      assert.ok(kinds.has(decodeEnvelope(b).kind));
      const s = x.server.receive(b, A, 1);
      assert.ok(s.kind !== "data" && s.kind !== "control", s.kind);
      assert.is(x.client.receive(b, 1).plaintext, null);
      assert.is(peers.receive(b, A, 1).plaintext, null);
    }),
    { numRuns: 20_000 },
  );
});

test("mutated valid datagrams never throw, and only the genuine one opens (fast-check)", () => {
  const x = exchange();
  const samples = [x.initiation, x.response, x.cookie, x.data, x.reply];
  const mutation = fc.tuple(
    fc.constantFrom(...samples.keys()),
    fc.array(fc.tuple(fc.nat(100), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat(100)),
  );
  fc.assert(
    fc.property(mutation, ([which, flips, cut]) => {
      let m = samples[which].slice();
      for (const [at, xor] of flips) m[at % m.length] ^= xor;
      if (cut !== null) m = m.subarray(0, cut % (m.length + 1));
      // Two flips of one byte may cancel out: that is no mutation.
      const original = samples[which];
      fc.pre(m.length !== original.length || m.some((b, i) => b !== original[i]));
      const s = x.server.receive(m, A, 2);
      assert.ok(s.kind !== "data" && s.kind !== "control", `server took a mutated ${samples[which][0]}`);
      const c = x.client.receive(m, 2);
      assert.is(c.plaintext, null);
      assert.is(c.event, null);
    }),
    { numRuns: 5_000 },
  );
});

test.run();
