/**
 * Issue 20 rows 9 and 11, mounted from outside against real server
 * processes with default settings (attackers on 127.0.0.2, legit users on
 * 127.0.0.3), scaled to seconds:
 * - row 9: one session sends `mod topic` and `pubkey` 500 times a second,
 *   then 20 sessions of its address join in: the writes quota stores at most
 *   a minute's allowance, memory stays bounded, the legit user is answered;
 * - row 11: below the disk floor every verb that writes is `unavailable`
 *   and nothing is stored, reads are served; re-`connect`s to a joined room
 *   store nothing (no reply row).
 * Properties, not timings: "answered" means within a generous deadline.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { DEFAULT_QUOTAS } from "../lib/config/limits.ts";
import { enter, login, sleep, tag } from "../testing/cluster_ops.ts";
import { lines, removeTempDirs, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";
import { groupRss } from "../testing/processes.ts";
import type { Address } from "../lib/wire/address.ts";

const ATTACKER = "127.0.0.2";
const LEGIT = "127.0.0.3";
const KEY = Buffer.alloc(32, 7).toString("base64");

test.after(removeTempDirs);

/** Counts rows of the stopped server's database. */
function count(db: string, sql: string): number {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return (d.prepare(sql).get() as { n: number }).n;
  } finally {
    d.close();
  }
}

/** Sends `make(i)` for i < n at `perSecond`, then gathers the replies until none comes for 0.5 s: their codes ("ok" or the error's). */
async function flood(u: UdpClient, to: Address, n: number, perSecond: number, make: (i: number) => string): Promise<Map<string, number>> {
  const start = Date.now();
  for (let i = 0; i < n;) {
    const due = Math.min(n, Math.floor(((Date.now() - start) / 1000) * perSecond) + 1);
    for (; i < due; i++) u.send(to, make(i));
    await sleep(5);
  }
  const codes = new Map<string, number>();
  for (let d = await u.next(500); d !== null; d = await u.next(500)) {
    const f = d.text.split("\n");
    const c = f[0] === "ok" ? "ok" : f[2];
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  return codes;
}

/** A legit user's requests while `attack` runs: each must be answered within 5 s; returns how many were. */
async function alongside(attack: Promise<unknown>, to: Address, token: string): Promise<number> {
  const u = await udpClient(LEGIT);
  let done = false, answered = 0;
  void attack.finally(() => (done = true));
  try {
    while (!done) {
      const r = await u.request(to, lines("add", tag(), token, `still here ${answered}`, "lobby"), 5000);
      assert.match(r, /^ok\n/);
      answered++;
      await sleep(100);
    }
  } finally {
    await u.close();
  }
  await attack;
  return answered;
}

test("row 9: mod topic and pubkey at 500/s from one session, then from 20 sessions of its address: a minute's allowance stored, the legit user served", async () => {
  const srv = await startServer({ id: "a" });
  const atk = await udpClient(ATTACKER);
  const to = srv.clientAddr;
  try {
    const lu = await udpClient(LEGIT);
    const lena = await login(lu, to, "lena");
    await enter(lu, to, lena, "lobby");
    await lu.close();
    const mallory = await login(atk, to, "mallory");
    await enter(atk, to, mallory, "raid");
    const v = verifierToBase64(await makeVerifier("pw", randomBytes(16), 4096));
    assert.match(await atk.request(to, lines("register", tag(), mallory, v.salt, v.iterations, v.storedKey, v.serverKey, "-")), /^ok\n/);
    const rss0 = groupRss(srv.pid).rssKiB;
    // 2 s at 500/s, topics and keys in turn.
    const one = flood(atk, to, 1000, 500, (i) => i % 2 === 0 ? lines("mod", `m${i}`, mallory, "raid", "topic", "-", `topic ${i}`) : lines("pubkey", `k${i}`, mallory, KEY));
    const served = await alongside(one, to, lena);
    const codes = await one;
    assert.ok(served >= 5, `the legit user was answered ${served} times`);
    assert.ok((codes.get("ok") ?? 0) <= DEFAULT_QUOTAS.writesPerSessionPerMinute, `oks: ${JSON.stringify([...codes])}`);
    assert.ok((codes.get("rate-limited") ?? 0) > 0, "the rest refused");
    // 20 more sessions of the address, 40 topics each in their own rooms: the address's allowance holds.
    const many: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = await login(atk, to, `minion${i}`);
      await enter(atk, to, t, `den${i}`);
      many.push(t);
    }
    const more = flood(atk, to, 800, 1000, (i) => lines("mod", `n${i}`, many[i % 20], `den${i % 20}`, "topic", "-", `t${i}`));
    await alongside(more, to, lena);
    const codes2 = await more;
    // The registration counts too; logins and opens have quotas of their own.
    const stored = 1 + (codes.get("ok") ?? 0) + (codes2.get("ok") ?? 0);
    assert.ok(stored <= DEFAULT_QUOTAS.writesPerIpPerMinute, `${stored} changes accepted`);
    const rss1 = groupRss(srv.pid).rssKiB;
    assert.ok(rss1 - rss0 < 100 * 1024, `RSS ${rss0 >> 10} -> ${rss1 >> 10} MiB`);
    assert.match(await atk.request(to, lines("rooms", tag(), mallory)), /^ok\n/, "still up");
    await srv.stop();
    const writes = count(srv.db, "SELECT count(*) AS n FROM ops WHERE kind IN ('mod', 'acct')");
    console.log(`    row 9: ${writes} mod/acct ops stored of 1,801 sent; RSS ${rss0 >> 10} -> ${rss1 >> 10} MiB; legit adds answered: ${served}`);
    assert.ok(writes <= DEFAULT_QUOTAS.writesPerIpPerMinute, `${writes} mod and acct ops stored`);
  } finally {
    await atk.close();
    await srv.stop();
  }
});

