/**
 * The pure rules of accounts and moderation (lib/rules/ledger.ts,
 * lib/rules/moderation.ts), sealed DMs (lib/client/dm_seal.ts), and the take-back of a registered name
 * from an ephemeral holder, with two stores that were partitioned (handlers and
 * Store, no network).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { settleAccount, type AccountOp } from "../lib/rules/ledger.ts";
import { kickedSince, type ModOp, settleRoom } from "../lib/rules/moderation.ts";
import { dmKeyPair, fingerprint, openDm, sealDm } from "../lib/client/dm_seal.ts";
import { Store } from "../lib/store/store.ts";
import { handle, handlerDeps } from "../lib/handlers/index.ts";
import type { Store as StoreType } from "../lib/store/store.ts";
import { clientFinal, makeVerifier } from "../lib/accounts/scram.ts";
import { Buffer } from "node:buffer";
import type { Reply } from "../lib/wire/messages.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";
import { mulberry32 } from "../testing/prng.ts";

const K1 = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
const K2 = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
const K3 = "Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=";
const V = `c2FsdHNhbHRzYWx0 4096 ${K1} ${K2} -`;
const shuffle = <T>(xs: T[], seed: number): T[] => {
  const r = mulberry32(seed);
  return [...xs].sort(() => r() - 0.5);
};

test("accounts: of two concurrent registrations the smaller key wins, in any arrival order", () => {
  const ops: AccountOp[] = [
    { id: "b.4", key: [7, "b"], action: "reg", userName: "Zed", data: V },
    { id: "a.9", key: [7, "a"], action: "reg", userName: "zed", data: V.replace(K1, K3) },
  ];
  for (let seed = 1; seed <= 5; seed++) {
    const a = settleAccount(shuffle(ops, seed));
    assert.is(a?.reg, "a.9");
    assert.is(a?.name, "zed");
    assert.is(a?.storedKey, K3);
  }
});

test("accounts: a change names its registration; after a drop and a new registration, the old one's change is void", () => {
  const ops: AccountOp[] = [
    { id: "a.1", key: [1, "a"], action: "reg", userName: "zed", data: V },
    { id: "a.2", key: [2, "a"], action: "drop", userName: "zed", data: "a.1" },
    { id: "b.1", key: [3, "b"], action: "reg", userName: "zed", data: V.replace(K1, K3) },
    // Made (concurrently) against the first registration:
    { id: "c.1", key: [4, "c"], action: "pass", userName: "zed", data: `a.1 c2FsdHNhbHRzYWx0 4096 ${K2} ${K2}` },
    { id: "b.2", key: [4, "b"], action: "key", userName: "zed", data: `b.1 ${K2}` },
  ];
  for (let seed = 1; seed <= 5; seed++) {
    const a = settleAccount(shuffle(ops, seed));
    assert.equal([a?.reg, a?.storedKey, a?.publicKey], ["b.1", K3, K2]);
  }
  assert.is(settleAccount(ops.slice(0, 2)), null, "dropped");
  // A peer's op may hold anything: malformed data is void, never an account a login could trip on.
  for (const data of ["junk", `c2FsdHNhbHRzYWx0 4096 QUFB ${K2} -`, `c2FsdHNhbHRzYWx0 100 ${K1} ${K2} -`, `c2FsdHNhbHRzYWx0 4096 ${K1} ${K2} nokey`]) {
    assert.is(settleAccount([{ id: "a.1", key: [1, "a"], action: "reg", userName: "zed", data }]), null, data);
  }
});

const mod = (k: number, origin: string, action: ModOp["action"], actor: string, target = "-", text = ""): ModOp => ({
  key: [k, origin],
  action,
  actor,
  target,
  text,
  at: k,
});

test("moderation: one rule in every order — a kick of the kicker, a ban against a grant, two topics, the owner untouchable", () => {
  const ops = [
    mod(1, "a", "op", "owner", "bob"),
    mod(2, "a", "op", "owner", "carl"),
    // Concurrent (both made knowing only ops 1 and 2): bob kicks carl, carl kicks bob. Smaller key stands.
    mod(5, "b", "kick", "bob", "carl"),
    mod(5, "c", "kick", "carl", "bob"),
    // A ban of dave and a grant to dave, concurrent: the ban wins whichever comes first.
    mod(6, "a", "ban", "owner", "dave"),
    mod(6, "b", "op", "bob", "dave"),
    // Two topics: the later in the order stays.
    mod(7, "a", "topic", "owner", "-", "first"),
    mod(7, "b", "topic", "bob", "-", "second"),
    // Nobody kicks, bans or deops the owner.
    mod(8, "b", "ban", "bob", "owner"),
    mod(8, "c", "deop", "bob", "OWNER"),
  ];
  for (let seed = 1; seed <= 8; seed++) {
    const r = settleRoom(shuffle(ops, seed), "Owner");
    assert.equal([...r.ops.keys()], ["bob"], "carl lost operator to bob's kick, whose key is smaller; dave's grant is void or undone");
    assert.ok(kickedSince(r, "carl", [4, "z"]), "carl's membership from before the kick is gone");
    assert.not.ok(kickedSince(r, "bob", [4, "z"]), "carl's kick of bob was void");
    assert.not.ok(kickedSince(r, "carl", [9, "a"]), "a join after the kick stands");
    assert.ok(r.bans.has("dave"));
    assert.is(r.topic?.text, "second");
    assert.is(r.owner, "Owner");
    assert.not.ok(r.bans.has("owner"));
  }
  // The ban first, then the grant in the order: the grant to a banned name is void.
  const r2 = settleRoom([mod(1, "a", "op", "owner", "bob"), mod(3, "a", "ban", "owner", "dave"), mod(4, "b", "op", "bob", "dave")], "owner");
  assert.not.ok(r2.ops.has("dave"));
  // Without a right, nothing: a stranger's ban is void.
  const r3 = settleRoom([mod(1, "a", "ban", "stranger", "bob")], "owner");
  assert.is(r3.bans.size, 0);
});

test("sealed DMs: either party opens; a third key, another direction or another conversation does not", () => {
  const a = dmKeyPair(new Uint8Array(randomBytes(32))), b = dmKeyPair(new Uint8Array(randomBytes(32))), e = dmKeyPair(new Uint8Array(randomBytes(32)));
  const text = sealDm(a, b.publicKey, "Alice", "bob", "héllo 😀");
  assert.match(text, /^dm1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.equal(openDm(b, a.publicKey, "alice", "bob", text), { ok: true, text: "héllo 😀" });
  assert.equal(openDm(a, b.publicKey, "alice", "bob", text), { ok: true, text: "héllo 😀" }, "the sender reads its own");
  assert.equal(openDm(e, a.publicKey, "alice", "bob", text), { ok: false });
  assert.equal(openDm(b, a.publicKey, "bob", "alice", text), { ok: false }, "the direction is bound");
  assert.equal(openDm(b, a.publicKey, "alice", "bobby", text), { ok: false }, "the names are bound");
  assert.equal(openDm(b, a.publicKey, "alice", "bob", text.slice(0, -2) + (text.endsWith("A") ? "BA" : "AA")), { ok: false });
  assert.match(fingerprint(a.publicKey), /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  assert.is(dmKeyPair(new Uint8Array(32).fill(1)).publicKey, dmKeyPair(new Uint8Array(32).fill(1)).publicKey, "derived, so the same on every device");
});

test("a registration made during a partition takes the name back from an ephemeral holder on the other side, on both servers", async () => {
  const dir = tempDir("distchat-reclaim-");
  const sa = Store.open(join(dir, "a.sqlite"), "a", { sync: "normal" });
  const sb = Store.open(join(dir, "b.sqlite"), "b", { sync: "normal" });
  const server = (store: StoreType) => {
    const deps = handlerDeps({ store, random: (n) => new Uint8Array(randomBytes(n)) });
    return { store, handle: (req: never, now: number, key: string) => handle(deps, req, { now, key }) };
  };
  const ca = server(sa);
  const cb = server(sb);
  let t = 1_700_000_000_000;
  let tag = 0;
  const ask = (c: ReturnType<typeof server>, req: Record<string, unknown>): Reply => {
    c.store.begin();
    const out = c.handle({ tag: `t${++tag}`, ...req } as never, ++t, `k${tag}`);
    c.store.commit();
    if (!("reply" in out)) throw new Error("held");
    return out.reply;
  };
  const sync = (from: Store, to: Store) => {
    to.begin();
    for (const op of from.opsAfter(to.vector(), 10_000)) to.applyRemote(op);
    to.commit();
  };
  try {
    // a: zed logs in and registers. b, cut off: another zed logs in there.
    const r1 = ask(ca, { verb: "login", userName: "zed" }) as Reply & { token: string };
    const K = Buffer.from(new Uint8Array(32).fill(7)).toString("base64");
    // A real verifier, so the password login below is checked for real.
    const v = await makeVerifier("zed password", new Uint8Array(16).fill(5), 4096);
    const wire = { salt: Buffer.from(v.salt).toString("base64"), iterations: 4096, storedKey: Buffer.from(v.storedKey).toString("base64"), serverKey: Buffer.from(v.serverKey).toString("base64") };
    assert.is(ask(ca, { verb: "register", token: r1.token, verifier: wire, publicKey: K }).verb, "ok");
    const r2 = ask(cb, { verb: "login", userName: "zed" }) as Reply & { token: string };
    assert.is(r2.verb, "ok", "b does not know zed is registered");
    // The partition heals.
    sync(sa, sb);
    sync(sb, sa);
    for (const c of [cb, ca]) {
      const r = ask(c, { verb: "rooms", token: r2.token, after: null });
      assert.is(r.verb === "error" && r.code, "bad-token", `the ephemeral zed on ${c.store.self}`);
      // Told the name is registered — or, where its claim lost to the registering session's, that it ended.
      assert.match((r as { message: string }).message, /registered|ended/);
    }
    // The owner logs in with the password on b; the name holds there now.
    const first = ask(cb, { verb: "auth", userName: "zed", nonce: "abcdefghijklmnopqrst" });
    assert.ok(first.verb === "ok" && first.kind === "auth");
    const fin = (await clientFinal("zed password", "n=zed,r=abcdefghijklmnopqrst", (first as { serverFirst: string }).serverFirst))!;
    const li = ask(cb, { verb: "login", userName: "zed", proof: fin.message });
    assert.ok(li.verb === "ok" && li.kind === "login" && li.serverFinal === fin.serverSignature);
    assert.is(ask(cb, { verb: "rooms", token: (li as { token: string }).token, after: null }).verb, "ok");
    assert.is((ask(ca, { verb: "login", userName: "zed" }) as { code: string }).code, "name-taken");
  } finally {
    sa.close();
    sb.close();
    removeTempDirs();
  }
});

test.run();
