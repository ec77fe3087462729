/**
 * Accounts, direct messages and moderation over real UDP (issue 13), three
 * real servers a, b, c: every verb and client-caused error code, a
 * registered name that no ephemeral login takes anywhere, a wrong password
 * answered exactly like an unknown name, a sealed DM that a third session
 * cannot read and whose plaintext is in no server's database file, a ban set
 * on one server that holds on the others, kicks, invite-only rooms, topics,
 * notices, whois.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, type UdpClient, udpClient } from "../testing/harness.ts";
import { decodeReply, encodeRequest } from "../lib/wire/codec.ts";
import type { Reply, Request, WireVerifier } from "../lib/wire/messages.ts";
import { clientFinal, makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { dmKeyPair, openDm, sealDm } from "../lib/client/dm_seal.ts";

const IDS = ["a", "b", "c"] as const;
type Id = (typeof IDS)[number];
const srv = {} as Record<Id, ServerHandle>;
let c: UdpClient;
let tagNo = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ITER = 4096;

test.before(async () => {
  c = await udpClient();
  const { file } = await makeCluster([...IDS]);
  const started = await Promise.all(IDS.map((id) => startServer({ id, servers: file, extraArgs: ["--sync", "normal"] })));
  IDS.forEach((id, i) => (srv[id] = started[i]));
});

test.after(async () => {
  await Promise.all(Object.values(srv).map((s) => s.stop()));
  await c?.close();
  removeTempDirs();
});

type Dist<T> = T extends unknown ? Omit<T, "tag"> : never;

async function ask(id: Id, req: Dist<Request>): Promise<Reply> {
  const text = await c.request(srv[id].clientAddr, encodeRequest({ ...req, tag: `t${++tagNo}` } as Request), 8000);
  const r = decodeReply(new TextEncoder().encode(text));
  if (!r.ok) throw new Error(`undecodable reply ${JSON.stringify(text)}: ${r.error.message}`);
  return r.value;
}

const code = (r: Reply) => (r.verb === "error" ? r.code : "ok");

async function login(id: Id, userName: string): Promise<string> {
  const r = await ask(id, { verb: "login", userName });
  if (r.verb !== "ok" || r.kind !== "login") throw new Error(`login ${userName} on ${id}: ${JSON.stringify(r)}`);
  return r.token;
}

async function verifier(password: string, iterations = ITER): Promise<{ wire: WireVerifier; salted: Uint8Array }> {
  const v = await makeVerifier(password, new Uint8Array(16).map(() => Math.floor(Math.random() * 256)), iterations);
  return { wire: verifierToBase64(v), salted: v.salted };
}

/** SCRAM: auth, then the client-final for `password` (null: the challenge was refused). */
async function prove(id: Id, userName: string, password: string) {
  const nonce = `n${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxx`;
  const first = await ask(id, { verb: "auth", userName, nonce });
  if (first.verb !== "ok" || first.kind !== "auth") return { first, final: null };
  return { first, final: await clientFinal(password, `n=${userName},r=${nonce}`, first.serverFirst) };
}

async function passwordLogin(id: Id, userName: string, password: string): Promise<Reply> {
  const { first, final } = await prove(id, userName, password);
  if (final === null) return first;
  const r = await ask(id, { verb: "login", userName, proof: final.message });
  if (r.verb === "ok" && r.kind === "login") assert.is(r.serverFinal, final.serverSignature, "the server proves it knows the verifier");
  return r;
}

/** Registers `userName` (logged in on `id`) with `password`; returns its token and DM key pair. */
async function registered(id: Id, userName: string, password: string) {
  const token = await login(id, userName);
  const v = await verifier(password);
  const keys = dmKeyPair(v.salted);
  const r = await ask(id, { verb: "register", token, verifier: v.wire, publicKey: keys.publicKey });
  assert.is(code(r), "ok", `register ${userName}: ${JSON.stringify(r)}`);
  return { token, keys };
}

