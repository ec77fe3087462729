/**
 * Driving the web page in Debian's Chromium for the browser tests
 * (playwright-core, headless, kept off the network, a fresh profile, never a
 * browser download), with controls found as a screen reader finds them: by
 * role and accessible name.
 *
 * @example
 * ```ts
 * const ctx = await launch();
 * const page = await openPage(ctx, web, "alice");
 * await join(page, "lobby");
 * await say(page, "hi");
 * await seeLines(page, ["alice: hi"]);
 * ```
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Test } from "uvu";
import { ROOT, tempDir } from "../testing/harness.ts";
import { runtimeName } from "../lib/platform/runtime.ts";

/**
 * Whether a browser test file runs in this test run. The browser is the same
 * under either runtime and these are the slowest files, so each runs under
 * one runtime (`home`); they split the two between them, so the servers the
 * browser meets — and the type stripping of the modules they serve it — run
 * under Node in one and Deno in the other. BROWSER_TESTS=all runs both
 * everywhere.
 */
export function browserHere(home: "node" | "deno"): boolean {
  return process.env.BROWSER_TESTS === "all" || runtimeName() === home;
}

/** uvu's `test` where the file runs (`browserHere`), else one whose tests are all skipped (counted as skipped) and whose hooks do nothing. */
export function browserTests(home: "node" | "deno", test: Test): Test {
  if (browserHere(home)) return test;
  const skip = (name: string, fn: () => unknown) => test.skip(name, fn as () => void);
  return Object.assign(skip, { before: () => {}, after: () => {}, run: () => test.run(), skip: test.skip, only: test.skip }) as unknown as Test;
}

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = joinPath(ROOT, "test-artifacts");
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A headless Chromium with a fresh profile; the error says how to get one. */
export async function launch(): Promise<BrowserContext> {
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    return await chromium.launchPersistentContext(tempDir("distchat-chromium-"), { executablePath: CHROMIUM, headless: true, args: FLAGS });
  } catch (e) {
    throw new Error(`cannot start ${CHROMIUM} (npm test installs Debian's chromium as root; else: sudo apt-get install -y chromium, or CHROMIUM=/path): ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Records every text a live region of the page ever shows (role status or alert), in `globalThis.said`. */
const RECORD_SAID = `
  globalThis.said = [];
  new MutationObserver(() => {
    for (const el of document.querySelectorAll("[role=status], [role=alert]")) {
      const t = el.textContent.trim();
      if (t && globalThis.said.at(-1) !== t) globalThis.said.push(t);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
`;

/** A new page at `url` (its errors logged, what it says recorded), not logged in. */
export async function newPage(ctx: BrowserContext, url: string, who = ""): Promise<Page> {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.log(`    page error (${who}): ${e.message}`));
  await page.addInitScript(RECORD_SAID);
  await page.goto(`${url}/`);
  return page;
}

/** A new page at `url`, logged in as `user` with the keyboard alone (optionally with a password). */
export async function openPage(ctx: BrowserContext, url: string, user: string, password = ""): Promise<Page> {
  const page = await newPage(ctx, url, user);
  await logIn(page, user, password);
  return page;
}

/** Fills the login screen and waits for the chat screen. */
export async function logIn(page: Page, user: string, password = ""): Promise<void> {
  await page.getByRole("textbox", { name: "Your name" }).focus();
  await page.keyboard.type(user);
  if (password) await page.getByLabel(/^Password/).fill(password);
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** Joins (or makes) `room` from the rooms pane, opening the drawer first on a phone. */
export async function join(page: Page, room: string): Promise<void> {
  const field = page.getByRole("textbox", { name: "Room name" });
  if (!(await field.isVisible())) await page.getByRole("button", { name: /^Rooms/ }).click();
  await field.fill(room);
  await field.press("Enter");
  await page.getByRole("heading", { level: 1, name: new RegExp(`^${room}$`, "i") }).waitFor();
}

/** Types `text` into the composer and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: /^Message/ });
  await box.focus();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** "sender: text" of every message the page shows in its current room (not the pending ones), from the page itself. */
export function shown(page: Page): Promise<string[]> {
  return page.locator("#messages li[data-id]").evaluateAll((lis) =>
    lis.map((li) => `${li.querySelector(".from")?.textContent ?? ""}: ${li.querySelector(".text")?.textContent ?? ""}`)
  );
}

/** Waits until every wanted line shows; returns what shows. */
export async function seeLines(page: Page, want: string[], ms = 20_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await shown(page);
    if (want.every((w) => got.includes(w))) return got;
    if (Date.now() > end) throw new Error(`page lacks ${JSON.stringify(want.filter((w) => !got.includes(w)))}; shows ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the page's live regions said so far (RECORD_SAID). */
export function said(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as { said: string[] }).said);
}

/** Waits until the page said something matching `re`; returns it. */
export async function hear(page: Page, re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = (await said(page)).find((t) => re.test(t));
    if (hit) return hit;
    if (Date.now() > end) throw new Error(`the page never said ${re}; it said ${JSON.stringify(await said(page))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A screenshot into test-artifacts/. */
export function snap(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: joinPath(ARTIFACTS, `${name}.png`) });
}

const AXE = readFileSync(joinPath(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

/**
 * axe-core's serious and critical violations on the page as it is, with
 * every rule axe has on — those off by default and the experimental ones too
 * (label-content-name-mismatch: a control's accessible name must contain its
 * visible text) — but the AAA ones (WCAG level AA is the page's aim).
 */
export async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE); // DevTools evaluation: the page's CSP allows no inline script, and need not
  return await page.evaluate(async () => {
    type Axe = {
      getRules(): { ruleId: string; tags: string[] }[];
      run(o: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }>;
    };
    const axe = (globalThis as unknown as { axe: Axe }).axe;
    const rules = axe.getRules().filter((x) => !x.tags.some((t) => /^wcag\d*aaa$/.test(t))).map((x) => x.ruleId);
    const r = await axe.run({ runOnly: { type: "rule", values: rules } });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
}
