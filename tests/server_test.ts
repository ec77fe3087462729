/**
 * Black-box tests of one server process over raw UDP: every verb, every
 * error code a single server produces, cursors, paging, long polls,
 * duplicates, limits, session expiry and restarts (docs/PROTOCOL.md).
 *
 * Not reachable from outside and so not tested here: `internal` (a handler
 * fault; lib/server/ (group commit, ports) answers it and logs) and `unavailable` (answered
 * while the server is shutting down, a window too short to hit reliably).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeReply } from "../lib/wire/codec.ts";
import type { PollReply, Reply } from "../lib/wire/messages.ts";
import { formatVector } from "../lib/wire/vector.ts";
import {
  parsePoll as poll,
  type Address,
  lines,
  makeCluster,
  removeTempDirs,
  runServerToExit,
  type ServerHandle,
  startServer,
  tempDir,
  type UdpClient,
  udpClient,
} from "../testing/harness.ts";
import { join } from "node:path";
import { statSync, writeFileSync } from "node:fs";

let srv: ServerHandle;
let short: ServerHandle; // --session-ttl 1
let c: UdpClient;
let c2: UdpClient;
let tagNo = 0;
const tag = () => `t${++tagNo}`;

test.before(async () => {
  c = await udpClient();
  c2 = await udpClient();
  const [a, b] = await Promise.all([
    // Its tests log in hundreds of sessions and open hundreds of rooms from one address: no quotas.
    startServer({ id: "a", extraArgs: ["--quota", "logins-per-ip-minute=0", "--quota", "sessions-per-ip=0", "--quota", "rooms-per-session=0", "--quota", "rooms-per-ip-hour=0"] }),
    startServer({ id: "s", ttl: 1 }),
  ]);
  srv = a;
  short = b;
});

test.after(async () => {
  await Promise.all([srv?.stop(), short?.stop()]);
  await c?.close();
  await c2?.close();
  removeTempDirs();
});

/** Sends and returns the reply, checking it decodes and fits 8192 bytes. */
async function ask(text: string | Uint8Array, to: Address = srv.clientAddr, client = c): Promise<string> {
  const reply = await client.request(to, text);
  const bytes = new TextEncoder().encode(reply);
  assert.ok(bytes.length <= 8192, `reply of ${bytes.length} bytes`);
  const d = decodeReply(bytes);
  assert.ok(d.ok, `reply does not decode: ${JSON.stringify(reply.slice(0, 200))} ${d.ok ? "" : d.error.message}`);
  return reply;
}

const code = (reply: string) => (reply.startsWith("error\n") ? reply.split("\n")[2] : "ok");

async function login(name: string, to: Address = srv.clientAddr, client = c): Promise<string> {
  const r = await ask(lines("login", tag(), name), to, client);
  assert.ok(r.startsWith("ok\n"), r);
  return r.split("\n")[4];
}


/** The wire form of a poll reply's cursor. */
const reply2cursor = (p: PollReply): string => formatVector(p.cursor);
const cursorText = reply2cursor;

test("login: token, ttl; name-taken case-insensitively; bad-name", async () => {
  const t = tag();
  const r = await ask(lines("login", t, "Alice"));
  const f = r.split("\n");
  assert.equal(f.slice(0, 4), ["ok", t, "login", "Alice"]);
  assert.match(f[4], /^[A-Za-z0-9_-]{43}$/);
  assert.is(f[5], "300");
  assert.is(code(await ask(lines("login", tag(), "ALICE"))), "name-taken");
  assert.is(code(await ask(lines("login", tag(), "-alice"))), "bad-name");
  assert.is(code(await ask(lines("open", tag(), f[4], "bad name!"))), "bad-name");
});

test("a saved login reply answers only a retransmission of that login: another name with the same tag and port gets its own answer", async () => {
  const t = tag();
  const alice = await ask(lines("login", t, "saved-alice"));
  assert.is(await ask(lines("login", t, "saved-alice")), alice, "a retransmission gets the same token");
  const mallory = await ask(lines("login", t, "saved-mallory"));
  assert.not.ok(mallory.includes(alice.split("\n")[4]), `mallory got: ${mallory}`);
  assert.equal(mallory.split("\n").slice(0, 4), ["ok", t, "login", "saved-mallory"]);
});

