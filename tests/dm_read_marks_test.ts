/**
 * Read markers of direct conversations (issue 26, docs/PROTOCOL.md "Read
 * state"), on the in-memory cluster: a registered user with two sessions,
 * one on each server, reads a conversation on one; `unread` on either
 * server then names the same marker and count for it — as for a room — and
 * the later marker wins whichever session moves it (an older one moves it
 * back nowhere). An unregistered user's two sessions keep a marker each.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import type { MsgId, Reply, Request } from "../lib/wire/messages.ts";
import { clientFinalSalted, makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";
import { removeTempDirs } from "../testing/harness.ts";

let tags = 0;
type Body = Request extends infer R ? R extends unknown ? Omit<R, "tag" | "token"> : never : never;

/** Sends `req` to server `id` with a fresh tag (and `token`), runs the network, returns the reply. */
function call(c: MemoryCluster, id: string, req: Body, token?: string): Reply {
  const tag = `t${++tags}`;
  c.send(id, { ...req, tag, ...(token === undefined ? {} : { token }) } as Request);
  for (let t = 0; t < 2000 && !c.reply(tag); t += 20) c.run(20);
  const r = c.reply(tag);
  if (!r) throw new Error(`no reply to ${req.verb} at ${id}`);
  return r;
}

function ok(r: Reply, kind?: string): Reply & { verb: "ok" } {
  if (r.verb !== "ok" || (kind !== undefined && r.kind !== kind)) throw new Error(`expected ok ${kind ?? ""}: ${JSON.stringify(r)}`);
  return r;
}

const login = (c: MemoryCluster, id: string, user: string) => (ok(call(c, id, { verb: "login", userName: user }), "login") as { token: string }).token;

/** Logs `user` in at `id` and registers the name; what a password login needs. */
async function register(c: MemoryCluster, id: string, user: string): Promise<{ token: string; salted: Uint8Array }> {
  const token = login(c, id, user);
  const v = await makeVerifier(`${user}'s password`, new Uint8Array(randomBytes(16)), 4096);
  ok(call(c, id, { verb: "register", verifier: verifierToBase64(v), publicKey: "-" }, token));
  return { token, salted: v.salted };
}

/** A second session of registered `user` at `id`, by password. */
function passwordLogin(c: MemoryCluster, id: string, user: string, salted: Uint8Array): string {
  const nonce = `n${++tags}`.padEnd(24, "x");
  const first = ok(call(c, id, { verb: "auth", userName: user, nonce }), "auth") as { serverFirst: string };
  const fin = clientFinalSalted(salted, `n=${user},r=${nonce}`, first.serverFirst)!;
  return (ok(call(c, id, { verb: "login", userName: user, proof: fin.message }), "login") as { token: string }).token;
}

type Entry = { groupName: string; mark: MsgId | null; unread: number };
const unread = (c: MemoryCluster, id: string, token: string, name: string): Entry | undefined =>
  (ok(call(c, id, { verb: "unread" }, token), "unread") as { entries: Entry[] }).entries.find((e) => e.groupName === name);

test("a registered user's two sessions on two servers agree on a conversation's marker and unread count; the later marker wins", async () => {
  const c = await memoryCluster({ ids: ["a", "b"] });
  try {
    const bob = await register(c, "a", "bob");
    const carl = await register(c, "b", "carl");
    c.run(500);
    const bob2 = passwordLogin(c, "b", "bob", bob.salted);
    const ids: MsgId[] = [];
    for (const m of ["one", "two", "three"]) ids.push((ok(call(c, "b", { verb: "add", groupName: "@bob", msg: m }, carl.token), "add") as { msgId: MsgId }).msgId);
    c.run(500);
    assert.equal(unread(c, "a", bob.token, "@carl"), { groupName: "@carl", mark: null, unread: 3 }, "listed with the rooms");
    assert.equal(unread(c, "b", bob2, "@carl"), { groupName: "@carl", mark: null, unread: 3 });
    ok(call(c, "a", { verb: "act", groupName: "@carl", action: "read", target: ids[1], text: "" }, bob.token), "act");
    c.run(500);
    for (const [id, token] of [["a", bob.token], ["b", bob2]] as const) {
      assert.equal(unread(c, id, token, "@carl"), { groupName: "@carl", mark: ids[1], unread: 1 }, `the marker read at a, asked at ${id}`);
    }
    // The other session marks an older message: the later marker stays, everywhere.
    ok(call(c, "b", { verb: "act", groupName: "@carl", action: "read", target: ids[0], text: "" }, bob2), "act");
    c.run(500);
    for (const [id, token] of [["a", bob.token], ["b", bob2]] as const) assert.equal(unread(c, id, token, "@carl")?.mark, ids[1], `later wins at ${id}`);
    // carl's side of the same conversation keeps carl's own marker.
    assert.equal(unread(c, "a", carl.token, "@bob"), { groupName: "@bob", mark: null, unread: 3 });
  } finally {
    c.close();
  }
});

test("an unregistered user's sessions keep a conversation marker each", async () => {
  const c = await memoryCluster({ ids: ["a", "b"] });
  try {
    const dave = login(c, "a", "dave");
    const eve = login(c, "b", "eve");
    c.run(300);
    const id = (ok(call(c, "b", { verb: "add", groupName: "@dave", msg: "hi dave" }, eve), "add") as { msgId: MsgId }).msgId;
    c.run(300);
    assert.equal(unread(c, "a", dave, "@eve"), { groupName: "@eve", mark: null, unread: 1 });
    ok(call(c, "a", { verb: "act", groupName: "@eve", action: "read", target: id, text: "" }, dave), "act");
    c.run(300);
    assert.equal(unread(c, "b", dave, "@eve"), { groupName: "@eve", mark: id, unread: 0 }, "the same session on another server");
  } finally {
    c.close();
  }
});

test.after(() => removeTempDirs());

test.run();
