/**
 * lib/secure/server_transport.ts and client_transport.ts together, in
 * memory (no sockets, time moved by hand): round trips; replayed,
 * reordered, truncated and bit-flipped datagrams dropped with no state
 * change; address proof, roaming and path validation; sessions waiting for
 * their first datagram; resets after a server restart; sealed datagrams
 * that share no bytes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { ServerTransport, type ServerTransportOptions } from "../lib/secure/server_transport.ts";
import { read, seeded, staticKey, text } from "./_secure.ts";

const A = "192.0.2.1:5000", B = "198.51.100.7:6000", C = "203.0.113.9:7000";
const serverKey = staticKey("server");

/** A client with a session at a server, made from address A at time 0 (its first datagram, a login, delivered). */
function connect(o: Partial<ServerTransportOptions> = {}, seed = 1) {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(seed), now: 0, ...o });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(seed + 1000), limits: o.limits });
  const [init] = client.seal(text("login\n1\nbob\n"), 0);
  const hs = server.receive(init, A, 0);
  assert.is(hs.kind, "handshake");
  const got = client.receive(hs.send!, 0);
  assert.is(got.event, "established");
  const first = server.receive(got.send[0], A, 0);
  if (first.kind !== "data") throw new Error(`expected data, got ${first.kind}`);
  assert.is(read(first.plaintext), "login\n1\nbob\n");
  return { server, client, session: first.session };
}

/** Sends `s` from the client (one sealed datagram) and returns its bytes. */
function sealOne(client: ClientTransport, s: string, now: number): Uint8Array {
  const out = client.seal(text(s), now);
  assert.is(out.length, 1);
  return out[0];
}

test("round trips both ways, 0 to 8,192 bytes; replies go to the client's address, proven", () => {
  const { server, client, session } = connect();
  for (const n of [0, 1, 200, 1400, 8192]) {
    const body = "x".repeat(n);
    const r = server.receive(sealOne(client, body, 1), A, 1);
    if (n === 0) {
      assert.is(r.kind, "control");
      continue;
    }
    assert.is(r.kind === "data" && read(r.plaintext), body);
    const reply = server.seal(session, text(body), 1)!;
    assert.equal([reply.address, reply.proven], [A, true]);
    assert.is(read(client.receive(reply.bytes, 1).plaintext), body);
  }
});

test("sealed datagrams kept together share no bytes (they are cut from shared slabs): each still opens after 2,000 more were sealed", () => {
  const { server, client, session } = connect();
  const bodies = Array.from({ length: 2000 }, (_, i) => `${i} `.repeat(1 + (i * 37) % (i % 100 === 0 ? 2000 : 150)));
  const replies = bodies.map((b) => server.seal(session, text(b), 1)!.bytes);
  const requests = bodies.map((b) => sealOne(client, b, 1));
  bodies.forEach((b, i) => {
    assert.is(read(client.receive(replies[i], 1).plaintext), b, `reply ${i}`);
    const r = server.receive(requests[i], A, 1);
    assert.is(r.kind === "data" && read(r.plaintext), b, `request ${i}`);
  });
});

test("a replayed datagram is dropped each time and changes nothing", () => {
  const { server, client, session } = connect();
  const d = sealOne(client, "add\n2\nT\nhi\nlobby\n", 1);
  assert.is(server.receive(d, A, 1).kind, "data");
  const before = server.describe(session, 1);
  for (const from of [A, B]) {
    const r = server.receive(d, from, 2);
    assert.equal([r.kind, r.kind === "drop" && r.reason, r.send], ["drop", "replay", null]);
  }
  assert.equal(server.describe(session, 2), before, "a replay from another address does not move the session");
  // And replies: a replayed reply is dropped by the client.
  const reply = server.seal(session, text("ok\n2\n"), 2)!.bytes;
  assert.is(read(client.receive(reply, 2).plaintext), "ok\n2\n");
  assert.equal(client.receive(reply, 2).drop, "replay");
});

test("reordered datagrams within the window are taken once each; older than the window are stale", () => {
  const { server, client } = connect();
  const sent = Array.from({ length: 40 }, (_, i) => sealOne(client, `m${i}\n`, 1));
  const order = [...sent.keys()].reverse();
  const got = order.map((i) => server.receive(sent[i], A, 1)).map((r) => (r.kind === "data" ? read(r.plaintext) : r.kind));
  assert.equal(got, order.map((i) => `m${i}\n`));
  // Push the window 1,100 counters on (the client's window is 1,024 bits): an unreceived old one is stale.
  const late = sealOne(client, "late\n", 1);
  for (let i = 0; i < 1100; i++) client.seal(text("skip\n"), 1);
  assert.is(server.receive(sealOne(client, "newest\n", 1), A, 1).kind, "data");
  const r = server.receive(late, A, 1);
  assert.equal([r.kind, r.kind === "drop" && r.reason], ["drop", "stale"]);
});