test("malformed datagrams: bad-request; too-large; reply verbs never answered", async () => {
  const tok = await login("mal");
  assert.is(code(await ask("login\nm1\nbob")), "bad-request"); // no final newline
  assert.is(code(await ask(lines("hello", "m2"))), "bad-request");
  assert.is(code(await ask(lines("logout", "m3", tok, "a reason", "extra"))), "bad-request"); // one line of reason at most
  assert.is(code(await ask(lines("add", "m4", tok, "bad\\escape", "r"))), "bad-request");
  c.send(srv.clientAddr, lines("rooms", "bad-tag!", tok));
  const untagged = await c.next(5000);
  assert.equal(untagged?.text.split("\n").slice(0, 3), ["error", "-", "bad-request"]);
  const big = lines("add", "big1", tok, "x".repeat(9000), "r");
  const r = await ask(big);
  assert.equal(r.split("\n").slice(0, 3), ["error", "big1", "too-large"]);
  c.send(srv.clientAddr, lines("ok", "q1", "logout"));
  c.send(srv.clientAddr, lines("error", "q2", "internal", "x"));
  c.send(srv.clientAddr, lines("poll", "q3", "r", "0", "0", "0"));
  assert.is(await c.next(700), null);
});

test("bad-token for unknown tokens", async () => {
  assert.is(code(await ask(lines("rooms", tag(), "A".repeat(43)))), "bad-token");
  assert.is(code(await ask(lines("add", tag(), "A".repeat(43), "hi", "r"))), "bad-token");
});

test("open, connect, leave, who, rooms and their errors", async () => {
  const a = await login("ann");
  const b = await login("ben");
  assert.equal((await ask(lines("open", "o1", a, "Garden"))).split("\n"), ["ok", "o1", "open", "Garden", ""]);
  assert.is(code(await ask(lines("open", tag(), b, "garden"))), "room-exists");
  assert.is(code(await ask(lines("connect", tag(), b, "nowhere"))), "no-room");
  assert.is(code(await ask(lines("add", tag(), b, "hi", "garden"))), "not-member");
  assert.is(code(await ask(lines("request", tag(), b, "garden", "0"))), "not-member");
  assert.is(code(await ask(lines("leave", tag(), b, "garden"))), "not-member");
  assert.is(code(await ask(lines("who", tag(), b, "nowhere"))), "no-room");
  assert.equal((await ask(lines("connect", "c1", b, "GARDEN"))).split("\n"), ["ok", "c1", "connect", "Garden", ""]);
  assert.is(code(await ask(lines("connect", tag(), b, "garden"))), "ok"); // twice is fine
  assert.equal((await ask(lines("who", "w1", b, "garden"))).split("\n"), ["ok", "w1", "who", "Garden", "0", "2", "ann", "ben", ""]);
  assert.equal((await ask(lines("who", "w2", b, "garden", "Ann"))).split("\n").slice(4), ["0", "1", "ben", ""]);
  assert.equal((await ask(lines("leave", "l1", b, "garden"))).split("\n"), ["ok", "l1", "leave", "Garden", ""]);
  assert.equal((await ask(lines("who", "w3", a, "garden"))).split("\n").slice(4), ["0", "1", "ann", ""]);
  const rooms = (await ask(lines("rooms", "r1", a))).split("\n");
  assert.equal(rooms.slice(0, 3), ["ok", "r1", "rooms"]);
  assert.ok(rooms.includes("Garden"));
  assert.equal((await ask(lines("logout", "x1", a))).split("\n"), ["ok", "x1", "logout", ""]);
  assert.is(code(await ask(lines("rooms", tag(), a))), "bad-token");
  assert.equal((await ask(lines("who", "w4", b, "garden"))).split("\n").slice(4), ["0", "0", ""]); // membership ended with the session
  assert.ok((await login("ann")).length > 0, "name free after logout");
});

