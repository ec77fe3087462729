/**
 * The client port's limits on writes and held polls (issue 20 rows 9-11),
 * in process on a manual clock: below the disk floor every verb that writes
 * is `unavailable` and nothing is stored while reads are served; a request
 * that changes nothing stores nothing and counts no quota; the shared
 * writes quota per session and per address; cursors naming too many
 * unknown origins are `bad-request`; held polls stay within their memory
 * budgets per address and in all.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_QUOTAS, Quotas } from "../lib/server/quotas.ts";
import { heldBytes } from "../lib/server/held_polls.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { ALICE, BOB, enter, setup } from "./_port.ts";

const CAROL = { host: "127.0.0.2", port: 40003 };
const DAVE = { host: "127.0.0.3", port: 40004 };
const B64 = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";

test.after(() => removeTempDirs());

/** The replies sent since `from` (syncs left out), as "PORT verb|tag|…". */
const sent = (t: ReturnType<typeof setup>, from = 0) => t.events.slice(from).filter((e) => e !== "sync");
/** The code of an error reply ("ok" for an ok). */
const code = (e: string) => (e.split(" ")[1].startsWith("ok") ? "ok" : e.split("|")[2]);
const rows = (t: ReturnType<typeof setup>, table: string) => (t.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

test("below the disk floor every verb that writes is unavailable and stores nothing; reads are served", () => {
  let low = false;
  const t = setup({ diskLow: () => low });
  try {
    const a = enter(t, ALICE, "alice", true);
    low = true;
    const [ops, replies, changes] = [rows(t, "ops"), rows(t, "replies"), t.store.changes];
    const verifier = `c2FsdHNhbHRzYWx0\n4096\n${B64}\n${B64}`;
    const writes: (string | number)[][] = [
      ["login", "w1", "zed"],
      ["open", "w2", a, "other"],
      ["connect", "w3", a, "r"],
      ["add", "w4", a, "hi", "r"],
      ["leave", "w5", a, "r"],
      ["mod", "w6", a, "r", "topic", "-", "a topic"],
      ["register", "w7", a, verifier, "-"],
      ["pubkey", "w8", a, B64],
      ["password", "w9", "alice", "c=biws,r=abc,p=xyz", verifier],
      ["drop", "w10", "alice", "c=biws,r=abc,p=xyz"],
      ["logout", "w11", a],
    ];
    const at = t.events.length;
    for (const w of writes) t.say(ALICE, ...w);
    t.clock.runSoon();
    const out = sent(t, at);
    assert.is(out.length, writes.length);
    for (const e of out) assert.match(e, /\|unavailable\|this server's disk is nearly full; try another server\|$/);
    assert.equal([rows(t, "ops"), rows(t, "replies"), t.store.changes], [ops, replies, changes], "nothing stored");
    const reads = t.events.length;
    t.say(ALICE, "rooms", "r1", a);
    t.say(ALICE, "who", "r2", a, "r");
    t.say(ALICE, "history", "r3", a, "r", 10);
    t.say(ALICE, "request", "r4", a, "r", "0");
    t.clock.runSoon();
    assert.equal(sent(t, reads).map((e) => e.split("|")[0]), ["40001 ok", "40001 ok", "40001 ok", "40001 poll"]);
  } finally {
    t.close();
  }
});

test("a connect to a room the session is in changes nothing: no saved reply, no quota; a second leave is not-member", () => {
  const t = setup({ quotas: new Quotas({ ...DEFAULT_QUOTAS, writesPerSessionPerMinute: 3 }, () => true) });
  try {
    const a = enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    for (const room of ["s1", "s2", "s3", "s4"]) t.say(BOB, "open", `o${room}`, b, room);
    t.clock.runSoon();
    const [replies, changes] = [rows(t, "replies"), t.store.changes];
    const at = t.events.length;
    for (let i = 0; i < 100; i++) t.say(ALICE, "connect", `c${i}`, a, "r");
    t.clock.runSoon();
    assert.ok(sent(t, at).every((e) => code(e) === "ok"), "100 re-connects answered ok");
    assert.equal([rows(t, "replies"), t.store.changes], [replies, changes], "no reply row, no op");
    // The quota (3 a minute) counted none of them: three real joins pass, the fourth is refused.
    const joins = t.events.length;
    for (const room of ["s1", "s2", "s3", "s4"]) t.say(ALICE, "connect", `j${room}`, a, room);
    t.clock.runSoon();
    assert.equal(sent(t, joins).map(code), ["ok", "ok", "ok", "rate-limited"]);
    assert.match(sent(t, joins)[3], /more than 3 changes a minute .* from this session/);
    t.clock.advance(60_000);
    const leaves = t.events.length;
    t.say(ALICE, "leave", "l1", a, "s1");
    t.clock.runSoon();
    t.say(ALICE, "leave", "l2", a, "s1");
    t.clock.runSoon();
    assert.equal(sent(t, leaves).map(code), ["ok", "not-member"]);
  } finally {
    t.close();
  }
});

test("the shared writes quota: per session a minute, and per address across its sessions", () => {
  const t = setup({ quotas: new Quotas({ ...DEFAULT_QUOTAS, writesPerSessionPerMinute: 5, writesPerIpPerMinute: 8 }, () => true) });
  try {
    const a = enter(t, CAROL, "carol", true);
    let at = t.events.length;
    for (let i = 0; i < 7; i++) t.say(CAROL, "mod", `m${i}`, a, "r", "topic", "-", `topic ${i}`);
    t.clock.runSoon();
    assert.equal(sent(t, at).map(code), ["ok", "ok", "ok", "ok", "ok", "rate-limited", "rate-limited"]);
    // Another session of the same address: its join is the 6th change of the address, two more pass, then its 8 are used up.
    const d = enter(t, { ...CAROL, port: 40005 }, "dan", false);
    at = t.events.length;
    for (let i = 0; i < 4; i++) t.say({ ...CAROL, port: 40005 }, "connect", `d${i}`, d, `x${i}`); // no such rooms: no-room, nothing counted
    t.clock.runSoon();
    assert.equal(sent(t, at).map(code), ["no-room", "no-room", "no-room", "no-room"]);
    at = t.events.length;
    t.say({ ...CAROL, port: 40005 }, "leave", "dl", d, "r");
    t.say({ ...CAROL, port: 40005 }, "connect", "dc", d, "r");
    t.say({ ...CAROL, port: 40005 }, "leave", "dl2", d, "r");
    t.say({ ...CAROL, port: 40005 }, "connect", "dc2", d, "r");
    t.clock.runSoon();
    assert.equal(sent(t, at).map(code), ["ok", "ok", "rate-limited", "rate-limited"]);
    assert.match(sent(t, at)[2], /more than 8 changes a minute .* from this address/);
    // Another address is not touched; a minute later the window is new.
    const e = enter(t, DAVE, "erin", false);
    at = t.events.length;
    t.say(DAVE, "leave", "el", e, "r");
    t.clock.runSoon();
    assert.equal(sent(t, at).map(code), ["ok"]);
    t.clock.advance(60_000);
    at = t.events.length;
    t.say(CAROL, "mod", "late", a, "r", "topic", "-", "later");
    t.clock.runSoon();
    assert.equal(sent(t, at).map(code), ["ok"]);
  } finally {
    t.close();
  }
});

test("a cursor may name at most 8 origins the server has not heard of; more are bad-request", () => {
  const t = setup();
  try {
    const a = enter(t, ALICE, "alice", true);
    const unknown = (n: number) => Array.from({ length: n }, (_, i) => `z~${i}=1`).join(",");
    const at = t.events.length;
    t.say(ALICE, "request", "p1", a, "r", `a=99,${unknown(8)}`, 20000);
    t.say(ALICE, "request", "p2", a, "r", `a=99,${unknown(9)}`, 20000);
    t.clock.runSoon();
    assert.is(t.port.heldPolls, 1, "8 unknown origins: held");
    assert.equal(sent(t, at), [
      "40001 error|p2|bad-request|the cursor names 9 origins this server has not heard of (at most 8); poll from the cursor of a history reply|",
    ]);
  } finally {
    t.close();
  }
});

test("held polls: an address past its memory budget is rate-limited, others are held; past the total, everyone", () => {
  const w = { key: `${"b".repeat(64)} p0`, tag: "p0", session: "b".repeat(64), groupName: "r", cursor: fromEntries([["a", 99]]), deadline: 0 };
  const one = heldBytes(w);
  const t = setup({ maxHeldBytesPerIp: 10 * one + one / 2, maxHeldBytes: 25 * one + one / 2 });
  try {
    const tokens = [ALICE, CAROL, DAVE].map((from, i) => enter(t, from, `u${i}`, i === 0));
    const poll = (from: typeof ALICE, token: string, n: number) => {
      const at = t.events.length;
      for (let i = 0; i < n; i++) t.say(from, "request", `p${i}`, token, "r", "a=99", 20000);
      t.clock.runSoon();
      return sent(t, at);
    };
    const refused = poll(ALICE, tokens[0], 12);
    assert.is(t.port.heldPolls, 10, "ten fit the address's budget");
    assert.equal(refused.map(code), ["rate-limited", "rate-limited"]);
    assert.match(refused[0], new RegExp(`long polls held for this address take ${Math.floor((10 * one + one / 2) / 1024)} KiB of memory already`));
    assert.equal(poll(CAROL, tokens[1], 10), [], "another address: held");
    const all = poll(DAVE, tokens[2], 10);
    assert.is(t.port.heldPolls, 25, "the total budget is reached");
    assert.is(all.length, 5);
    assert.match(all[0], /this server holds \d+ KiB of long polls already/);
  } finally {
    t.close();
  }
});

test.run();
