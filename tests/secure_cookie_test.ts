/**
 * Cookies (lib/secure/cookie.ts through the server transport): under a
 * flood of initiations from spoofed addresses the server does at most its
 * handshake budget of Diffie-Hellman work and answers the rest with cookie
 * replies smaller than what it got; a client at a real address gets its
 * cookie, proves its address with mac2 and is served; a cookie is bound to
 * its address and to two secret periods at most.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientTransport } from "../lib/secure/client_transport.ts";
import { COOKIE_SECRET_MS } from "../lib/secure/cookie.ts";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { seeded, staticKey, text } from "./_secure.ts";

const serverKey = staticKey("server");
const LEGIT = "192.0.2.1:5000";
const spoofed = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 60000)}`;

/** Distinct initiations from `n` clients (what a flooder replays from forged addresses). */
function initiations(n: number, seed: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(seed + i) }).seal(text("x\n"), 0)[0]);
}

test("a flood of 2,000 initiations from spoofed addresses in one second: at most the budget of handshakes, cookies for the rest", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(1), now: 0, handshakesPerSecond: 50 });
  const sent = initiations(40, 100);
  let bytesIn = 0, bytesOut = 0, cookies = 0;
  for (let i = 0; i < 2000; i++) {
    const d = sent[i % sent.length];
    const r = server.receive(d, spoofed(i), 1000 + i / 2);
    bytesIn += d.length + 28;
    if (r.kind === "handshake" && r.what === "cookie") {
      cookies++;
      assert.ok(r.send.length < d.length, "a cookie reply is smaller than the initiation");
    }
    if (r.send) bytesOut += r.send.length + 28;
  }
  assert.is(server.counts.handshakes, 50);
  assert.is(cookies, 1950);
  assert.ok(server.counts.pending <= 50);
  assert.ok(bytesOut < bytesIn, `${bytesOut} bytes out for ${bytesIn} in`);
});

test("a client at a real address gets through under load: cookie, initiation with mac2, response", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(2), now: 0, handshakesPerSecond: 10 });
  for (const [i, d] of initiations(30, 200).entries()) server.receive(d, spoofed(i), 1000);
  const done = server.counts.handshakes;
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(3) });
  const [init] = client.seal(text("login\n1\nbob\n"), 1000);
  const cookie = server.receive(init, LEGIT, 1000);
  assert.equal([cookie.kind, cookie.kind === "handshake" && cookie.what], ["handshake", "cookie"]);
  const retry = client.receive(cookie.send!, 1000);
  assert.equal([retry.event, retry.send.length], ["cookie", 1]);
  const response = server.receive(retry.send[0], LEGIT, 1001);
  assert.equal([response.kind, response.kind === "handshake" && response.what], ["handshake", "response"]);
  assert.is(server.counts.handshakes, done + 1);
  const up = client.receive(response.send!, 1001);
  assert.is(up.event, "established");
  const first = server.receive(up.send[0], LEGIT, 1001);
  assert.equal([first.kind, first.kind === "data" && first.proven], ["data", true]);
});

test("a cookie works only from its own address; a caller saying 'under load' gets cookies at once", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(4), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(5) });
  const [init] = client.seal(text("x\n"), 0);
  const cookie = server.receive(init, LEGIT, 0, true);
  assert.is(cookie.kind === "handshake" && cookie.what, "cookie");
  const [withMac2] = client.receive(cookie.send!, 0).send;
  const elsewhere = server.receive(withMac2, "192.0.2.2:5000", 1, true);
  assert.is(elsewhere.kind === "handshake" && elsewhere.what, "cookie");
  assert.is(server.counts.handshakes, 0);
  const here = server.receive(withMac2, LEGIT, 1, true);
  assert.is(here.kind === "handshake" && here.what, "response");
});

test("a cookie outlives one secret change but not two", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(6), now: 0 });
  const client = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(7) });
  // The cookie is made at 100 s under the first secret; the second replaces it at 130 s (first use after 120 s).
  const cookie = server.receive(client.seal(text("x\n"), 100_000)[0], LEGIT, 100_000, true).send!;
  const [mac2] = client.receive(cookie, 100_000).send;
  const kind = (t: number) => {
    const r = server.receive(mac2, LEGIT, t, true);
    return r.kind === "handshake" ? r.what : r.kind;
  };
  assert.is(kind(130_000), "response", "one change: the previous secret still counts");
  assert.is(kind(130_000 + COOKIE_SECRET_MS - 1), "response");
  assert.is(kind(130_000 + COOKIE_SECRET_MS), "cookie", "two changes: no longer");
});

test("cookie replies for someone else's initiation, or tampered, are ignored by the client", () => {
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(9), now: 0 });
  const a = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(10) });
  const b = new ClientTransport({ serverKey: serverKey.publicKey, ...seeded(11) });
  a.seal(text("x\n"), 0);
  const forB = server.receive(b.seal(text("x\n"), 0)[0], LEGIT, 0, true).send!;
  assert.equal([a.receive(forB, 0).event, a.receive(forB, 0).drop], [null, "stale-handshake"]);
  const tampered = forB.slice();
  tampered[40] ^= 1;
  assert.is(b.receive(tampered, 0).event, null);
  assert.is(b.receive(forB, 0).event, "cookie");
});

test.run();