test("rooms: sorted case-insensitively, paged with more/after", async () => {
  const t = await login("roomer");
  const names: string[] = [];
  for (let i = 0; i < 140; i++) names.push(`${i % 2 ? "P" : "p"}${String(i).padStart(3, "0")}${"x".repeat(56)}`);
  for (let i = 0; i < names.length; i += 20) {
    await Promise.all(names.slice(i, i + 20).map((n) => ask(lines("open", tag(), t, n))));
  }
  const got: string[] = [];
  let after: string | null = "p";
  let pages = 0;
  for (let more = true; more && pages < 10; pages++) {
    const f: string[] = (await ask(after === null ? lines("rooms", tag(), t) : lines("rooms", tag(), t, after))).split("\n");
    more = f[3] === "1";
    const page: string[] = f.slice(5, 5 + Number(f[4]));
    got.push(...page);
    after = page[page.length - 1];
  }
  const mine = got.filter((n) => /^p\d{3}x/i.test(n));
  assert.ok(pages >= 2, "needed several pages");
  assert.equal(mine, [...names].sort((x, y) => x.toLowerCase() < y.toLowerCase() ? -1 : 1));
});

test("add and request: msgIDs, escapes, cursors, unknown origins kept", async () => {
  const t = await login("writer");
  await ask(lines("open", tag(), t, "Cursors"));
  const text = "line1\\nline2 \\\\ back\\r ünï 😀";
  const ack = (await ask(lines("add", "a1", t, text, "cursors"))).split("\n");
  assert.equal(ack.slice(0, 5), ["ok", "a1", "add", text, "Cursors"]);
  assert.match(ack[5], /^a\.\d+$/);
  const second = (await ask(lines("add", "a2", t, "two", "cursors"))).split("\n")[5];
  const p1 = poll(await ask(lines("request", "p1", t, "cursors", "0")));
  assert.is(p1.groupName, "Cursors");
  assert.equal(p1.entries.map((e) => `${e.msgId.origin}.${e.msgId.n}`), [ack[5], second]);
  assert.is(p1.entries[0].msg, "line1\nline2 \\ back\r ünï 😀");
  assert.is(p1.entries[0].userName, "writer");
  assert.ok(Math.abs(p1.entries[0].sentAt - Date.now()) < 60_000);
  assert.is(reply2cursor(p1), `a=${second.split(".")[1]}`);
  const p2 = poll(await ask(lines("request", "p2", t, "cursors", `${reply2cursor(p1)},zz=7`)));
  assert.is(p2.entries.length, 0);
  assert.is(reply2cursor(p2), `${reply2cursor(p1)},zz=7`);
  const third = (await ask(lines("add", "a3", t, "three", "cursors"))).split("\n")[5];
  const p3 = poll(await ask(lines("request", "p3", t, "cursors", cursorText(p2))));
  assert.equal(p3.entries.map((e) => `${e.msgId.origin}.${e.msgId.n}`), [third]);
  assert.ok(reply2cursor(p3).endsWith(",zz=7"));
});

test("more: a full room is read in several polls, each message once, in order", async () => {
  const t = await login("filler");
  await ask(lines("open", tag(), t, "Full"));
  const sent: string[] = [];
  for (let i = 0; i < 30; i += 10) {
    const batch = Array.from({ length: 10 }, (_, k) => `${String(i + k).padStart(2, "0")} ${"é".repeat(700)}`);
    sent.push(...batch);
    // Sequential within a batch keeps the order known.
    for (const m of batch) await ask(lines("add", tag(), t, m, "full"));
  }
  const got: string[] = [];
  let cursor = "0";
  let polls = 0;
  for (let more = true; more && polls < 40; polls++) {
    const p = poll(await ask(lines("request", tag(), t, "full", cursor)));
    got.push(...p.entries.map((e) => e.msg));
    cursor = reply2cursor(p);
    more = p.more;
    if (more) assert.ok(p.entries.length > 0);
  }
  assert.ok(polls >= 5, `${polls} polls`);
  assert.equal(got, sent);
});

