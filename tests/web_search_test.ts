/// <reference lib="dom" />
/**
 * The page's search (issue 26), in real Chromium: a search landmark with a
 * labelled box above the open room; its hits best first, each a button that
 * shows the message in its room (the open one, or another with "All rooms"),
 * marked a moment as the reply quote's jump marks it. At 375×800 and
 * 1280×800 with the results open the page does not overflow, and axe finds
 * nothing serious or critical; screenshots in test-artifacts/.
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import type { BrowserContext, Page } from "playwright-core";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { axe, browserTests, join, launch, openPage, say, seeLines, snap } from "./_browser.ts";

/** Runs under Deno only (tests/_browser.ts `browserTests`); skipped otherwise. */
const test = browserTests("deno", uvuTest);

let ctx: BrowserContext;
let srv: ServerHandle;

test.before(async () => {
  const dir = tempDir("distchat-web-search-");
  const { file } = await makeCluster(["a"], dir, { web: "http" });
  srv = await startServer({ id: "a", servers: file, extraArgs: ["--sync", "normal"] });
  ctx = await launch();
});

test.after(async () => {
  await ctx?.close();
  await srv?.stop();
  removeTempDirs();
});

/** No sideways overflow and no scrolling of the page as a whole; the search box and the results are in view. */
async function fits(page: Page, what: string): Promise<void> {
  const m = await page.evaluate(() => {
    const doc = document.documentElement;
    const box = (s: string) => {
      const r = document.querySelector(s)?.getBoundingClientRect();
      return r ? { left: r.left, right: r.right, top: r.top, bottom: r.bottom } : null;
    };
    return { sw: doc.scrollWidth, sh: doc.scrollHeight, w: innerWidth, h: innerHeight, form: box("form[role=search]"), results: box(".search-results") };
  });
  assert.ok(m.sw <= m.w, `${what}: sideways overflow (${m.sw} > ${m.w})`);
  assert.ok(m.sh <= m.h, `${what}: the page scrolls (${m.sh} > ${m.h})`);
  for (const [name, b] of [["search form", m.form], ["results", m.results]] as const) {
    assert.ok(b && b.left >= 0 && b.right <= m.w + 0.5 && b.top >= 0 && b.bottom <= m.h + 0.5, `${what}: the ${name} is not wholly in view: ${JSON.stringify(b)}`);
  }
}

/** The hits listed, as their buttons' names. */
const hits = (page: Page) => page.getByRole("region", { name: "Search results" }).getByRole("button", { name: /^Show / }).allTextContents();

test("search box: hits best first, shown in their room on click; all rooms; fits 375 and 1280 wide; axe", async () => {
  const page = await openPage(ctx, srv.web!, "alice");
  await join(page, "lobby");
  const lines = ["deploy the new build on friday after the long review meeting", "lunch at noon", "deploy deploy", "deploy it"];
  for (const l of lines) await say(page, l);
  await seeLines(page, lines.map((l) => `alice: ${l}`));
  await join(page, "annex");
  await say(page, "annex notes about the deploy");
  await seeLines(page, ["alice: annex notes about the deploy"]);
  await join(page, "lobby");

  const form = page.getByRole("search", { name: "Search messages" });
  const box = form.getByRole("searchbox", { name: "Search messages in lobby" });
  await box.fill("deploy");
  await box.press("Enter");
  await page.getByRole("heading", { name: /Results for “deploy”, best first/ }).waitFor();
  const found = await hits(page);
  assert.is(found.length, 3, JSON.stringify(found));
  assert.match(found[0], /deploy deploy/, "most of the word, shortest first");
  assert.match(found[2], /long review meeting/, "the long one last");

  for (const size of [{ width: 375, height: 800 }, { width: 1280, height: 800 }]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    const what = `results at ${size.width}×${size.height}`;
    await fits(page, what);
    assert.equal(await axe(page), [], what);
    await snap(page, `search-${size.width}`);
  }

  // A hit in the open room: brought into view and marked.
  await page.getByRole("button", { name: /^Show lobby.*alice deploy it$/ }).click();
  await page.locator("#messages li.flash").filter({ hasText: "deploy it" }).waitFor();

  // All rooms, from annex: a hit in lobby opens lobby and marks it there.
  await join(page, "annex");
  await form.getByRole("checkbox", { name: "All rooms" }).check();
  const everywhere = form.getByRole("searchbox", { name: "Search messages in all your rooms" });
  await everywhere.fill("review");
  await everywhere.press("Enter");
  await page.getByRole("heading", { name: /Results for “review”/ }).waitFor();
  assert.equal((await hits(page)).length, 1);
  await page.getByRole("button", { name: /^Show lobby.*review meeting$/ }).click();
  await page.getByRole("heading", { level: 1, name: "lobby" }).waitFor();
  await page.locator("#messages li.flash").filter({ hasText: "long review meeting" }).waitFor();

  // Nothing found says so; the results close.
  await everywhere.fill("quokka");
  await everywhere.press("Enter");
  await page.getByRole("heading", { name: "Nothing found for “quokka”" }).waitFor();
  await page.getByRole("button", { name: "Close the results" }).click();
  await page.getByRole("region", { name: "Search results" }).waitFor({ state: "detached" });
  await page.close();
});

test.run();
