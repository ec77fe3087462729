/**
 * `Rooms.membership` answers from a cache per (session, room)
 * (lib/store/_membership_cache.ts): every change of the answer takes effect
 * on the very next add — a leave, a kick, a ban, moderation (+m), a logout,
 * a join again, a room renamed by an earlier `open` — and the cache stays
 * bounded. The handlers and a store in memory.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { tempDir } from "../testing/harness.ts";
import { Store } from "../lib/store/store.ts";
import { handle, handlerDeps } from "../lib/handlers/index.ts";
import { sessionId } from "../lib/rules/session_id.ts";
import { MembershipCache } from "../lib/store/_membership_cache.ts";
import type { Op, Reply, Request } from "../lib/wire/messages.ts";

type Dist<T> = T extends unknown ? Omit<T, "tag"> : never;

/** A server's handlers on a fresh store; `ask` runs one request in its own transaction. */
function server() {
  const store = Store.open(join(tempDir("distchat-room-access-"), "a.sqlite"), "a", { sync: "normal" });
  store.setOrigin("a");
  const deps = handlerDeps({ store, random: (n) => new Uint8Array(randomBytes(n)) });
  let t = 1_700_000_000_000, n = 0;
  const ask = (req: Dist<Request>): Reply => {
    store.begin();
    const token = "token" in req ? req.token : null;
    const out = handle(deps, { ...req, tag: `t${++n}` } as Request, { now: ++t, key: `k${n}`, session: token === null ? undefined : sessionId(token) });
    store.commit();
    if (!("reply" in out)) throw new Error("held");
    return out.reply;
  };
  const login = (userName: string): string => (ask({ verb: "login", userName }) as { token: string }).token;
  /** The add's outcome: "ok" or the error code. */
  const add = (token: string, groupName = "r1"): string => {
    const r = ask({ verb: "add", token, groupName, msg: "hi" });
    return r.verb === "ok" ? "ok" : r.verb === "error" ? r.code : r.verb;
  };
  return { store, ask, login, add };
}

test("a leave, a kick, a ban, +m and a logout take effect on the very next add; a join again on the next", () => {
  const s = server();
  const alice = s.login("alice"), bob = s.login("bob");
  assert.is(s.ask({ verb: "open", token: alice, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "not-member"); // cached as no membership …
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "ok"); // … until bob joined
  assert.is(s.add(bob), "ok");
  assert.is(s.ask({ verb: "leave", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "not-member");
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "ok");
  assert.is(s.ask({ verb: "mod", token: alice, groupName: "r1", action: "kick", target: "bob", text: "" }).verb, "ok");
  assert.is(s.add(bob), "not-member");
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "ok");
  assert.is(s.ask({ verb: "mod", token: alice, groupName: "r1", action: "mode", target: "+m", text: "" }).verb, "ok");
  assert.is(s.add(bob), "not-allowed");
  assert.is(s.ask({ verb: "mod", token: alice, groupName: "r1", action: "mode", target: "-m", text: "" }).verb, "ok");
  assert.is(s.add(bob), "ok");
  assert.is(s.ask({ verb: "mod", token: alice, groupName: "r1", action: "ban", target: "bob", text: "" }).verb, "ok");
  assert.is(s.add(bob), "not-member");
  assert.is(s.ask({ verb: "mod", token: alice, groupName: "r1", action: "unban", target: "bob", text: "" }).verb, "ok");
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "ok");
  assert.ok(s.store.rooms.membership("r1", sessionId(bob)) !== null);
  assert.is(s.ask({ verb: "logout", token: bob }).verb, "ok");
  assert.is(s.add(bob), "bad-token");
  assert.is(s.store.rooms.membership("R1", sessionId(bob)), null, "an ended session's memberships went with it");
  assert.is(s.add(alice), "ok");
  s.store.close();
});

test("a peer's leave and join of the session (it moved servers) take effect on the very next add here", () => {
  const s = server();
  const alice = s.login("alice"), bob = s.login("bob");
  assert.is(s.ask({ verb: "open", token: alice, groupName: "r1" }).verb, "ok");
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "r1" }).verb, "ok");
  assert.is(s.add(bob), "ok");
  const peer = (seq: number, kind: "leave" | "join"): Op =>
    ({ origin: "b", seq, deps: new Map(s.store.vector()), at: 1_700_000_001_000 + seq, session: sessionId(bob), kind, groupName: "r1" }) as Op;
  s.store.begin();
  assert.ok(s.store.applyRemote(peer(1, "leave")));
  s.store.commit();
  assert.is(s.add(bob), "not-member");
  s.store.begin();
  assert.ok(s.store.applyRemote(peer(2, "join")));
  s.store.commit();
  assert.is(s.add(bob), "ok");
  s.store.close();
});

test("a room renamed by an earlier open is named so in every member's next answer", () => {
  const s = server();
  const alice = s.login("alice"), bob = s.login("bob");
  assert.is(s.ask({ verb: "open", token: alice, groupName: "room" }).verb, "ok");
  assert.is(s.ask({ verb: "connect", token: bob, groupName: "room" }).verb, "ok");
  assert.is(s.store.rooms.membership("ROOM", sessionId(bob))?.name, "room");
  s.store.begin();
  s.store.rooms.enter("open", "Room", sessionId(alice), [0, "a"], Number.MAX_SAFE_INTEGER); // an open that sorts first
  s.store.commit();
  assert.is(s.store.rooms.membership("room", sessionId(bob))?.name, "Room");
  assert.is(s.store.rooms.membership("room", sessionId(alice))?.name, "Room");
  s.store.close();
});

test("the cache is bounded, and forgets pairs and sessions", () => {
  const c = new MembershipCache(100);
  for (let i = 0; i < 1000; i++) c.set(`s${i % 37}`, `r${i}`, i % 2 === 0 ? null : { name: `R${i}`, joined: [i, "a"] });
  assert.ok(c.size <= 100, `size ${c.size}`);
  c.clear();
  c.set("s", "a", null);
  c.set("s", "b", { name: "B", joined: [1, "a"] });
  c.set("t", "a", null);
  assert.is(c.get("s", "a"), null);
  assert.is(c.get("s", "b")?.name, "B");
  assert.is(c.get("s", "c"), undefined);
  c.forget("s", "a");
  assert.is(c.get("s", "a"), undefined);
  assert.is(c.size, 2);
  c.forgetSession("s");
  assert.is(c.get("s", "b"), undefined);
  assert.is(c.size, 1);
});

test.run();