test("history: the newest page first, older pages by before, the live tail from its cursor; not-member, no-message", async () => {
  const t = await login("historian");
  await ask(lines("open", tag(), t, "Annals"));
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = (await ask(lines("add", tag(), t, `entry ${i} ${"x".repeat(300)}`, "annals"))).split("\n");
    ids.push(r[5]);
  }
  type H = Extract<Reply, { kind: "history" }>;
  const hist = async (limit: number, before?: string): Promise<H> => {
    const text = await ask(lines("history", tag(), t, "annals", limit, ...(before ? [before] : [])));
    const d = decodeReply(new TextEncoder().encode(text));
    assert.ok(d.ok && d.value.verb === "ok" && d.value.kind === "history", text);
    return (d.ok ? d.value : null) as H;
  };
  const idsOf = (h: H) => h.entries.map((e) => `${e.msgId.origin}.${e.msgId.n}`);
  const latest = await hist(10);
  assert.equal(idsOf(latest), ids.slice(30), "the newest 10, oldest first");
  assert.ok(latest.more);
  assert.is(latest.groupName, "Annals");
  // Back to the start, page by page: every message once, in order.
  let all = idsOf(latest);
  for (let h = latest, pages = 0; h.more && pages < 20; pages++) {
    h = await hist(10, idsOf(h)[0]);
    all = [...idsOf(h), ...all];
  }
  assert.equal(all, ids);
  // As many as fit: 40 entries of ~330 bytes do not fit 8192 bytes.
  const big = await hist(1000);
  assert.ok(big.entries.length > 10 && big.entries.length < 40 && big.more, `${big.entries.length} fit`);
  assert.equal(idsOf(big), ids.slice(40 - big.entries.length));
  // The live tail: a poll from the history cursor lists only what comes next.
  const next = (await ask(lines("add", tag(), t, "after the page", "annals"))).split("\n")[5];
  const p = poll(await ask(lines("request", tag(), t, "annals", formatVector(latest.cursor))));
  assert.equal(p.entries.map((e) => `${e.msgId.origin}.${e.msgId.n}`), [next]);
  // Errors.
  const other = await login("outsider");
  assert.is(code(await ask(lines("history", tag(), other, "annals", 5))), "not-member");
  assert.is(code(await ask(lines("history", tag(), t, "annals", 5, "zz.99"))), "no-message");
  assert.is(code(await ask(lines("history", tag(), t, "annals", 0))), "bad-request");
});

test("long poll: answered when a message arrives; empty poll at expiry; one answer for a duplicate", async () => {
  const a = await login("waiter");
  const b = await login("poster", srv.clientAddr, c2);
  await ask(lines("open", tag(), a, "Lp"));
  await ask(lines("connect", tag(), b, "lp"), srv.clientAddr, c2);
  const p0 = poll(await ask(lines("request", tag(), a, "lp", "0")));
  const cur = reply2cursor(p0);
  const hold = lines("request", "lp1", a, "lp", cur, 20000);
  c.send(srv.clientAddr, hold);
  await new Promise((r) => setTimeout(r, 300));
  c.send(srv.clientAddr, hold); // retransmission while held
  await new Promise((r) => setTimeout(r, 200));
  await ask(lines("add", tag(), b, "wake up", "lp"), srv.clientAddr, c2);
  const got = await c.next(10_000);
  assert.ok(got, "held poll answered");
  const p = poll(got!.text);
  assert.is(p.tag, "lp1");
  assert.equal(p.entries.map((e) => e.msg), ["wake up"]);
  assert.is(await c.next(500), null, "no second answer");
  // The same request again is answered from the cache, identically.
  assert.is(await ask(hold), got!.text);
  const started = Date.now();
  const empty = poll(await ask(lines("request", "lp2", a, "lp", reply2cursor(p), 400)));
  assert.is(empty.entries.length, 0);
  assert.ok(Date.now() - started >= 350, "held until expiry");
});

