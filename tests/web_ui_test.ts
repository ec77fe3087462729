/// <reference lib="dom" />
/**
 * The web page as people meet it, in Debian's Chromium against a keyed
 * two-server cluster (servers started without --web: their web listeners
 * come from servers.txt), controls found by role and accessible name:
 * - the client core's conformance cases (tests/_core_cases.ts) in the page,
 *   on the modules exactly as the server serves them;
 * - every view at 1280×800 and 375×800, light and dark: no page-level scroll
 *   or sideways overflow, the composer and the newest message inside the
 *   viewport, the login screen alone on screen, no serious or critical axe-core
 *   violation; a screenshot of each into test-artifacts/;
 * - unread counts, a mention (highlight, title badge), "Jump to newest";
 * - text is never lost: an over-long message stays in the box, refused
 *   before sending; a line pending while no second server can store it
 *   survives a reload of the page and is stored once;
 * - log out ends the session on the server (the user leaves `who`);
 * - the terminal's commands in the page; the keyboard alone.
 * Runs under Node only (tests/web_browser_test.ts, the other browser file,
 * under Deno).
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join as joinPath } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { axe, browserTests, hear, join, launch, newPage, openPage, say, seeLines, snap } from "./_browser.ts";
import { CORE_FIXTURES, type CoreResult, runCoreCases } from "./_core_cases.ts";

/** Runs under Node only (tests/_browser.ts `browserTests`: the other browser file runs under Deno); skipped otherwise. */
const test = browserTests("node", uvuTest);

let ctx: BrowserContext;
let dir: string, file: string, key: string;
const servers = new Map<string, ServerHandle>();
const SIZES = [{ width: 1280, height: 800, name: "laptop" }, { width: 375, height: 800, name: "phone" }] as const;
const SCHEMES = ["light", "dark"] as const;

