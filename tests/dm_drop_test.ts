/**
 * Issue 20, row 12: a dropped account takes its direct conversations with
 * it. alice drops her account; mallory registers "alice": on both servers
 * of a cluster, mallory's `dms`, `history`, `request` and `add` reach
 * nothing of alice's, and bob no longer lists the old conversation. And
 * conversations stored before registrations were part of their keys (an
 * existing database) go on working for accounts that were not dropped
 * (the store and the handlers in memory).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";
import { decodeReply, encodeRequest } from "../lib/wire/codec.ts";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { clientFinal, makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { Store } from "../lib/store/store.ts";
import { handle, handlerDeps } from "../lib/handlers/index.ts";
import { sessionId } from "../lib/rules/session_id.ts";
import { within } from "../testing/cluster_ops.ts";

type Dist<T> = T extends unknown ? Omit<T, "tag"> : never;
let tagNo = 0;
const code = (r: Reply) => (r.verb === "error" ? r.code : "ok");

/** A verifier of `password` (4096 rounds). */
const verifier = async (password: string) => verifierToBase64(await makeVerifier(password, new Uint8Array(randomBytes(16)), 4096));

/** Waits (at most `ms`) for `f` to hold: replication. */
async function eventually(what: string, f: () => Promise<boolean>, ms = 8000): Promise<void> {
  if ((await within(ms, f, 100)) === null) throw new Error(`not within ${ms} ms: ${what}`);
}

test("mallory registers a dropped name: on both servers she sees none of alice's conversations, and bob lists only hers", async () => {
  const { file } = await makeCluster(["a", "b"]);
  const srv: Record<"a" | "b", ServerHandle> = {
    a: await startServer({ id: "a", servers: file, extraArgs: ["--sync", "normal"] }),
    b: await startServer({ id: "b", servers: file, extraArgs: ["--sync", "normal"] }),
  };
  const c: UdpClient = await udpClient();
  const ask = async (id: "a" | "b", req: Dist<Request>): Promise<Reply> => {
    const text = await c.request(srv[id].clientAddr, encodeRequest({ ...req, tag: `t${++tagNo}` } as Request), 8000);
    const r = decodeReply(new TextEncoder().encode(text));
    if (!r.ok) throw new Error(`undecodable reply ${JSON.stringify(text)}`);
    return r.value;
  };
  const login = async (id: "a" | "b", userName: string) => {
    const r = await ask(id, { verb: "login", userName });
    if (r.verb !== "ok" || r.kind !== "login") throw new Error(`login ${userName}: ${JSON.stringify(r)}`);
    return r.token;
  };
  const history = async (id: "a" | "b", token: string, groupName: string) => {
    const h = await ask(id, { verb: "history", token, groupName, limit: 50, before: null });
    return h.verb === "ok" && h.kind === "history" ? h.entries.map((e) => `${e.userName}: ${e.msg}`) : [code(h)];
  };
  const dms = async (id: "a" | "b", token: string) => {
    const d = await ask(id, { verb: "dms", token });
    return d.verb === "ok" && d.kind === "dms" ? d.entries.map((e) => e.groupName) : [code(d)];
  };
  try {
    const alice = await login("a", "alice");
    assert.is(code(await ask("a", { verb: "register", token: alice, verifier: await verifier("alice pw"), publicKey: "-" })), "ok");
    const bob = await login("b", "bob");
    assert.is(code(await ask("b", { verb: "register", token: bob, verifier: await verifier("bob pw"), publicKey: "-" })), "ok");
    await eventually("a knows bob's account", async () => {
      const w = await ask("a", { verb: "whois", token: alice, userName: "bob" });
      return w.verb === "ok" && w.kind === "whois" && w.registered;
    });
    await eventually("b knows alice's account", async () => {
      const w = await ask("b", { verb: "whois", token: bob, userName: "alice" });
      return w.verb === "ok" && w.kind === "whois" && w.registered;
    });
    assert.is(code(await ask("a", { verb: "add", token: alice, groupName: "@bob", msg: "secret for bob" })), "ok");
    assert.is(code(await ask("b", { verb: "add", token: bob, groupName: "@alice", msg: "secret for alice" })), "ok");
    await eventually("both messages on both servers", async () => (await history("a", alice, "@bob")).length === 2 && (await history("b", bob, "@alice")).length === 2);
    // alice drops her account on a (a SCRAM proof) and logs out.
    const nonce = "dropnonce0123456789abc";
    const first = await ask("a", { verb: "auth", userName: "alice", nonce });
    assert.ok(first.verb === "ok" && first.kind === "auth");
    const fin = (await clientFinal("alice pw", `n=alice,r=${nonce}`, (first as { serverFirst: string }).serverFirst))!;
    assert.is(code(await ask("a", { verb: "drop", userName: "alice", proof: fin.message, verifier: null })), "ok");
    assert.is(code(await ask("a", { verb: "logout", token: alice })), "ok");
    // mallory takes the name on b once the drop (and the logout) reached it, and registers it.
    let mallory = "";
    await eventually("b lets mallory log in as alice", async () => {
      const r = await ask("b", { verb: "login", userName: "alice" });
      if (r.verb === "ok" && r.kind === "login") mallory = r.token;
      return mallory !== "";
    });
    assert.is(code(await ask("b", { verb: "register", token: mallory, verifier: await verifier("mallory pw"), publicKey: "-" })), "ok");
    for (const id of ["b", "a"] as const) {
      await eventually(`${id} knows mallory's account`, async () => code(await ask(id, { verb: "dms", token: mallory })) === "ok");
      assert.equal(await dms(id, mallory), [], `${id}: mallory lists nothing`);
      assert.equal(await history(id, mallory, "@bob"), [], `${id}: no history with bob`);
      const p = await ask(id, { verb: "request", token: mallory, groupName: "@bob", cursor: new Map(), waitMs: 0 });
      assert.is(p.verb === "poll" && p.entries.length, 0, `${id}: a poll from the start finds nothing`);
      assert.equal(await dms(id, bob), [], `${id}: bob no longer lists the dropped account's conversation`);
    }
    // What mallory writes starts a conversation of her own; bob sees it, and only it, as @alice.
    assert.is(code(await ask("b", { verb: "add", token: mallory, groupName: "@bob", msg: "hi, I am alice now" })), "ok");
    for (const id of ["b", "a"] as const) {
      await eventually(`${id}: bob sees mallory's line`, async () => (await history(id, bob, "@alice")).length === 1);
      assert.equal(await history(id, bob, "@alice"), ["alice: hi, I am alice now"]);
      assert.equal(await history(id, mallory, "@bob"), ["alice: hi, I am alice now"]);
      assert.equal(await dms(id, bob), ["@alice"]);
    }
  } finally {
    await c.close();
    await Promise.all(Object.values(srv).map((s) => s.stop()));
    removeTempDirs();
  }
});