test("fan-out: one add answers every held poll of the room, each with its own tag; a burst of polls is not dropped", async () => {
  const poster = await login("fanposter", srv.clientAddr, c2);
  await ask(lines("open", tag(), poster, "Fan"), srv.clientAddr, c2);
  await ask(lines("add", tag(), poster, "before", "fan"), srv.clientAddr, c2);
  const N = 400, FUTURE = 40; // FUTURE of them poll with a cursor past every message
  const clients = await Promise.all([udpClient(), udpClient(), udpClient(), udpClient()]);
  try {
    const tokens: string[] = [];
    for (let i = 0; i < N; i++) {
      const cl = clients[i % clients.length];
      const t = await login(`fan${i}`, srv.clientAddr, cl);
      assert.is(code(await ask(lines("connect", tag(), t, "fan"), srv.clientAddr, cl)), "ok");
      tokens.push(t);
    }
    const cur = reply2cursor(poll(await ask(lines("request", tag(), tokens[0], "fan", "0"))));
    const tags = tokens.map((_, i) => `f${"x".repeat(i % 5)}${i}`); // several tag lengths
    const future = (i: number) => i < FUTURE;
    for (let i = 0; i < N; i++) {
      const wait = future(i) ? 1500 : 20000;
      clients[i % clients.length].send(srv.clientAddr, lines("request", tags[i], tokens[i], "fan", future(i) ? "a=999999" : cur, wait));
    }
    await new Promise((r) => setTimeout(r, 400));
    for (const cl of clients) assert.is(await cl.next(0), null, "nothing new: every poll is held");
    await ask(lines("add", tag(), poster, "wake all", "fan"), srv.clientAddr, c2);
    const got = new Map<string, PollReply>();
    const until = Date.now() + 10_000;
    while (got.size < N && Date.now() < until) {
      for (const cl of clients) {
        for (let d = await cl.next(5); d; d = await cl.next(0)) {
          const p = poll(d.text);
          assert.not.ok(got.has(p.tag), `one answer for ${p.tag}`);
          got.set(p.tag, p);
        }
      }
    }
    assert.is(got.size, N, "every held poll answered (the woken at once, the others at expiry)");
    for (let i = 0; i < N; i++) {
      const p = got.get(tags[i])!;
      assert.is(p.groupName, "Fan");
      if (future(i)) {
        assert.is(p.entries.length, 0, "a cursor past every message: empty reply at expiry");
      } else {
        assert.equal(p.entries.map((e) => e.msg), ["wake all"], tags[i]);
        assert.is(p.entries[0].userName, "fanposter");
        assert.is.not(reply2cursor(p), cur);
      }
    }
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
  }
});

test("duplicates: identical bytes back, no second effect", async () => {
  const client = c2;
  const loginText = lines("login", "d1", "dupe");
  const l1 = await ask(loginText, srv.clientAddr, client);
  const l2 = await ask(loginText, srv.clientAddr, client);
  assert.is(l2, l1);
  const t = l1.split("\n")[4];
  const openText = lines("open", "d2", t, "Dups");
  assert.is(await ask(openText, srv.clientAddr, client), await ask(openText, srv.clientAddr, client));
  const add = lines("add", "d3", t, "once", "dups");
  const r1 = await ask(add, srv.clientAddr, client);
  const r2 = await ask(add, srv.clientAddr, client);
  assert.is(r2, r1);
  const leave1 = await ask(lines("leave", "d4", t, "dups"), srv.clientAddr, client);
  assert.is(await ask(lines("leave", "d4", t, "dups"), srv.clientAddr, client), leave1, "not not-member");
  await ask(lines("connect", tag(), t, "dups"), srv.clientAddr, client);
  const p = poll(await ask(lines("request", tag(), t, "dups", "0"), srv.clientAddr, client));
  assert.equal(p.entries.map((e) => e.msg), ["once"]);
  const err = lines("open", "d5", t, "dups");
  assert.is(code(await ask(err, srv.clientAddr, client)), "room-exists");
  assert.is(await ask(err, srv.clientAddr, client), await ask(err, srv.clientAddr, client));
});