async function start(id: string): Promise<ServerHandle> {
  const s = await startServer({ id, servers: file, db: joinPath(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", key] });
  assert.ok(s.web, `${id} has its web listener without --web (servers.txt's column)`);
  servers.set(id, s);
  return s;
}

test.before(async () => {
  dir = tempDir("distchat-ui-");
  key = joinPath(dir, "cluster.key");
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  ({ file } = await makeCluster(["a", "b"], dir, { web: "http" }));
  await start("a");
  await start("b");
  ctx = await launch();
});

test.after(async () => {
  await ctx?.close();
  await Promise.all([...servers.values()].map((s) => s.stop()));
  removeTempDirs();
});

const web = (id: string) => servers.get(id)!.web!;

/** The page does not scroll as a whole, nor sideways; `inView` elements are wholly inside the viewport. */
async function fits(page: Page, what: string, inView: string[]): Promise<void> {
  const m = await page.evaluate((sel) => {
    const doc = document.documentElement;
    const box = (s: string) => {
      const el = document.querySelector(s);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    };
    return { sh: doc.scrollHeight, sw: doc.scrollWidth, h: innerHeight, w: innerWidth, boxes: sel.map((s) => [s, box(s)] as const) };
  }, inView);
  assert.ok(m.sh <= m.h, `${what}: the page scrolls (${m.sh} > ${m.h})`);
  assert.ok(m.sw <= m.w, `${what}: sideways overflow (${m.sw} > ${m.w})`);
  for (const [s, b] of m.boxes) {
    assert.ok(b, `${what}: ${s} is not there`);
    assert.ok(b!.top >= 0 && b!.bottom <= m.h + 0.5 && b!.left >= 0 && b!.right <= m.w + 0.5, `${what}: ${s} is not wholly in view: ${JSON.stringify(b)}`);
  }
}

/** The newest message is wholly visible inside the message list (not cut by the composer or the list's edge). */
async function newestVisible(page: Page, what: string): Promise<void> {
  const r = await page.evaluate(() => {
    const list = document.querySelector("#messages")!.getBoundingClientRect();
    const all = document.querySelectorAll("#messages li[data-id], #messages li[data-pending]");
    const last = all[all.length - 1]?.getBoundingClientRect();
    return { list: { top: list.top, bottom: list.bottom }, last: last ? { top: last.top, bottom: last.bottom } : null };
  });
  assert.ok(r.last, `${what}: no message`);
  assert.ok(r.last!.top >= r.list.top - 0.5 && r.last!.bottom <= r.list.bottom + 0.5, `${what}: the newest message is cut: ${JSON.stringify(r)}`);
}

async function views(page: Page, name: string, inView: string[], checks: (what: string) => Promise<void> = async () => {}): Promise<void> {
  for (const size of SIZES) {
    for (const scheme of SCHEMES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      const what = `${name} at ${size.name} (${size.width}×${size.height}), ${scheme}`;
      await fits(page, what, inView);
      await checks(what);
      assert.equal(await axe(page), [], what);
      await snap(page, `${name}-${size.name}-${scheme}`);
    }
  }
}

test("the client core's cases pass in the page, on the modules as served", async () => {
  const page = await ctx.newPage();
  await page.goto(`${web("a")}/`);
  // The runner's own source (self-contained), evaluated in the page: it imports the core from the web listener.
  const got = await page.evaluate(`(${runCoreCases.toString()})(${JSON.stringify(web("a"))}, ${JSON.stringify(CORE_FIXTURES)})`) as CoreResult[];
  assert.ok(got.length >= 13, `${got.length} cases ran`);
  const failed = got.filter((r) => !r.ok);
  assert.equal(failed, [], failed.map((r) => `${r.name}: ${r.detail}`).join("\n"));
  await page.close();
});

test("the login screen is a screen of its own, at every size and in both schemes", async () => {
  const page = await newPage(ctx, web("a"), "login");
  await page.getByRole("textbox", { name: "Your name" }).waitFor();
  assert.is(await page.locator("#chat-view, #messages, textarea").count(), 0, "nothing of the chat behind the login screen");
  await views(page, "login", ["#login-view form", "#login-name", "#login-password", "form button[type=submit]"]);
  await page.close();
});

test("the chat at every size and in both schemes: no page scroll, the composer and the newest message in view; drawer, member list, dialog, account screen", async () => {
  const bob = await openPage(ctx, web("b"), "bob");
  await join(bob, "lobby");
  const alice = await openPage(ctx, web("a"), "alice");
  await join(alice, "lobby");
  for (let i = 1; i <= 30; i++) await say(bob, i % 7 === 0 ? `a longer line, number ${i}, that wraps on a phone: ${"words ".repeat(12)}` : `line ${i} from bob`);
  await say(alice, "hello bob, this is alice");
  await seeLines(alice, ["bob: line 30 from bob", "alice: hello bob, this is alice"], 30_000);
  await views(alice, "chat", ["#text", "#send", "#room-title"], (what) => newestVisible(alice, what));

  await alice.setViewportSize({ width: 375, height: 800 });
  await alice.getByRole("button", { name: /^Rooms/ }).click();
  await alice.getByRole("navigation", { name: "Rooms and conversations" }).getByRole("button", { name: /^#lobby/ }).waitFor();
  assert.ok(await alice.getByRole("textbox", { name: "Room name" }).evaluate((el) => el === document.activeElement || el.closest("nav")!.contains(document.activeElement)), "focus moves into the drawer");
  await views(alice, "drawer", ["#rooms-drawer"]);
  await alice.keyboard.press("Escape");
  await alice.setViewportSize({ width: 375, height: 800 });
  await alice.getByRole("button", { name: "Members" }).click();
  await alice.getByRole("complementary").getByText("bob").waitFor();
  await views(alice, "members", ["#members"]);
  await alice.getByRole("button", { name: "Close the member list" }).click();

  await alice.getByRole("button", { name: /^Passphrase/ }).click();
  await alice.getByRole("dialog").waitFor();
  await views(alice, "passphrase", [".dialog"]);
  await alice.getByRole("button", { name: "Cancel" }).click();

  await alice.getByRole("button", { name: /^Rooms/ }).click();
  await alice.getByRole("button", { name: "Register this name" }).click();
  await alice.getByLabel(/^New password/).waitFor();
  await views(alice, "register", ["#account-view form"]);
  await alice.getByRole("button", { name: "Cancel" }).click();
  await alice.getByRole("textbox", { name: /^Message/ }).waitFor();
  await alice.close();
  await bob.close();
});

test("unread counts and a mention: badge, highlight, title; scrolled up, 'Jump to newest' says how many came", async () => {
  const carol = await openPage(ctx, web("a"), "carol");
  await join(carol, "lobby");
  await join(carol, "annex");
  const dave = await openPage(ctx, web("b"), "dave");
  await join(dave, "lobby");
  await say(dave, "just chatting");
  await say(dave, "carol, are you there?");
  const lobby = carol.getByRole("navigation").getByRole("button", { name: /^#lobby/ });
  await carol.getByRole("navigation").getByRole("button", { name: /^#lobby, 2 unread/ }).waitFor();
  assert.match(await lobby.getAttribute("aria-label") ?? "", /^#lobby, 2 unread, 1 mentioning you$/, "the name starts with the visible text");
  await carol.setViewportSize({ width: 1280, height: 800 });
  assert.equal(await axe(carol), [], "unread and mention badges showing");
  await carol.waitForFunction(() => document.title === "(1) DistChat");
  await carol.setViewportSize({ width: 1280, height: 800 });
  await snap(carol, "unread-laptop-light");
  await lobby.click();
  await carol.locator("#messages li.mention").filter({ hasText: "carol, are you there?" }).waitFor();
  await carol.waitForFunction(() => document.title === "DistChat");
  for (let i = 0; i < 25; i++) await say(dave, `filler ${i}`);
  await seeLines(carol, ["dave: filler 24"]);
  await carol.locator("#messages").evaluate((el) => (el.scrollTop = 0));
  await carol.getByRole("button", { name: /^Jump to newest/ }).waitFor();
  await say(dave, "one more");
  await carol.getByRole("button", { name: "Jump to newest (1 new)" }).waitFor();
  await snap(carol, "jump-laptop-light");
  await carol.getByRole("button", { name: /^Jump to newest/ }).click();
  await newestVisible(carol, "after the jump");
  await carol.close();
  await dave.close();
});

test("text is never lost: an over-long message stays in the box with the reason; nothing is cut", async () => {
  const erin = await openPage(ctx, web("a"), "erin");
  await join(erin, "long");
  const box = erin.getByRole("textbox", { name: /^Message/ });
  for (const [text, bytes] of [["x".repeat(2100), 2100], ["ש".repeat(1500), 3000]] as const) {
    await box.fill(text);
    await erin.getByText(`${bytes.toLocaleString("en")} / 2,000 bytes: too long to send`).waitFor();
    assert.ok(await erin.getByRole("button", { name: "Send" }).isDisabled(), "Send is disabled while the text is too long");
    await box.press("Enter");
    await hear(erin, new RegExp(`message not sent: it is ${bytes} bytes; a message holds at most 2000 bytes`));
    assert.is(await box.inputValue(), text, "the text is still in the box, whole");
    assert.is(await box.getAttribute("aria-invalid"), "true");
  }
  await snap(erin, "too-long-laptop-light");
  const fits = "é".repeat(1000); // 2000 bytes exactly
  await box.fill(fits);
  await box.press("Enter");
  await seeLines(erin, [`erin: ${fits}`]);
  assert.is(await box.inputValue(), "");
  await erin.close();
});

test("a line pending while no second server can store it survives a reload of the page, and is stored once", async () => {
  const frank = await openPage(ctx, web("a"), "frank");
  await join(frank, "keep");
  const gina = await openPage(ctx, web("a"), "gina");
  await join(gina, "keep");
  await servers.get("b")!.stop(); // a cannot ack an add until a second disk has it
  await say(frank, "kept across a reload");
  // a lists it (others read it) but cannot ack it: the line stays marked as on its way.
  const sending = frank.locator("#messages li.pending").filter({ hasText: "kept across a reload" }).filter({ hasText: "sending…" });
  await sending.waitFor();
  await frank.reload();
  await sending.waitFor({ timeout: 15_000 });
  assert.is(await frank.locator("#messages li.line").filter({ hasText: "kept across a reload" }).count(), 1, "shown once, marked");
  await snap(frank, "pending-after-reload-laptop-light");
  await start("b");
  await frank.locator("#messages li.pending").waitFor({ state: "detached", timeout: 30_000 });
  const got = await seeLines(frank, ["frank: kept across a reload"], 30_000);
  assert.is(got.filter((l) => l === "frank: kept across a reload").length, 1);
  await frank.waitForFunction(() => (globalThis as unknown as { distchat: { pending(r: string): number } }).distchat.pending("keep") === 0);
  const other = await seeLines(gina, ["frank: kept across a reload"], 30_000);
  await gina.waitForTimeout(500);
  assert.is((await seeLines(gina, [])).filter((l) => l === "frank: kept across a reload").length, 1, JSON.stringify(other));
  await frank.close();
  await gina.close();
});

test("log out ends the session on the server: the user leaves the room (others see it) and `who`", async () => {
  const hana = await openPage(ctx, web("a"), "hana");
  await join(hana, "exit");
  const ivan = await openPage(ctx, web("b"), "ivan");
  await join(ivan, "exit");
  await ivan.getByRole("button", { name: "Members" }).click();
  await ivan.getByRole("complementary").getByText("hana").waitFor();
  await hana.getByRole("button", { name: "Log out" }).click();
  await hana.getByRole("textbox", { name: "Your name" }).waitFor();
  assert.is(await hana.getByRole("textbox", { name: "Your name" }).inputValue(), "hana");
  await seeLinesOf(ivan, "exit", "* hana left");
  await say(ivan, "/who");
  await ivan.waitForFunction(() => {
    const items = [...document.querySelectorAll("#members li")].map((li) => li.textContent ?? "");
    return items.length > 0 && !items.some((t) => t.startsWith("hana"));
  });
  await ivan.close();
  await hana.close();
});

test("the terminal's commands work in the page; a mistyped one stays in the box with the reason", async () => {
  const kim = await openPage(ctx, web("a"), "kim");
  const box = kim.getByRole("textbox", { name: /^Message/ });
  await join(kim, "start");
  await say(kim, "/join cmds");
  await kim.getByRole("heading", { level: 1, name: "cmds" }).waitFor(); // made: /join of a missing room creates it
  await say(kim, "/create cmds");
  await hear(kim, /cannot create cmds: that room already exists; join it with \/join cmds/);
  await box.fill("");
  await say(kim, "/topic all the commands");
  await kim.locator("#topic").filter({ hasText: "all the commands" }).waitFor();
  await say(kim, "/who");
  await kim.getByRole("complementary").getByText("kim", { exact: true }).waitFor();
  await kim.getByRole("button", { name: "Close the member list" }).click();
  await say(kim, "/create other");
  await kim.getByRole("heading", { level: 1, name: "other" }).waitFor();
  await say(kim, "/switch cmds");
  await kim.getByRole("heading", { level: 1, name: "cmds" }).waitFor();
  await say(kim, "/leave other");
  await kim.getByRole("navigation").getByRole("button", { name: /^#other/ }).waitFor({ state: "detached" });
  await say(kim, "/rooms");
  await kim.getByRole("navigation").getByRole("list", { name: "All rooms" }).getByText("#cmds").waitFor();
  await say(kim, "/help");
  await kim.getByRole("region", { name: "Command answer" }).getByText(/^\/join ROOM/).waitFor();
  await say(kim, "/whois kim");
  await kim.getByRole("region", { name: "Command answer" }).getByText(/^kim: not registered, logged in/).waitFor();
  await say(kim, "/me tries every command");
  await seeLinesOf(kim, "cmds", "* kim tries every command");
  await say(kim, "/frobnicate now");
  await hear(kim, /unknown command \/frobnicate; type \/help for the list/);
  assert.is(await box.inputValue(), "/frobnicate now", "a mistyped command stays in the box");
  const words = (await kim.locator("body").innerText()).toLowerCase();
  assert.not.match(words, /bad-request|not-member|bad-token|send auth again/, "no protocol codes on the page");
  await kim.close();
});

test("keyboard alone: log in, join, write, open and close the room panel, log out; focus always visible", async () => {
  const page = await newPage(ctx, web("b"), "keys");
  await page.setViewportSize({ width: 1280, height: 800 });
  const focusShows = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return ""; // past the last control, Tab leaves the page once, then comes back
      const st = getComputedStyle(el);
      return st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2 ? "" : `no visible focus on ${el.outerHTML.slice(0, 80)}`;
    });
  /** Presses Tab until the focused element has accessible name `name` (at most 40 times), checking the focus ring each time. */
  const tabTo = async (name: RegExp) => {
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      assert.is(await focusShows(), "");
      const label = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return el.getAttribute("aria-label") ?? (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ?? el.textContent ?? "";
      });
      if (name.test(label.trim())) return;
    }
    throw new Error(`Tab never reached ${name}`);
  };
  await page.getByRole("textbox", { name: "Your name" }).waitFor();
  await page.keyboard.type("keyboarder");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Log out" }).waitFor();
  await tabTo(/^Room name$/);
  await page.keyboard.type("keys");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "keys" }).waitFor();
  await tabTo(/^Message keys$/);
  await page.keyboard.type("typed with the keyboard alone");
  await page.keyboard.press("Enter");
  await seeLines(page, ["keyboarder: typed with the keyboard alone"]);
  await tabTo(/^Members$/);
  await page.keyboard.press("Enter");
  await page.getByRole("complementary").getByText("keyboarder").waitFor();
  await tabTo(/^Close the member list$/);
  await page.keyboard.press("Enter");
  await page.getByRole("complementary").waitFor({ state: "detached" });
  await tabTo(/^Log out$/);
  await page.keyboard.press("Enter");
  await page.getByRole("textbox", { name: "Your name" }).waitFor();
  await page.close();
});

async function seeLinesOf(page: Page, room: string, line: string): Promise<void> {
  await page.waitForFunction(([r, l]) => ((globalThis as unknown as { distchat: { lines(r: string): string[] | null } }).distchat.lines(r) ?? []).includes(l), [room, line]);
}

test.run();