test("a conversation stored under the old keys (bare names) keeps working for accounts never dropped, and is no one's once one was", async () => {
  const store = Store.open(join(tempDir("distchat-dm-legacy-"), "a.sqlite"), "a", { sync: "normal" });
  store.setOrigin("a");
  const deps = handlerDeps({ store, random: (n) => new Uint8Array(randomBytes(n)) });
  const chat = { handle: (req: Request, now: number, key: string) => handle(deps, req, { now, key }) };
  let t = 1_700_000_000_000;
  const ask = (req: Dist<Request>): Reply => {
    store.begin();
    const out = chat.handle({ ...req, tag: `t${++tagNo}` } as Request, ++t, `k${tagNo}`);
    store.commit();
    if (!("reply" in out)) throw new Error("held");
    return out.reply;
  };
  const registered = async (name: string, password: string) => {
    const r = ask({ verb: "login", userName: name });
    const token = (r as { token: string }).token;
    assert.is(code(ask({ verb: "register", token, verifier: await verifier(password), publicKey: "-" })), "ok");
    return token;
  };
  const lines = (token: string, groupName: string) => {
    const h = ask({ verb: "history", token, groupName, limit: 50, before: null });
    return h.verb === "ok" && h.kind === "history" ? h.entries.map((e) => e.msg) : [code(h)];
  };
  const listed = (token: string) => {
    const d = ask({ verb: "dms", token });
    return d.verb === "ok" && d.kind === "dms" ? d.entries.map((e) => e.groupName) : [code(d)];
  };
  try {
    const alice = await registered("alice", "alice pw");
    const bob = await registered("bob", "bob pw");
    // What an older server stored: the conversation keyed by the bare names.
    store.begin();
    store.appendLocal({ kind: "msg", session: sessionId(alice), tag: "old1", groupName: "@alice@bob", userName: "alice", msg: "from before" }, ++t);
    store.commit();
    assert.equal(lines(alice, "@bob"), ["from before"]);
    assert.equal(lines(bob, "@alice"), ["from before"]);
    assert.equal(listed(alice), ["@bob"]);
    assert.is(code(ask({ verb: "add", token: bob, groupName: "@alice", msg: "still here" })), "ok");
    assert.equal(lines(alice, "@bob"), ["from before", "still here"], "new lines go on in the same conversation");
    // carol, registered now, talks to bob under the new keys.
    const carol = await registered("carol", "carol pw");
    assert.is(code(ask({ verb: "add", token: carol, groupName: "@bob", msg: "new style" })), "ok");
    assert.equal(listed(bob).sort(), ["@alice", "@carol"]);
    assert.ok(store.conversations.of("bob", 10).length === 1, "one conversation under bob's bare key (the old one)");
    // alice drops her account; the name's next account sees nothing of the old conversation.
    const nonce = "dropnonce0123456789abc";
    const first = ask({ verb: "auth", userName: "alice", nonce }) as { serverFirst: string };
    const fin = (await clientFinal("alice pw", `n=alice,r=${nonce}`, first.serverFirst))!;
    assert.is(code(ask({ verb: "drop", userName: "alice", proof: fin.message, verifier: null })), "ok");
    assert.is(code(ask({ verb: "logout", token: alice })), "ok");
    const mallory = await registered("alice", "mallory pw");
    assert.equal(listed(mallory), []);
    assert.equal(lines(mallory, "@bob"), []);
    assert.equal(lines(bob, "@alice"), []);
    assert.equal(listed(bob), ["@carol"]);
  } finally {
    store.close();
    removeTempDirs();
  }
});

test.run();