/** Retries `f` until it returns true (replication), at most `ms`. */
async function eventually(what: string, f: () => Promise<boolean>, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

test("a registered name: no ephemeral login takes it on any server; its password logs in anywhere; the server proves itself", async () => {
  await registered("a", "Rhea", "correct horse");
  for (const id of IDS) {
    await eventually(`b and c know Rhea is registered (${id})`, async () => {
      const r = await ask(id, { verb: "login", userName: "rhea" });
      return r.verb === "error" && r.code === "name-taken" && /registered/.test(r.message);
    });
  }
  for (const id of ["b", "c"] as const) {
    const r = await passwordLogin(id, "rhea", "correct horse");
    assert.is(code(r), "ok", `password login on ${id}: ${JSON.stringify(r)}`);
    assert.is(r.verb === "ok" && r.kind === "login" && r.userName, "Rhea", "the account's own spelling");
  }
});

test("a wrong password reads exactly like a name that does not exist; the challenge of an unknown name looks like a real one", async () => {
  await registered("b", "Sol", "right password");
  await eventually("a knows Sol", async () => code(await ask("a", { verb: "login", userName: "sol" })) === "name-taken");
  const wrong = await passwordLogin("a", "sol", "wrong password");
  const none = await passwordLogin("a", "nosuchname", "wrong password");
  assert.is(code(wrong), "bad-password");
  assert.equal(none.verb === "error" && { code: none.code, message: none.message }, wrong.verb === "error" && { code: wrong.code, message: wrong.message });
  const real = await ask("a", { verb: "auth", userName: "sol", nonce: "abcdefghijklmnopqrst" });
  const fake = await ask("a", { verb: "auth", userName: "nosuchname", nonce: "abcdefghijklmnopqrst" });
  const shape = (r: Reply) => r.verb === "ok" && r.kind === "auth" ? r.serverFirst.replace(/r=[^,]*/, "r=").replace(/s=[^,]*/, "s=").replace(/i=\d+/, "i=") : JSON.stringify(r);
  assert.is(shape(real), shape(fake));
  // The made-up salt is stable: asking twice gives the same one (a fresh one each time would tell).
  const fake2 = await ask("a", { verb: "auth", userName: "nosuchname", nonce: "abcdefghijklmnopqrsu" });
  const salt = (r: Reply) => r.verb === "ok" && r.kind === "auth" ? /s=([^,]*)/.exec(r.serverFirst)![1] : "";
  assert.is(salt(fake), salt(fake2));
  // A proof for one challenge does not serve twice.
  const { final } = await prove("c", "sol", "right password");
  assert.is(code(await ask("c", { verb: "login", userName: "sol", proof: final!.message })), "ok");
  assert.is(code(await ask("c", { verb: "login", userName: "sol", proof: final!.message })), "bad-password", "a replayed proof");
});

test("guessing is slowed: after 5 wrong passwords this address must wait for that name (tests/account_attacks_test.ts: other addresses need not)", async () => {
  await registered("c", "Tor", "tor password");
  for (let i = 0; i < 5; i++) assert.is(code(await passwordLogin("c", "tor", `guess ${i}`)), "bad-password");
  const r = await ask("c", { verb: "auth", userName: "tor", nonce: "abcdefghijklmnopqrst" });
  assert.is(code(r), "rate-limited");
  assert.match((r as { message: string }).message, /try again in \d+ s/);
});

test("password change proven by the old password; drop frees the name everywhere", async () => {
  await registered("a", "Uma", "old password");
  const { final } = await prove("a", "uma", "old password");
  const v = await verifier("new password");
  assert.is(code(await ask("a", { verb: "password", userName: "uma", proof: final!.message, verifier: v.wire })), "ok");
  await eventually("b takes the new password", async () => code(await passwordLogin("b", "uma", "new password")) === "ok");
  assert.is(code(await passwordLogin("b", "uma", "old password")), "bad-password");
  const bad = await prove("b", "uma", "old password");
  assert.is(code(await ask("b", { verb: "drop", userName: "uma", proof: bad.final!.message, verifier: null })), "bad-password", "drop needs the password");
  const good = await prove("b", "uma", "new password");
  assert.is(code(await ask("b", { verb: "drop", userName: "uma", proof: good.final!.message, verifier: null })), "ok");
  await eventually("c no longer has uma registered", async () => {
    const r = await ask("c", { verb: "login", userName: "uma" });
    return code(r) === "ok" || (r.verb === "error" && !/registered/.test(r.message));
  });
});

test("register: refused for a name already registered; a bad verifier is bad-request; pubkey needs an account", async () => {
  const t = await login("a", "vic");
  const v = await verifier("pw");
  assert.is(code(await ask("a", { verb: "register", token: t, verifier: { ...v.wire, iterations: 1000 }, publicKey: "-" })), "bad-request");
  assert.is(code(await ask("a", { verb: "pubkey", token: t, publicKey: "-" })), "not-allowed");
  assert.is(code(await ask("a", { verb: "register", token: t, verifier: v.wire, publicKey: "-" })), "ok");
  assert.is(code(await ask("a", { verb: "register", token: t, verifier: v.wire, publicKey: "-" })), "name-taken");
});

test("a sealed DM: the peer reads it on another server; a third session cannot name the conversation; no database file holds its text", async () => {
  const alice = await registered("a", "alice", "alice pw");
  const bob = await registered("b", "bob", "bob pw");
  const carol = await login("c", "carol");
  const secret = "~zq9dm~ meet at noon";
  await eventually("a knows bob's key", async () => {
    const w = await ask("a", { verb: "whois", token: alice.token, userName: "bob" });
    return w.verb === "ok" && w.kind === "whois" && w.publicKey === bob.keys.publicKey && w.registered;
  });
  const sealed = sealDm(alice.keys, bob.keys.publicKey, "alice", "bob", secret);
  const add = await ask("a", { verb: "add", token: alice.token, groupName: "@bob", msg: sealed });
  assert.is(code(add), "ok");
  assert.is(add.verb === "ok" && add.kind === "add" && add.groupName, "@bob");
  let got = "";
  await eventually("bob lists it on b", async () => {
    const d = await ask("b", { verb: "dms", token: bob.token });
    if (d.verb !== "ok" || d.kind !== "dms" || d.entries.length === 0) return false;
    assert.equal(d.entries.map((e) => e.groupName), ["@alice"]);
    const h = await ask("b", { verb: "history", token: bob.token, groupName: "@alice", limit: 10, before: null });
    if (h.verb !== "ok" || h.kind !== "history" || h.entries.length === 0) return false;
    assert.is(h.groupName, "@alice");
    const opened = openDm(bob.keys, alice.keys.publicKey, "alice", "bob", h.entries[0].msg);
    got = opened.ok ? opened.text : "";
    return true;
  });
  assert.is(got, secret);
  // carol: her own conversations only; "@alice" is carol↔alice, empty.
  const ch = await ask("c", { verb: "history", token: carol, groupName: "@alice", limit: 10, before: null });
  assert.is(ch.verb === "ok" && ch.kind === "history" && ch.entries.length, 0);
  const cd = await ask("c", { verb: "dms", token: carol });
  assert.is(cd.verb === "ok" && cd.kind === "dms" && cd.entries.length, 0);
  // Long poll: bob waits on b, alice writes on a.
  const hb = await ask("b", { verb: "history", token: bob.token, groupName: "@alice", limit: 1, before: null });
  const cursor = hb.verb === "ok" && hb.kind === "history" ? hb.cursor : new Map();
  const poll = ask("b", { verb: "request", token: bob.token, groupName: "@alice", cursor, waitMs: 8000 });
  await sleep(200);
  await ask("a", { verb: "add", token: alice.token, groupName: "@bob", msg: sealDm(alice.keys, bob.keys.publicKey, "alice", "bob", "second") });
  const p = await poll;
  assert.is(p.verb === "poll" && p.entries.length, 1);
  assert.is(p.verb === "poll" && p.groupName, "@alice");
  // Not in any database file, or its -wal.
  await sleep(300);
  for (const id of IDS) {
    const dir = dirname(srv[id].db);
    for (const f of readdirSync(dir).filter((n) => n.startsWith(`${id}.sqlite`))) {
      const bytes = readFileSync(join(dir, f)).toString("latin1");
      assert.not.ok(bytes.includes("~zq9dm~"), `${f} holds the DM's text`);
      assert.not.ok(bytes.includes("meet at noon"), `${f} holds the DM's text`);
    }
  }
  // A DM to nobody; to oneself: the conversation with oneself, listed by dms.
  assert.is(code(await ask("a", { verb: "add", token: alice.token, groupName: "@nobody", msg: "x" })), "no-user");
  assert.is(code(await ask("a", { verb: "add", token: alice.token, groupName: "@alice", msg: "note to self" })), "ok");
  const own = await ask("a", { verb: "history", token: alice.token, groupName: "@ALICE", limit: 5, before: null });
  assert.equal(own.verb === "ok" && own.kind === "history" && own.entries.map((e) => e.msg), ["note to self"]);
  const dms = await ask("a", { verb: "dms", token: alice.token });
  assert.ok(dms.verb === "ok" && dms.kind === "dms" && dms.entries.some((e) => e.groupName === "@alice"), "listed as @alice");
});

test("a DM to an unregistered name reaches its current session only: the name's next holder does not see it", async () => {
  const alice = await login("a", "dmsender");
  const eph = await login("b", "ephem");
  await eventually("a sees ephem", async () => code(await ask("a", { verb: "add", token: alice, groupName: "@ephem", msg: "hello ephem" })) === "ok");
  await eventually("ephem reads it", async () => {
    const h = await ask("b", { verb: "history", token: eph, groupName: "@dmsender", limit: 5, before: null });
    return h.verb === "ok" && h.kind === "history" && h.entries.some((e) => e.msg === "hello ephem");
  });
  assert.is(code(await ask("b", { verb: "logout", token: eph })), "ok");
  const next = await login("b", "ephem");
  const h = await ask("b", { verb: "history", token: next, groupName: "@dmsender", limit: 5, before: null });
  assert.is(h.verb === "ok" && h.kind === "history" && h.entries.length, 0, "the next holder of the name");
});

test("moderation across servers: owner, operators, topic, kick, ban (held on every server), unban, invite-only, notices", async () => {
  const owner = await login("a", "modowner");
  const bob = await login("b", "modbob");
  const carl = await login("c", "modcarl");
  assert.is(code(await ask("a", { verb: "open", token: owner, groupName: "Den" })), "ok");
  await eventually("b knows Den", async () => code(await ask("b", { verb: "connect", token: bob, groupName: "den" })) === "ok");
  await eventually("c knows Den", async () => code(await ask("c", { verb: "connect", token: carl, groupName: "den" })) === "ok");
  // Not an operator: not-allowed.
  const no = await ask("b", { verb: "mod", token: bob, groupName: "den", action: "kick", target: "modcarl", text: "" });
  assert.is(code(no), "not-allowed");
  // The owner grants op to bob on a; bob's op holds on b once replicated.
  assert.is(code(await ask("a", { verb: "mod", token: owner, groupName: "den", action: "op", target: "modbob", text: "" })), "ok");
  await eventually("bob is op on b", async () => {
    const r = await ask("b", { verb: "room", token: bob, groupName: "den" });
    return r.verb === "ok" && r.kind === "room" && r.roles.includes("@modbob");
  });
  assert.is(code(await ask("b", { verb: "mod", token: bob, groupName: "den", action: "topic", target: "-", text: "plans for friday" })), "ok");
  assert.is(code(await ask("b", { verb: "mod", token: bob, groupName: "den", action: "kick", target: "modowner", text: "" })), "not-allowed", "no one kicks the owner");
  assert.is(code(await ask("b", { verb: "mod", token: bob, groupName: "den", action: "mode", target: "+x", text: "" })), "bad-request");
  assert.is(code(await ask("b", { verb: "mod", token: bob, groupName: "nope", action: "op", target: "x", text: "" })), "no-room");
  // A ban set on b holds on c.
  assert.is(code(await ask("b", { verb: "mod", token: bob, groupName: "den", action: "ban", target: "modcarl", text: "spam" })), "ok");
  await eventually("carl is refused on c", async () => {
    const r = await ask("c", { verb: "request", token: carl, groupName: "den", cursor: new Map(), waitMs: 0 });
    return r.verb === "error" && r.code === "not-member" && /banned/.test(r.message);
  });
  const again = await ask("c", { verb: "connect", token: carl, groupName: "den" });
  assert.is(code(again), "not-member");
  assert.match((again as { message: string }).message, /banned/);
  assert.is(code(await ask("c", { verb: "add", token: carl, groupName: "den", msg: "let me in" })), "not-member");
  // Topic and roles as everyone sees them.
  await eventually("a has the topic", async () => {
    const r = await ask("a", { verb: "room", token: owner, groupName: "den" });
    return r.verb === "ok" && r.kind === "room" && r.topic === "plans for friday" && r.topicBy === "modbob" && r.roles.includes("~modowner") && r.roles.includes("!modcarl");
  });
  // Notices: listed only to clients that ask for them.
  const plain = await ask("a", { verb: "history", token: owner, groupName: "den", limit: 50, before: null });
  assert.is(plain.verb === "ok" && plain.kind === "history" && plain.entries.length, 0, "an old client sees no notices");
  const withN = await ask("a", { verb: "history", token: owner, groupName: "den", limit: 50, before: null, notices: true });
  const texts = withN.verb === "ok" && withN.kind === "history" ? withN.entries.map((e) => `${e.userName} ${e.msg.replace("\u0001", "^")}`) : [];
  for (const want of ["modbob ^join", "modcarl ^join", "modowner ^op modbob", "modbob ^topic - plans for friday", "modbob ^ban modcarl spam"]) {
    assert.ok(texts.includes(want), `notice ${want} in ${JSON.stringify(texts)}`);
  }
  // Invite-only, then unban (causal delivery: c has the mode before the unban): carl needs an invitation.
  assert.is(code(await ask("a", { verb: "mod", token: owner, groupName: "den", action: "mode", target: "+i", text: "" })), "ok");
  assert.is(code(await ask("a", { verb: "mod", token: owner, groupName: "den", action: "unban", target: "modcarl", text: "" })), "ok");
  await eventually("c: invite-only", async () => {
    const r = await ask("c", { verb: "connect", token: carl, groupName: "den" });
    return r.verb === "error" && /invite-only/.test(r.message);
  });
  assert.is(code(await ask("a", { verb: "mod", token: owner, groupName: "den", action: "invite", target: "modcarl", text: "" })), "ok");
  await eventually("c: carl invited", async () => code(await ask("c", { verb: "connect", token: carl, groupName: "den" })) === "ok");
  // Kick (once a has carl's join: a join concurrent with a kick may come after it in the order and stand):
  // carl loses the room on every server until he joins again.
  await eventually("a has carl's join", async () => {
    const w = await ask("a", { verb: "who", token: owner, groupName: "den", after: null });
    return w.verb === "ok" && w.kind === "who" && w.names.includes("modcarl");
  });
  assert.is(code(await ask("a", { verb: "mod", token: owner, groupName: "den", action: "kick", target: "modcarl", text: "bye" })), "ok");
  await eventually("carl kicked on c", async () => {
    const r = await ask("c", { verb: "add", token: carl, groupName: "den", msg: "still here?" });
    return r.verb === "error" && /kicked/.test(r.message);
  });
  assert.is(code(await ask("c", { verb: "connect", token: carl, groupName: "den" })), "ok", "invited, so he may come back");
  assert.is(code(await ask("c", { verb: "add", token: carl, groupName: "den", msg: "back" })), "ok");
});

test("whois: registered or not, idle time, key, rooms in common; /me passes, forged notices do not", async () => {
  const x = await login("a", "whoisx");
  const y = await login("a", "whoisy");
  assert.is(code(await ask("a", { verb: "open", token: x, groupName: "commons" })), "ok");
  assert.is(code(await ask("a", { verb: "connect", token: y, groupName: "commons" })), "ok");
  const w = await ask("a", { verb: "whois", token: y, userName: "WhoisX" });
  assert.ok(w.verb === "ok" && w.kind === "whois");
  if (w.verb === "ok" && w.kind === "whois") {
    assert.is(w.userName, "whoisx");
    assert.is(w.registered, false);
    assert.ok(w.idle !== null && w.idle < 10);
    assert.equal(w.rooms, ["commons"]);
    assert.is(w.publicKey, "-");
  }
  assert.is(code(await ask("a", { verb: "whois", token: y, userName: "ghost" })), "no-user");
  assert.is(code(await ask("a", { verb: "add", token: x, groupName: "commons", msg: "\u0001me waves" })), "ok");
  assert.is(code(await ask("a", { verb: "add", token: x, groupName: "commons", msg: "\u0001kick whoisy" })), "bad-request");
});

test("kill -9 and a lost disk: accounts, a ban and a DM's history hold on the server that lost everything", async () => {
  const owner = await registered("a", "keeper", "keeper pw");
  const pal = await registered("a", "pal", "pal pw");
  assert.is(code(await ask("a", { verb: "open", token: owner.token, groupName: "vault" })), "ok");
  const tres = await login("b", "tres");
  await eventually("b knows vault", async () => code(await ask("b", { verb: "connect", token: tres, groupName: "vault" })) === "ok");
  await eventually("a has tres's join", async () => {
    const w = await ask("a", { verb: "who", token: owner.token, groupName: "vault", after: null });
    return w.verb === "ok" && w.kind === "who" && w.names.includes("tres");
  });
  assert.is(code(await ask("a", { verb: "mod", token: owner.token, groupName: "vault", action: "ban", target: "tres", text: "" })), "ok");
  assert.is(code(await ask("a", { verb: "add", token: owner.token, groupName: "@pal", msg: sealDm(owner.keys, pal.keys.publicKey, "keeper", "pal", "kept") })), "ok");
  // c: killed, its database deleted, started again: it must learn it all from a and b.
  await eventually("c has the DM", async () => {
    const t = await passwordLogin("c", "pal", "pal pw");
    if (t.verb !== "ok" || t.kind !== "login") return false;
    const h = await ask("c", { verb: "history", token: t.token, groupName: "@keeper", limit: 5, before: null });
    return h.verb === "ok" && h.kind === "history" && h.entries.length === 1;
  });
  const c = srv.c;
  await c.kill9();
  for (const f of readdirSync(dirname(c.db)).filter((n) => n.startsWith("c.sqlite"))) rmSync(join(dirname(c.db), f));
  srv.c = await startServer({ id: "c", servers: c.servers, db: c.db, newCluster: false, extraArgs: ["--sync", "normal"] });
  await eventually("the new c refuses an ephemeral keeper", async () => {
    const r = await ask("c", { verb: "login", userName: "keeper" });
    return r.verb === "error" && r.code === "name-taken" && /registered/.test(r.message);
  }, 20_000);
  const t = await passwordLogin("c", "pal", "pal pw");
  assert.ok(t.verb === "ok" && t.kind === "login", JSON.stringify(t));
  const token = (t as { token: string }).token;
  await eventually("the new c has the DM history", async () => {
    const h = await ask("c", { verb: "history", token, groupName: "@keeper", limit: 5, before: null });
    if (h.verb !== "ok" || h.kind !== "history" || h.entries.length !== 1) return false;
    const opened = openDm(pal.keys, owner.keys.publicKey, "keeper", "pal", h.entries[0].msg);
    return opened.ok && opened.text === "kept";
  }, 20_000);
  await eventually("the ban holds on the new c", async () => {
    const r = await ask("c", { verb: "room", token, groupName: "vault" });
    return r.verb === "ok" && r.kind === "room" && r.roles.includes("!tres") && r.roles.includes("~keeper");
  }, 20_000);
  const tres2 = await login("c", "tres2");
  assert.is(code(await ask("c", { verb: "connect", token: tres2, groupName: "vault" })), "ok", "another name may join");
  const back = await ask("b", { verb: "request", token: tres, groupName: "vault", cursor: new Map(), waitMs: 0 });
  assert.match((back as { message: string }).message, /banned/);
});

test.run();
