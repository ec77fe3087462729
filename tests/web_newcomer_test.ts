/// <reference lib="dom" />
/**
 * What a newcomer met in the page (issue 22's follow-up), in Debian's
 * Chromium against a two-server cluster, controls found by role and name:
 * - the page's address names its room (`…/#lobby`, as npm start prints it):
 *   the page joins it; with no room open the composer is disabled, saying
 *   what to do;
 * - what the client says sits in the flow above the composer, never over
 *   the messages, and a notice goes after a few seconds;
 * - a reload while no server answers keeps the rooms and conversations, and
 *   they are joined again once a server answers;
 * - a conversation read before a reload (or a login that carries the
 *   session on) is not unread after it (read marks per user in localStorage).
 * Screenshots into test-artifacts/. Runs under Deno only (the browser is
 * the same; tests/web_ui_test.ts runs under Node).
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join as joinPath } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { axe, browserTests, hear, join, launch, logIn, openPage, said, say, seeLines, snap } from "./_browser.ts";

const test = browserTests("deno", uvuTest);

let ctx: BrowserContext;
const servers: ServerHandle[] = [];

test.before(async () => {
  const dir = tempDir("distchat-newcomer-");
  const key = joinPath(dir, "cluster.key");
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const { file } = await makeCluster(["a", "b"], dir, { web: "http" });
  for (const id of ["a", "b"]) servers.push(await startServer({ id, servers: file, db: joinPath(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", key] }));
  ctx = await launch();
});

test.after(async () => {
  await ctx?.close();
  await Promise.all(servers.map((s) => s.stop()));
  removeTempDirs();
});

const web = (id: string) => servers.find((s) => s.id === id)!.web!;
const composer = (page: Page) => page.getByRole("textbox", { name: /^Message/ });
const roomButton = (page: Page, name: RegExp) => page.getByRole("navigation").getByRole("button", { name });

/** Light and dark, laptop and phone: a screenshot of each, and no serious axe violation. */
async function shots(page: Page, name: string): Promise<void> {
  for (const [w, size] of [[1280, "laptop"], [375, "phone"]] as const) {
    for (const scheme of ["light", "dark"] as const) {
      await page.setViewportSize({ width: w, height: 800 });
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      assert.equal(await axe(page), [], `${name} ${size} ${scheme}`);
      await snap(page, `${name}-${size}-${scheme}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: "light" });
}

test("the page joins the room its address names (…/#lobby); without a room the composer is disabled and says what to do; the address follows the room", async () => {
  const plain = await openPage(ctx, web("a"), "lena");
  await plain.getByRole("heading", { name: /^Welcome, lena/ }).waitFor();
  assert.ok(await composer(plain).isDisabled(), "no room: the composer is disabled");
  assert.match(await composer(plain).getAttribute("placeholder") ?? "", /^Join a room to write$/);
  assert.ok(await plain.getByRole("button", { name: "Send" }).isDisabled());
  await shots(plain, "welcome");
  await plain.close();

  const page = await ctx.newPage();
  await page.goto(`${web("b")}/#lobby`);
  await logIn(page, "mona");
  await page.getByRole("heading", { level: 1, name: "lobby" }).waitFor();
  assert.ok(await composer(page).isEnabled());
  await say(page, "in lobby straight away");
  await seeLines(page, ["mona: in lobby straight away"]);
  await join(page, "annex");
  await page.waitForFunction(() => location.hash === "#annex");
  await page.close();
});

test("what the client says sits above the composer, never over the messages; a notice goes after a few seconds", async () => {
  const nina = await openPage(ctx, web("a"), "nina");
  await join(nina, "flow");
  for (let i = 1; i <= 25; i++) await say(nina, `line ${i}`);
  await seeLines(nina, ["nina: line 25"]);
  const oscar = await openPage(ctx, web("b"), "oscar");
  await say(nina, "/frobnicate");
  const error = nina.getByRole("alert").filter({ hasText: /unknown command \/frobnicate/ });
  await error.waitFor();
  const box = async (sel: string) => (await nina.locator(sel).boundingBox())!;
  for (const w of [1280, 375]) {
    await nina.setViewportSize({ width: w, height: 800 });
    await nina.waitForTimeout(150);
    const [list, toast, form] = [await box("#messages"), await box(".toast.error"), await box("form.composer")];
    assert.ok(toast.y >= list.y + list.height - 0.5, `at ${w}: the error is below the messages, not over them: ${JSON.stringify({ list, toast })}`);
    assert.ok(toast.y + toast.height <= form.y + 0.5, `at ${w}: the error is above the composer`);
    await snap(nina, `error-in-flow-${w === 1280 ? "laptop" : "phone"}-light`);
  }
  await nina.getByRole("button", { name: "Dismiss" }).click();
  await error.waitFor({ state: "hidden" });
  // A notice (this one also says which party lacks a key, in one sentence) goes by itself.
  await composer(nina).fill("");
  await say(nina, "/msg oscar hello");
  const notice = nina.getByRole("status").filter({ hasText: "direct messages to oscar are NOT sealed: you are not registered (/register)" });
  await notice.waitFor();
  await notice.waitFor({ state: "hidden", timeout: 10_000 });
  await nina.close();
  await oscar.close();
});

test("a reload while no server answers keeps the rooms and conversations; they are joined again once a server answers", async () => {
  const pete = await openPage(ctx, web("b"), "pete");
  const page = await openPage(ctx, web("a"), "olga");
  await join(page, "north");
  await join(page, "south");
  await say(page, "/msg pete are you there?");
  await roomButton(page, /^@pete/).waitFor();
  await roomButton(page, /^#south/).click();
  await page.getByRole("heading", { level: 1, name: "south" }).waitFor();
  // No server answers: every WebSocket is closed at once (as by a server that went away), HTTP is refused.
  await page.routeWebSocket(/\/ws$/, (ws) => ws.close());
  await page.route(/\/dc$/, (r) => r.abort());
  for (let i = 0; i < 2; i++) {
    await page.reload();
    for (const name of [/^#north/, /^#south/, /^@pete/]) await roomButton(page, name).waitFor({ timeout: 10_000 });
    await page.getByRole("heading", { level: 1, name: "south" }).waitFor();
    assert.ok(await composer(page).isDisabled(), "nothing to write into until the room is joined again");
    assert.match(await composer(page).getAttribute("placeholder") ?? "", /^Rejoining south…$/);
  }
  await shots(page, "rejoining");
  // Every room the heading shows while the kept rooms are joined again: only the one on the screen (joining
  // another must not take the screen there, nor a line typed meanwhile into it).
  await page.evaluate(() => {
    const title = document.getElementById("room-title")!;
    const seen = ((globalThis as unknown as { titles: string[] }).titles = [title.textContent ?? ""]);
    new MutationObserver(() => seen.push(title.textContent ?? "")).observe(title, { childList: true, characterData: true, subtree: true });
  });
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await composer(page).and(page.locator(":enabled")).waitFor({ timeout: 40_000 });
  await roomButton(page, /^#north(?!.*rejoining)/).waitFor({ timeout: 20_000 }); // north joined too
  assert.equal([...new Set(await page.evaluate(() => (globalThis as unknown as { titles: string[] }).titles))], ["south"], "the heading stays on south");
  await say(page, "back in south");
  await seeLines(page, ["olga: back in south"], 30_000);
  await roomButton(page, /^#north/).click();
  await say(page, "and in north");
  await seeLines(page, ["olga: and in north"], 30_000);
  await page.close();
  await pete.close();
});

test("a conversation read before a reload is not unread (nor announced) after it; a new message is", async () => {
  const quinn = await openPage(ctx, web("b"), "quinn");
  await join(quinn, "chatter");
  const rita = await openPage(ctx, web("a"), "rita");
  await say(quinn, "/msg rita first, read before logging out");
  await roomButton(rita, /^@quinn, 1 unread$/).waitFor({ timeout: 20_000 });
  await hear(rita, /^direct message from quinn \(under Direct messages\)$/);
  await roomButton(rita, /^@quinn/).click();
  await seeLines(rita, ["quinn: first, read before logging out"]);
  await join(rita, "elsewhere"); // the conversation is not the one open
  await rita.reload();
  await roomButton(rita, /^@quinn/).waitFor({ timeout: 20_000 });
  await rita.getByRole("heading", { level: 1, name: "elsewhere" }).waitFor();
  await rita.waitForFunction(() => (globalThis as unknown as { distchat: { lines(r: string): string[] | null } }).distchat.lines("@quinn")?.length === 1);
  assert.is(await roomButton(rita, /^@quinn/).getAttribute("aria-label"), "@quinn", "read in the last session: not unread");
  await say(quinn, "/msg rita second, new");
  await roomButton(rita, /^@quinn, 1 unread$/).waitFor({ timeout: 20_000 });
  await rita.setViewportSize({ width: 1280, height: 800 });
  await snap(rita, "dm-unread-laptop-light");
  assert.not.ok((await said(rita)).some((t) => /direct message from/.test(t)), "a conversation the reload kept is not announced as new");
  await rita.close();
  await quinn.close();
});

test.run();
