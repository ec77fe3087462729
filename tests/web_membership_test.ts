/// <reference lib="dom" />
/**
 * An open page follows a changed server list (issue 24; docs/CLIENT.md "A
 * changed server list"), in Debian's Chromium against a cluster a, b, c:
 * d is added (servers file rewritten, SIGHUP, d started with --join) — the
 * page waits while something is typed in its composer, then reloads itself
 * and has d in its list, still in its room with its messages, and says why;
 * c is retired — c leaves the page's list without a reload; e is added and
 * then a, b and d (every server the page knows, its own included) stop —
 * the page names e's address instead of reloading into the browser's error
 * page, and reloads once a is back. The page's poll
 * interval is set to 300 ms for the test (globalThis.distchatServersEveryMs).
 * Runs under Node only (the browser is the same under Deno).
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import { join as joinPath } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { type ClusterEntry, makeCluster, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { logged, trackServers, writeServers } from "../testing/membership.ts";
import { sleep } from "../testing/cluster_ops.ts";
import { browserTests, hear, join, launch, openPage, say, seeLines } from "./_browser.ts";

const test = browserTests("node", uvuTest);
const t = trackServers(test);

let ctx: BrowserContext;
let dir = "", file = "";
let entries: ClusterEntry[] = [];
const s: Record<string, ServerHandle> = {};

async function start(id: string, extra: string[] = [], newCluster = true): Promise<ServerHandle> {
  const h = await startServer({ id, servers: file, db: joinPath(dir, `${id}.sqlite`), extraArgs: ["--rate-limit", "0", ...extra], newCluster });
  t.running.add(h);
  return (s[id] = h);
}

test.before(async () => {
  dir = tempDir("distchat-web-member-");
  ({ file, entries } = await makeCluster(["a", "b", "c", "d", "e"], dir, { web: "http" }));
  writeServers(file, entries, ["a", "b", "c"]);
  await Promise.all(["a", "b", "c"].map((id) => start(id)));
  ctx = await launch();
  await ctx.addInitScript("globalThis.distchatServersEveryMs = 300;");
});

test.after(async () => {
  await ctx?.close();
});

const listOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { distchat: { servers: string[] } }).distchat.servers);
const composer = (page: Page) => page.getByRole("textbox", { name: /^Message/ });

/** Waits (at most `ms`) until the page's failover list satisfies `ok`; returns it. */
async function listUntil(page: Page, ok: (ids: string[]) => boolean, ms = 20_000): Promise<string[]> {
  const end = Date.now() + ms;
  let ids: string[] = [];
  while (Date.now() < end) {
    ids = await listOf(page).catch(() => []); // [] while the page reloads
    if (ok(ids)) return ids;
    await sleep(100);
  }
  return ids;
}

test("d is added: the page waits while something is typed, then reloads itself with d in its list, still in its room; c retired leaves its list", async () => {
  const page = await openPage(ctx, s.a.web!, "pia");
  await join(page, "lobby");
  await say(page, "before d");
  await seeLines(page, ["pia: before d"]);
  assert.equal(await listOf(page), ["a", "b", "c"]);
  await composer(page).fill("half a thought");

  writeServers(file, entries, ["a", "b", "c", "d"]);
  for (const x of [s.a, s.b, s.c]) x.signal("SIGHUP");
  for (const x of [s.a, s.b, s.c]) assert.ok(await logged(x, /servers file reloaded: added d/), `${x.id} did not add d: ${x.stderr()}`);
  const d = await start("d", ["--join"], false);
  assert.ok(await logged(d, /caught up with every peer: taking writes/, 15_000), `d never caught up: ${d.stderr()}`);

  // Typed text: no reload (several polls go by), the text stays.
  await sleep(1500);
  assert.equal(await listOf(page), ["a", "b", "c"], "reloaded while something was typed");
  assert.is(await composer(page).inputValue(), "half a thought");
  await composer(page).fill("");

  assert.ok((await listUntil(page, (ids) => ids.includes("d"))).includes("d"), "the page never learned d");
  assert.equal(await listOf(page), ["a", "b", "c", "d"]);
  await page.getByRole("heading", { level: 1, name: "lobby" }).waitFor();
  await seeLines(page, ["pia: before d"]);
  await hear(page, /^server list updated: added d; the page reloaded itself to reach it$/);
  await say(page, "after d");
  await seeLines(page, ["pia: before d", "pia: after d"]);

  // c retired (docs/OPERATIONS.md): c first, then the others once they have all of c's ops.
  writeServers(file, entries, ["a", "b", "d"]);
  s.c.signal("SIGHUP");
  assert.ok(await logged(s.c, /every peer has all of this server's ops/, 15_000), s.c.stdout() + s.c.stderr());
  for (const x of [s.a, s.b, d]) x.signal("SIGHUP");
  for (const x of [s.a, s.b, d]) assert.ok(await logged(x, /servers file reloaded: retired c/), `${x.id}: ${x.stderr()}`);
  assert.equal(await listUntil(page, (ids) => !ids.includes("c")), ["a", "b", "d"]);
  await hear(page, /^server list updated: dropped c \(servers a, b, d\)$/);
  await say(page, "after c");
  await seeLines(page, ["pia: before d", "pia: after d", "pia: after c"]);
});

test("e is added while no server of the page's list will answer: the page names e's address while its own server is down, and reloads once it answers", async () => {
  const page = await openPage(ctx, s.a.web!, "quinn");
  await join(page, "lobby");
  assert.equal(await listOf(page), ["a", "b", "d"]);
  await composer(page).fill("not quiet");
  writeServers(file, entries, ["a", "b", "d", "e"], ["c"]);
  for (const x of [s.a, s.b, s.d]) x.signal("SIGHUP");
  for (const x of [s.a, s.b, s.d]) assert.ok(await logged(x, /servers file reloaded: added e/), `${x.id} did not add e: ${x.stderr()}`);
  const e = await start("e", ["--join"], false);
  assert.ok(await logged(e, /caught up with every peer: taking writes/, 15_000), `e never caught up: ${e.stderr()}`);
  for (const x of [s.a, s.b, s.d]) (await x.stop(), t.running.delete(x));
  await hear(page, new RegExp(`^no server this page knows is answering, its own included; servers added since it loaded: ${e.web}$`));
  assert.is(await composer(page).inputValue(), "not quiet", "the page stays while its own server is down");
  await start("a", [], false);
  assert.ok((await listUntil(page, (ids) => ids.includes("e"))).includes("e"), "the page never reloaded once a answered");
  await hear(page, /^server list updated: added e; the page reloaded itself to reach it$/);
  await page.getByRole("heading", { level: 1, name: "lobby" }).waitFor();
});

test.run();
