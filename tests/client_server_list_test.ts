/**
 * Adopting a server list a server vouched for (lib/client/server_list.ts,
 * docs/CLIENT.md "Learning the server list"): new servers come with their
 * keys, retired ones are dropped but never the current one, and keys of
 * servers the client knows cannot change through a `servers` reply.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { adoptServers } from "../lib/client/server_list.ts";
import type { ServerRef } from "../lib/client/transport.ts";
import { toBase64 } from "../lib/wire/base64.ts";
import type { ServerListing } from "../lib/wire/messages.ts";

const key = (n: number) => new Uint8Array(32).fill(n);
const ref = (id: string, n: number, port: number): ServerRef => ({ id, client: { host: "127.0.0.1", port }, publicKey: key(n) });
const listing = (id: string, n: number | null, port: number): ServerListing => ({ id, client: `127.0.0.1:${port}`, publicKey: n === null ? "-" : toBase64(key(n)) });

const a = ref("a", 1, 7001), b = ref("b", 2, 7002), c = ref("c", 3, 7003);
const current = [a, b, c];
const root = new Map(current.map((s) => [s.id, s.publicKey!] as const));

test("a new server is adopted with the key the list gives, in the list's order; known refs are kept", () => {
  const r = adoptServers({ current, root, from: a, talkingTo: a, offered: [listing("a", 1, 7001), listing("b", 2, 7002), listing("c", 3, 7003), listing("d", 4, 7004)] });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.servers.map((s) => s.id), ["a", "b", "c", "d"]);
  assert.is(r.servers[0], a);
  assert.equal(r.servers[3], { id: "d", client: { host: "127.0.0.1", port: 7004 }, publicKey: key(4) });
  assert.equal(r.added, ["d"]);
  assert.equal(r.dropped, []);
});

test("a retired server is dropped; the one the client talks to is kept (last) until it fails", () => {
  const r = adoptServers({ current, root, from: b, talkingTo: c, offered: [listing("a", 1, 7001), listing("b", 2, 7002)] });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.servers.map((s) => s.id), ["a", "b", "c"]);
  const r2 = adoptServers({ current, root, from: b, talkingTo: b, offered: [listing("a", 1, 7001), listing("b", 2, 7002)] });
  assert.ok(r2.ok && r2.dropped.join() === "c" && r2.servers.map((s) => s.id).join() === "a,b");
});

test("a known server's key cannot change through a list: the whole list is refused, saying so", () => {
  for (const offered of [[listing("a", 1, 7001), listing("b", 9, 7002)], [listing("a", 1, 7001), listing("b", null, 7002)]]) {
    const r = adoptServers({ current, root, from: a, talkingTo: a, offered });
    assert.ok(!r.ok);
    if (!r.ok) assert.match(r.problem, /gives server b another key than the one this client knows/);
  }
  // A server of the servers file given at start keeps its key even after a list dropped it.
  const r = adoptServers({ current: [a, b], root, from: a, talkingTo: a, offered: [listing("a", 1, 7001), listing("c", 9, 7003)] });
  assert.ok(!r.ok);
});

test("a list from a server the client has no key for changes nothing; a malformed entry refuses the list", () => {
  const plain: ServerRef = { id: "p", client: { host: "127.0.0.1", port: 7009 } };
  const r = adoptServers({ current: [plain], root: new Map(), from: plain, talkingTo: plain, offered: [listing("d", 4, 7004)] });
  assert.ok(!r.ok);
  if (!r.ok) assert.match(r.problem, /no key for p/);
  const bad = adoptServers({ current, root, from: a, talkingTo: a, offered: [{ id: "d", client: "nowhere", publicKey: "-" }] });
  assert.ok(!bad.ok);
});

test.run();