test("every truncation and every flipped bit of a data datagram is dropped; the original still opens after", () => {
  const { server, client, session } = connect();
  const d = sealOne(client, "request\n3\nT\nlobby\n0\n", 1);
  const before = server.describe(session, 1);
  for (let len = 0; len < d.length; len++) {
    const r = server.receive(d.subarray(0, len), A, 1);
    assert.ok(r.kind === "drop" || r.kind === "plaintext", `length ${len}: ${r.kind}`);
  }
  for (let bit = 0; bit < d.length * 8; bit++) {
    const m = d.slice();
    m[bit >> 3] ^= 1 << (bit & 7);
    const r = server.receive(m, B, 1);
    assert.ok(r.kind === "drop" || r.kind === "plaintext", `bit ${bit}: ${r.kind}`);
  }
  assert.equal(server.describe(session, 1), before);
  const r = server.receive(d, A, 1);
  assert.is(r.kind === "data" && read(r.plaintext), "request\n3\nT\nlobby\n0\n");
});

test("a tampered handshake makes no session; the genuine one still completes", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(5), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(6) });
  const [init] = client.seal(text("login\n1\nbob\n"), 0);
  // Every bit before mac2 (mac2 is only checked under load).
  for (let bit = 0; bit < (init.length - 16) * 8; bit++) {
    const m = init.slice();
    m[bit >> 3] ^= 1 << (bit & 7);
    const kind = server.receive(m, A, 0).kind;
    assert.ok(kind === "drop" || kind === "plaintext", `bit ${bit}: ${kind}`);
  }
  assert.equal([server.counts.handshakes, server.counts.pending], [0, 0]);
  const response = server.receive(init, A, 0).send!;
  for (let bit = 0; bit < response.length * 8; bit += 7) {
    const m = response.slice();
    m[bit >> 3] ^= 1 << (bit & 7);
    const r = client.receive(m, 0);
    assert.equal([r.event, r.plaintext], [null, null], `bit ${bit}`);
  }
  assert.is(client.established(0), false);
  assert.is(client.receive(response, 0).event, "established");
});

test("a wrong server key: the server drops the initiation (bad-mac1) and does no handshake", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(7), now: 0 });
  const client = new ClientTransport({ serverKey: staticKey("someone else").publicKey, ...seeded(8) });
  const r = server.receive(client.seal(text("login\n1\nbob\n"), 0)[0], A, 0);
  assert.equal([r.kind, r.kind === "drop" && r.reason, server.counts.handshakes], ["drop", "bad-mac1", 0]);
});

test("datagrams sealed before the session wait and go in order once it is up; nothing is sent before the first arrives", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(9), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(10) });
  const first = client.seal(text("one\n"), 0);
  assert.is(first.length, 1, "only the initiation");
  assert.equal(client.seal(text("two\n"), 10), [], "waits: the initiation is not due again yet");
  assert.equal(client.seal(text("one\n"), 20), [], "a retransmission of a waiting datagram");
  assert.is(client.queued, 2, "waits once");
  const hs = server.receive(first[0], A, 10);
  assert.is(server.counts.pending, 1);
  const up = client.receive(hs.send!, 20);
  const got = up.send.map((d) => server.receive(d, A, 20)).map((r) => (r.kind === "data" ? read(r.plaintext) : r.kind));
  assert.equal(got, ["one\n", "two\n"]);
});

test("an initiation unanswered for a second goes again, new; a late answer to the earlier one still completes", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(11), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(12) });
  const [a] = client.seal(text("one\n"), 0);
  const [b] = client.seal(text("two\n"), 1000);
  assert.ok(a.join() !== b.join());
  const late = server.receive(a, A, 1100).send!;
  assert.is(client.receive(late, 1100).event, "established");
});

test("a pending session unconfirmed for 10 s is forgotten; its datagrams then get a reset", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(13), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(14) });
  const [init] = client.seal(text("one\n"), 0);
  const up = client.receive(server.receive(init, A, 0).send!, 0);
  const r = server.receive(up.send[0], A, 10_000);
  assert.equal([r.kind, r.kind === "drop" && r.reason], ["drop", "unknown-session"]);
  assert.ok(r.send !== null, "a reset");
  const again = client.receive(r.send!, 10_000);
  assert.equal([again.event, again.send.length], ["reset", 1]);
});