test("row 11: below the disk floor every verb that writes is unavailable and stores nothing; reads are served", async () => {
  const dir = tempDir("distchat-floor-");
  const db = join(dir, "a.sqlite");
  let srv = await startServer({ id: "a", db });
  const atk = await udpClient(ATTACKER);
  const lu = await udpClient(LEGIT);
  const to = () => srv.clientAddr;
  try {
    const mallory = await login(atk, to(), "mallory");
    await enter(atk, to(), mallory, "raid");
    const lena = await login(lu, to(), "lena");
    await enter(lu, to(), lena, "raid");
    await srv.stop();
    const before = count(db, "SELECT count(*) AS n FROM ops WHERE kind <> 'touch'") + count(db, "SELECT count(*) AS n FROM replies");
    srv = await startServer({ id: "a", db, servers: srv.servers, extraArgs: ["--min-free-mb", "1000000000"] });
    const v = verifierToBase64(await makeVerifier("pw", randomBytes(16), 4096));
    const verifier = [v.salt, v.iterations, v.storedKey, v.serverKey];
    const writes = [
      (i: number) => lines("mod", `m${i}`, mallory, "raid", "topic", "-", `topic ${i}`),
      (i: number) => lines("leave", `l${i}`, mallory, "raid"),
      (i: number) => lines("connect", `c${i}`, mallory, "raid"),
      (i: number) => lines("pubkey", `k${i}`, mallory, KEY),
      (i: number) => lines("register", `r${i}`, mallory, ...verifier, "-"),
      (i: number) => lines("password", `p${i}`, "mallory", "c=biws,r=abc,p=xyz", ...verifier),
      (i: number) => lines("drop", `d${i}`, "mallory", "c=biws,r=abc,p=xyz"),
      (i: number) => lines("open", `o${i}`, mallory, `room${i}`),
      (i: number) => lines("add", `a${i}`, mallory, "x".repeat(1000), "raid"),
      (i: number) => lines("login", `g${i}`, `newcomer${i}`),
      (i: number) => lines("logout", `q${i}`, mallory),
    ];
    const codes = await flood(atk, to(), 1100, 1000, (i) => writes[i % writes.length](i));
    assert.equal([...codes.keys()], ["unavailable"], JSON.stringify([...codes]));
    assert.ok(codes.get("unavailable")! >= 550, `${codes.get("unavailable")} of 1,100 answered`); // on a busy machine a part is lost
    // Reads are served, to the attacker and to the legit user.
    for (const [u, token] of [[atk, mallory], [lu, lena]] as const) {
      assert.match(await u.request(to(), lines("rooms", tag(), token), 5000), /^ok\n/);
      assert.match(await u.request(to(), lines("who", tag(), token, "raid"), 5000), /^ok\n/);
      assert.match(await u.request(to(), lines("request", tag(), token, "raid", "0"), 5000), /^poll\n/);
    }
    await srv.stop();
    const after = count(db, "SELECT count(*) AS n FROM ops WHERE kind <> 'touch'") + count(db, "SELECT count(*) AS n FROM replies");
    assert.is(after, before, "no op and no saved reply was stored below the floor");
  } finally {
    await Promise.all([atk.close(), lu.close()]);
    await srv.stop();
  }
});

test("row 11: 1,000 re-connects to a joined room store nothing and count against no quota", async () => {
  const srv = await startServer({ id: "a" });
  const atk = await udpClient(ATTACKER);
  const to = srv.clientAddr;
  try {
    const mallory = await login(atk, to, "mallory");
    await enter(atk, to, mallory, "raid");
    const lena = await login(atk, to, "lena");
    for (let i = 0; i < 5; i++) await enter(atk, to, lena, `other${i}`);
    const codes = await flood(atk, to, 1000, 1000, (i) => lines("connect", `c${i}`, mallory, "raid"));
    assert.ok((codes.get("ok") ?? 0) >= 500 && codes.size === 1, JSON.stringify([...codes]));
    // None of them counted: new joins still pass.
    for (let i = 0; i < 5; i++) assert.match(await atk.request(to, lines("connect", tag(), mallory, `other${i}`)), /^ok\n/);
    await srv.stop();
    assert.is(count(srv.db, "SELECT count(*) AS n FROM replies WHERE k LIKE '% c%'"), 0, "no saved reply of a re-connect");
    assert.is(count(srv.db, "SELECT count(*) AS n FROM ops WHERE kind = 'join'"), 5, "the five real joins only");
  } finally {
    await atk.close();
    await srv.stop();
  }
});

test.run();