test("rate limits: per source IP (not port) and per session; refusals once a second; garbage answered short, and not at all past the limit", async () => {
  const limited = await startServer({ id: "r", extraArgs: ["--rate-limit", "5", "--session-rate", "3"] });
  const opened: UdpClient[] = [];
  const at = async (host: string) => {
    const u = await udpClient(host);
    opened.push(u);
    return u;
  };
  const drain = async (u: UdpClient) => {
    const codes: string[] = [];
    for (let d = await u.next(1500); d; d = await u.next(500)) codes.push(code(d.text));
    return codes;
  };
  try {
    // 40 logins from one socket: 10 (the burst) ok, one rate-limited, the rest dropped.
    const one = await at("127.0.0.3");
    for (let i = 0; i < 40; i++) one.send(limited.clientAddr, lines("login", `r${i}`, `rl${i}`));
    const codes = await drain(one);
    assert.ok(codes.filter((c) => c === "ok").length <= 12, codes.join(","));
    assert.is(codes.filter((c) => c === "rate-limited").length, 1, codes.join(","));
    // 30 source ports of one IP share one budget: no more than the burst gets through.
    const ports = await Promise.all(Array.from({ length: 30 }, () => at("127.0.0.4")));
    ports.forEach((u, i) => u.send(limited.clientAddr, lines("login", `p${i}`, `port${i}`)));
    const perPort = (await Promise.all(ports.map((u) => u.next(1500)))).map((d) => (d ? code(d.text) : "none"));
    assert.ok(perPort.filter((c) => c === "ok").length <= 12, perPort.join(","));
    // Meanwhile a client on another address is served.
    const other = await at("127.0.0.5");
    assert.is(code(await other.request(limited.clientAddr, lines("login", "o1", "other"))), "ok");
    // One session from three addresses: the session's budget (3/s, burst 6) is shared.
    const token = (await other.request(limited.clientAddr, lines("login", "o2", "sess"))).split("\n")[4];
    const hosts = await Promise.all(["127.0.0.6", "127.0.0.7", "127.0.0.8"].map(at));
    for (let i = 0; i < 12; i++) hosts[i % 3].send(limited.clientAddr, lines("rooms", `s${i}`, token));
    const sessionCodes = (await Promise.all(hosts.map(drain))).flat();
    assert.ok(sessionCodes.filter((c) => c === "ok").length <= 7, sessionCodes.join(","));
    assert.ok(sessionCodes.includes("rate-limited"), sessionCodes.join(","));
    // Garbage: a 1-byte datagram gets an error of at most 3× its size on the wire (59 bytes); past the limit, nothing.
    const junk = await at("127.0.0.9");
    junk.send(limited.clientAddr, "x");
    const first = await junk.next(1500);
    assert.ok(first && first.bytes.length <= 3 * (1 + 28) - 28, `${first?.bytes.length} bytes: ${first?.text}`);
    for (let i = 0; i < 200; i++) junk.send(limited.clientAddr, "x");
    const answered = (await drain(junk)).length;
    assert.ok(answered <= 12, `${answered} garbage datagrams answered`);
  } finally {
    await Promise.all(opened.map((u) => u.close()));
    await limited.stop();
  }
});

test("quotas: logins per address, rooms per session, message bytes per minute; others still served; the disk floor refuses writes with unavailable", async () => {
  const q = await startServer({
    id: "q",
    extraArgs: ["--quota", "logins-per-ip-minute=3", "--quota", "rooms-per-session=2", "--quota", "message-bytes-per-minute=300"],
  });
  const full = await startServer({ id: "f", extraArgs: ["--min-free-mb", "1000000000"] });
  const u = await udpClient("127.0.0.10");
  const v = await udpClient("127.0.0.11");
  try {
    const logins = [];
    for (let i = 0; i < 4; i++) logins.push(await u.request(q.clientAddr, lines("login", `l${i}`, `quota${i}`)));
    assert.equal(logins.map(code), ["ok", "ok", "ok", "rate-limited"]);
    assert.match(logins[3], /more than 3 logins a minute from this address/);
    assert.is(code(await v.request(q.clientAddr, lines("login", "l1", "elsewhere"))), "ok", "another address is served");
    const token = logins[0].split("\n")[4];
    const opens = [];
    for (let i = 0; i < 3; i++) opens.push(code(await u.request(q.clientAddr, lines("open", `o${i}`, token, `qroom${i}`))));
    assert.equal(opens, ["ok", "ok", "rate-limited"]);
    const adds = [];
    for (let i = 0; i < 4; i++) adds.push(code(await u.request(q.clientAddr, lines("add", `a${i}`, token, "x".repeat(100), "qroom0"))));
    assert.equal(adds, ["ok", "ok", "ok", "rate-limited"]);
    assert.is(code(await u.request(q.clientAddr, lines("add", "a0", token, "x".repeat(100), "qroom0"))), "ok", "a resend of a stored add is answered");
    // Below the disk floor: no login (nor room, nor message); the server says so once in its log.
    const r = await u.request(full.clientAddr, lines("login", "d1", "diskfull"));
    assert.is(code(r), "unavailable");
    assert.match(r, /disk is nearly full/);
    assert.match(full.stderr(), /disk nearly full: .* below the floor/);
  } finally {
    await u.close();
    await v.close();
    await Promise.all([q.stop(), full.stop()]);
  }
});

