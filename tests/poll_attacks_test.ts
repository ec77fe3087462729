/**
 * Issue 20 row 10, mounted from outside against a real server: sessions
 * from 5 addresses (127.0.0.2-6) hold long polls with 8 KB cursors, then
 * with the longest cursors the server takes. A cursor naming more origins
 * than the server knows (plus a little slack) is `bad-request`; the memory
 * of held polls stays within its budget per address (scaled down here with
 * --quota so that a few thousand polls reach it); the server's RSS stays
 * bounded, and a legit user on 127.0.0.9 still holds a poll that a message
 * answers. Properties, not timings.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { heldBytes, UNHEARD_ORIGINS } from "../lib/server/held_polls.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { add, askState, enter, login, sleep, tag } from "../testing/cluster_ops.ts";
import { lines, parsePoll, removeTempDirs, startServer, type UdpClient, udpClient } from "../testing/harness.ts";
import { groupRss } from "../testing/processes.ts";
import type { Address } from "../lib/net/address.ts";

const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];
const SESSIONS = 10;
const POLLS = 64; // per session: held-polls-per-session
const PER_IP_KIB = 256;

test.after(removeTempDirs);

/** An 8 KB cursor: as many distinct made-up origins as fit in one datagram. */
function longCursor(): string {
  const entries: string[] = [];
  for (let i = 0; entries.join(",").length < 7700; i++) entries.push(`x${i}~${i.toString(36).padStart(12, "0")}=9007199254740991`);
  return entries.join(",");
}

/**
 * Sends every session's polls from one address, a session's 64 every
 * `pauseMs`, then counts the replies by code: all of them, or until none
 * comes for 2 s (10 s for the first: the server may still be reading the
 * other addresses' polls).
 */
async function holdPolls(u: UdpClient, to: Address, tokens: string[], cursor: string, pauseMs: number): Promise<Map<string, number>> {
  for (const [s, token] of tokens.entries()) {
    for (let i = 0; i < POLLS; i++) u.send(to, lines("request", `s${s}p${i}${tag()}`, token, "den", cursor, 30000));
    await sleep(pauseMs);
  }
  const codes = new Map<string, number>();
  for (let n = 0; n < tokens.length * POLLS; n++) {
    const d = await u.next(n === 0 ? 10_000 : 2000);
    if (d === null) break;
    const f = d.text.split("\n");
    const c = f[0] === "error" ? f[2] : f[0];
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  return codes;
}

test("row 10: polls with 8 KB cursors from 5 addresses are refused; the longest cursors taken fill each address's budget only; a legit poll is held and answered", async () => {
  const srv = await startServer({ id: "a", extraArgs: ["--quota", `held-poll-kib-per-ip=${PER_IP_KIB}`] });
  const to = srv.clientAddr;
  const socks = await Promise.all(ADDRESSES.map((a) => udpClient(a)));
  const lu = await udpClient("127.0.0.9");
  try {
    const lena = await login(lu, to, "lena");
    await enter(lu, to, lena, "den");
    const tokens: string[][] = [];
    for (const [i, u] of socks.entries()) {
      const ts: string[] = [];
      for (let s = 0; s < SESSIONS; s++) {
        const t = await login(u, to, `m${i}x${s}`);
        await enter(u, to, t, "den");
        ts.push(t);
      }
      tokens.push(ts);
    }
    const rss0 = groupRss(srv.pid).rssKiB;
    // 3,200 polls with 8 KB cursors, 26 MB in 2.5 s (on a busy machine a part is lost on the way): refused, none held.
    const long = await Promise.all(socks.map((u, i) => holdPolls(u, to, tokens[i], longCursor(), 250)));
    const refused = long.reduce((n, codes) => n + (codes.get("bad-request") ?? 0), 0);
    for (const codes of long) assert.ok([...codes.keys()].every((c) => c === "bad-request"), JSON.stringify([...codes]));
    assert.ok(refused >= ADDRESSES.length * SESSIONS * POLLS / 4, `${refused} refused`);
    assert.is((await askState(lu, srv.peerAddr))?.heldPolls, 0, "no poll held");
    // The longest cursor taken: the one origin it knows ("a") and UNHEARD_ORIGINS + 1 more (the servers of servers.txt).
    const unheard = Array.from({ length: UNHEARD_ORIGINS + 1 }, (_, i) => [`y${i}~${"0".repeat(12)}`, 1] as const);
    const cursor = fromEntries([["a", 1], ...unheard]);
    const text = [...cursor].map(([o, n]) => `${o}=${n}`).join(",");
    const ok = await Promise.all(socks.map((u, i) => holdPolls(u, to, tokens[i], text, 20)));
    const perPoll = heldBytes({ key: `${"f".repeat(64)} s0p0f1`, tag: "s0p0f1", session: "f".repeat(64), groupName: "den", cursor, deadline: 0 });
    const fit = Math.floor((PER_IP_KIB * 1024) / perPoll);
    const held = (await askState(lu, srv.peerAddr))?.heldPolls ?? -1;
    // Each address fills its budget and is refused past it (tests/write_limits_test.ts counts one address exactly).
    for (const codes of ok) assert.equal([...codes.keys()], ["rate-limited"], JSON.stringify([...codes]));
    assert.ok(held > 0 && held <= ADDRESSES.length * fit, `${held} held`);
    const rss1 = groupRss(srv.pid).rssKiB;
    console.log(`    row 10: ${refused} polls with 8 KB cursors refused, none held; then ${held} polls held (budget: ${fit} per address of ${perPoll} bytes each); RSS ${rss0 >> 10} -> ${rss1 >> 10} MiB`);
    assert.ok(rss1 - rss0 < 100 * 1024, `RSS ${rss0 >> 10} -> ${rss1 >> 10} MiB`);
    // The legit user's poll is held, and answered by a message.
    const pollTag = tag();
    lu.send(to, lines("request", pollTag, lena, "den", "0", 20000));
    await sleep(200);
    const other = await login(lu, to, "otto");
    await enter(lu, to, other, "den");
    await add(lu, to, other, "den", "hello lena");
    const answer = await lu.request(to, lines("request", pollTag, lena, "den", "0", 20000), 5000);
    assert.equal(parsePoll(answer).entries.map((e) => e.msg), ["hello lena"]);
  } finally {
    await Promise.all([...socks, lu].map((u) => u.close()));
    await srv.stop();
  }
});

test.run();