test("address proof: the handshake's address is proven by the first datagram; another address must echo a challenge", () => {
  const { server, client, session } = connect();
  assert.equal(server.describe(session, 1), { address: A, proven: true, pending: false });
  // The client moves (NAT rebinding): B gets a challenge; replies go to B, unproven, until it is echoed.
  const moved = server.receive(sealOne(client, "who\n4\nT\nlobby\n", 1), B, 1);
  assert.equal([moved.kind, moved.kind === "data" && moved.address, moved.kind === "data" && moved.proven], ["data", B, false]);
  assert.ok(moved.send !== null, "a path challenge to B");
  assert.equal([server.seal(session, text("ok\n4\n"), 1)!.address, server.seal(session, text("ok\n4\n"), 1)!.proven], [B, false]);
  // A second datagram from B within a second gets no second challenge.
  assert.is(server.receive(sealOne(client, "x\n", 1), B, 1).send, null);
  const echo = client.receive(moved.send!, 1);
  assert.is(echo.send.length, 1);
  // The echo from C proves nothing (it moves the session to C, which gets its own challenge).
  const fromC = server.receive(echo.send[0], C, 2);
  assert.equal([fromC.kind === "control" && fromC.proven, fromC.kind === "control" && fromC.address], [false, C]);
  // Back at B with the echo of B's challenge: B is proven.
  const again = client.receive(fromC.send!, 2);
  const atB = server.receive(sealOne(client, "y\n", 2), B, 2);
  assert.is(atB.kind === "data" && atB.proven, false);
  const echoB = client.receive(atB.send!, 2).send[0];
  const proven = server.receive(echoB, B, 3);
  assert.equal([proven.kind, proven.kind === "control" && proven.proven, proven.kind === "control" && proven.address], ["control", true, B]);
  assert.equal(server.describe(session, 3), { address: B, proven: true, pending: false });
  assert.ok(again.send.length === 1);
});

test("only the newest counter moves a session: a late datagram from the old address does not", () => {
  const { server, client, session } = connect();
  const older = sealOne(client, "older\n", 1);
  assert.is(server.receive(sealOne(client, "newer\n", 1), B, 1).kind, "data");
  const r = server.receive(older, A, 1);
  assert.equal([r.kind, server.describe(session, 1)!.address], ["data", B]);
});

test("a restarted server (same key, no sessions) answers with a reset; the client handshakes again at once", () => {
  const { client } = connect();
  const restarted = new ServerTransport({ staticKey: serverKey, ...seeded(21), now: 5000 });
  const d = sealOne(client, "request\n5\nT\nlobby\n0\n", 5000);
  const r = restarted.receive(d, A, 5000);
  assert.equal([r.kind, r.kind === "drop" && r.reason], ["drop", "unknown-session"]);
  const got = client.receive(r.send!, 5000);
  assert.equal([got.event, got.send.length], ["reset", 1]);
  assert.is(client.established(5000), false);
  const up = client.receive(restarted.receive(got.send[0], A, 5000).send!, 5000);
  assert.is(up.event, "established");
  const next = restarted.receive(sealOne(client, "request\n5\nT\nlobby\n0\n", 5001), A, 5001);
  assert.is(next.kind, "data");
});

test("a reset without the session's token, or for another index, is ignored; resets are rate-limited", () => {
  const { server, client } = connect();
  const other = new ServerTransport({ staticKey: staticKey("another server"), ...seeded(31), now: 0 });
  const d = sealOne(client, "x\n", 1);
  const forged = other.receive(d, A, 1).send!;
  assert.equal([client.receive(forged, 1).drop, client.established(1)], ["unknown-session", true]);
  const wrongIndex = forged.slice();
  wrongIndex[1] ^= 1;
  assert.is(client.receive(wrongIndex, 1).event, null);
  assert.is(server.receive(d, A, 1).kind, "data", "the session still works");
  const fresh = new ServerTransport({ staticKey: serverKey, ...seeded(32), now: 0, resetsPerSecond: 10 });
  let resets = 0;
  for (let i = 0; i < 150; i++) if (fresh.receive(sealOne(client, "x\n", 2), A, 2).send !== null) resets++;
  assert.is(resets, 10);
});

test("a session table at its bound drops its oldest pending sessions", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(41), now: 0, maxPending: 5 });
  for (let i = 0; i < 12; i++) {
    const c = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(100 + i) });
    assert.is(server.receive(c.seal(text("x\n"), 0)[0], A, 0).kind, "handshake");
  }
  assert.equal([server.counts.pending, server.counts.evicted], [5, 7]);
});

test.run();