test("session expiry: bad-token after ttl idle, name free, not listed", async () => {
  const client = await udpClient();
  const to = short.clientAddr;
  try {
    const l = (await ask(lines("login", "e1", "sleepy"), to, client)).split("\n");
    assert.is(l[5], "1");
    const awake = (await ask(lines("login", "e2", "awake"), to, client)).split("\n")[4];
    await ask(lines("open", "e3", l[4], "Naps"), to, client);
    await ask(lines("connect", "e4", awake, "naps"), to, client);
    // Keep "awake" active while "sleepy" idles past its 1 s ttl.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 450));
      await ask(lines("rooms", `e5x${i}`, awake), to, client);
    }
    assert.equal((await ask(lines("who", "e6", awake, "naps"), to, client)).split("\n").slice(4), ["0", "1", "awake", ""]);
    assert.is(code(await ask(lines("rooms", "e7", l[4]), to, client)), "bad-token");
    assert.is(code(await ask(lines("login", "e8", "SLEEPY"), to, client)), "ok");
  } finally {
    await client.close();
  }
});

test("restart on the same database keeps sessions, rooms, members, messages and replies", async () => {
  const t = await login("keeper");
  const open = lines("open", "k1", t, "Vault");
  const openReply = await ask(open);
  const add = lines("add", "k2", t, "safe", "vault");
  const addReply = await ask(add);
  const loginText = lines("login", "k3", "keeper2");
  const loginReply = await ask(loginText);
  const exit = await srv.stop();
  assert.is(exit.code, 0, `clean exit: ${srv.stderr()}`);
  srv = await startServer({ id: "a", servers: srv.servers, db: srv.db });
  assert.is(await ask(open), openReply);
  assert.is(await ask(add), addReply);
  assert.is(await ask(loginText), loginReply, "login answered as before, same token");
  const p = poll(await ask(lines("request", tag(), t, "vault", "0")));
  assert.equal(p.entries.map((e) => e.msg), ["safe"]);
  assert.equal((await ask(lines("who", "k4", t, "vault"))).split("\n").slice(4), ["0", "1", "keeper", ""]);
  assert.is(code(await ask(lines("login", tag(), "keeper"))), "name-taken");
});

test("secure by default: peers but no cluster key is refused; --insecure-peers runs, saying so; files are owner-only", async () => {
  const dir = tempDir();
  const { file } = await makeCluster(["a", "b"], dir);
  const db = join(dir, "a.sqlite");
  const refused = await runServerToExit(["--id", "a", "--servers", file, "--db", db]);
  assert.is(refused.code, 2);
  assert.is(refused.stderr.trim().split("\n").length, 1);
  assert.match(refused.stderr, /lists 1 other server\(s\), so peer datagrams must be authenticated: give every server the same --cluster-key FILE \(npm run keygen -- FILE makes one\), or --insecure-peers/);
  const s = await startServer({ id: "a", servers: file, db }); // the harness passes --insecure-peers
  try {
    // Every server has a key=: the links are encrypted, authenticated by the static keys alone.
    assert.match(s.stderr(), /warning: --insecure-peers: peer datagrams are authenticated by the servers' keys only \(no cluster key as psk\)/);
    const c = await udpClient();
    try {
      assert.match(await c.request(s.clientAddr, lines("login", 1, "owner")), /^ok\n/);
    } finally {
      await c.close();
    }
    for (const f of ["", "-wal", "-shm", ".key", ".hwm"]) {
      assert.is((statSync(db + f).mode & 0o777).toString(8), "600", `${db}${f}`);
    }
  } finally {
    await s.stop();
  }
});

test("bad flags or configuration: one line on stderr, non-zero exit", async () => {
  const dir = tempDir();
  const { file } = await makeCluster(["a"], dir);
  const noId = await runServerToExit(["--servers", file]);
  assert.ok(noId.code !== 0 && !noId.timedOut);
  assert.match(noId.stderr, /--id is required/);
  assert.is(noId.stderr.trim().split("\n").length, 1);
  const wrongId = await runServerToExit(["--id", "zz", "--servers", file, "--db", join(dir, "z.sqlite")]);
  assert.ok(wrongId.code !== 0);
  assert.match(wrongId.stderr, /no line for server id "zz"/);
  const bad = join(dir, "bad.txt");
  writeFileSync(bad, "a 127.0.0.1 127.0.0.1:1\n");
  const badFile = await runServerToExit(["--id", "a", "--servers", bad]);
  assert.ok(badFile.code !== 0);
  assert.match(badFile.stderr, /line 1/);
  const ttl = await runServerToExit(["--id", "a", "--servers", file, "--session-ttl", "soon"]);
  assert.ok(ttl.code !== 0);
  assert.match(ttl.stderr, /--session-ttl/);
});

test.run();
