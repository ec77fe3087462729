/**
 * HTTP requests from one address past its rate (issue 20 re-run: 20
 * connections of one address pipelining GETs or `POST /dc` at ~70 MB/s,
 * reconnecting whenever closed, took a core; a legit page load p50
 * 2.5–3.8 s), against a real server in its default configuration, scaled to
 * seconds: one address may have at most the burst and the rate answered
 * (lib/web/request_rate.ts) — pipelined requests counted one by
 * one — the rest get 429 and their connections close, or are closed before
 * they are read; a user on another address gets the page, a WebSocket login
 * and a UDP login meanwhile; the server stays up and bounded.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { freeTcpPort, removeTempDirs, type ServerHandle, startServer } from "../testing/harness.ts";
import { openFds, rssMiB, runtimePid } from "../testing/proc_stats.ts";
import { legitServed } from "../testing/raw_web.ts";
import { DEFAULT_WEB_REQUEST_RATE } from "../lib/config/limits.ts";
import { WEB_REQUEST_BURST, WebRequestRate } from "../lib/web/request_rate.ts";
import { sleep, within } from "../testing/cluster_ops.ts";

const LEGIT = "127.0.0.200";
const SERVED = { page: "200", ws: "ok", udp: "ok" };

let srv: ServerHandle;
let port: number;

test.before(async () => {
  port = await freeTcpPort();
  srv = await startServer({ extraArgs: ["--web", `127.0.0.1:${port}`] });
});
test.after(async () => {
  await srv?.stop();
  removeTempDirs();
});

/** What a flood got: statuses answered (by code), connections opened, and those closed before any answer. */
type Flooded = { statuses: Record<string, number>; opened: number; unanswered: number };

/**
 * `conns` connections from `from`, each writing `request` `batch` times at
 * once (pipelined), again whenever they are all answered, reopened whenever
 * the server closes one, until `ms` pass (at most 2,000 connections).
 */
async function flood(from: string, request: (n: number) => string, o: { conns: number; batch: number; ms: number }): Promise<Flooded> {
  const out: Flooded = { statuses: {}, opened: 0, unanswered: 0 };
  const until = Date.now() + o.ms;
  let n = 0;
  const payload = () => Array.from({ length: o.batch }, () => request(n++)).join("");
  const one = () =>
    new Promise<void>((resolve) => {
      out.opened++;
      const s = net.connect({ host: "127.0.0.1", port, localAddress: from });
      let seen = "", answers = 0, written = o.batch;
      const timer = setTimeout(() => s.destroy(), Math.max(1, until - Date.now()));
      s.on("connect", () => s.write(payload()));
      s.on("data", (c: Uint8Array) => {
        seen += new TextDecoder().decode(c);
        for (const m of seen.matchAll(/HTTP\/1\.1 (\d{3}) /g)) (out.statuses[m[1]] = (out.statuses[m[1]] ?? 0) + 1, answers++);
        seen = seen.slice(Math.max(seen.lastIndexOf("HTTP/1.1 ") + 9, seen.length - 16)); // (a status line cut in two is matched whole next time)
        if (answers >= written && !s.destroyed) (s.write(payload()), written += o.batch); // the next batch once this one is answered
      });
      s.on("error", () => {});
      s.on("close", () => {
        clearTimeout(timer);
        if (answers === 0) out.unanswered++;
        resolve();
      });
    });
  await Promise.all(Array.from({ length: o.conns }, async () => {
    while (Date.now() < until && out.opened < 2000) await one();
  }));
  return out;
}

/** The most requests one address may have answered in `ms`: the burst, then the rate (and a second's slack). */
const allowed = (ms: number) => WEB_REQUEST_BURST + DEFAULT_WEB_REQUEST_RATE * (ms / 1000 + 1);

/** A `POST /dc` of a request with tag `n` (a page of its own for each 100). */
const post = (n: number) => {
  const body = `rooms\nr${n}\n${"T".repeat(43)}\n\n`;
  return `POST /dc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-DistChat-Client: flood-page-${String(Math.floor(n / 100)).padStart(12, "0")}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
};

for (const [what, from, request] of [
  ["GET /", "127.0.0.2", () => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"],
  ["POST /dc", "127.0.0.3", post],
] as const) {
  test(`pipelined ${what} from one address, 20 at a time on 10 connections, reconnecting: at most the burst and the rate answered, the rest 429 or closed unread; a user elsewhere is served`, async () => {
    const pid = runtimePid(srv.pid);
    const rss0 = rssMiB(pid), fds0 = openFds(pid);
    const ms = 2500;
    const during = flood(from, request, { conns: 10, batch: 20, ms });
    await sleep(500);
    assert.equal(await legitServed(srv, LEGIT), SERVED, "a user on another address, during the flood");
    const f = await during;
    const answered = Object.entries(f.statuses).filter(([code]) => code !== "429").reduce((n, [, k]) => n + k, 0);
    // (A connection that pipelines past 8 unanswered is closed: its requests took tokens, and may have had no answer.)
    assert.ok(answered <= allowed(ms), `${answered} answered (at most ${allowed(ms)}): ${JSON.stringify(f)}`);
    assert.ok((f.statuses["429"] ?? 0) >= 1, `told 429: ${JSON.stringify(f)}`);
    assert.ok(f.unanswered >= 1, `connections past the rate closed before being read: ${JSON.stringify(f)}`);
    assert.equal(await legitServed(srv, LEGIT), SERVED, "a user on another address, after");
    assert.ok(rssMiB(pid) < rss0 + 100, `RSS ${rssMiB(pid).toFixed(0)} MiB, was ${rss0.toFixed(0)}`);
    assert.ok((await within(5000, () => Promise.resolve(openFds(pid) <= fds0 + 5))) !== null, `${openFds(pid)} open files, were ${fds0}`);
    // The address is served again once its bucket refills.
    await sleep(2000);
    assert.equal(await legitServed(srv, from), SERVED, "the flooding address, a while after");
  });
}

test("the rule in memory: each request takes a token, refused ones too (as debt, at most 10 s of the rate); a connection is refused only with none left; rate 0 (--rate-limit 0) lifts it", () => {
  const r = new WebRequestRate(10, 20);
  assert.ok(r.admits("a", 0));
  let n = 0;
  while (r.allow("a", 0)) n++;
  assert.is(n, 20);
  assert.not.ok(r.admits("a", 0), "no token left: refused unread");
  assert.ok(r.admits("b", 0), "another address");
  assert.not.ok(r.admits("a", 100), "the refused request is owed");
  assert.ok(r.admits("a", 200) && r.allow("a", 200), "then one more");
  for (let i = 0; i < 2000; i++) r.allow("a", 200); // a chunk of pipelined requests
  assert.not.ok(r.admits("a", 10_100), "kept out while it pays");
  assert.ok(r.admits("a", 10_300), "but for no more than 10 s of its rate");
  const off = new WebRequestRate(0);
  for (let i = 0; i < 10_000; i++) assert.ok(off.allow("a", 0));
  assert.ok(off.admits("a", 0));
});

test.run();
