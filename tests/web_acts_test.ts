/// <reference lib="dom" />
/**
 * Message actions between a page (real Chromium) and a terminal client on
 * one server: the page replies (quoting), reacts, edits and deletes through
 * each message's controls; the terminal's edit, reaction and deletion show
 * in the page ("(edited)", the counts, "message deleted"); the page jumps
 * to the message a reply answers; a mention from the terminal raises a
 * desktop notification (the page's opt-in, stubbed to record) and the title
 * badge; the page says who is typing.
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import type { BrowserContext, Page } from "playwright-core";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { browserTests, join, launch, openPage, say, seeLines } from "./_browser.ts";
import { type ClientProc, startClient } from "./_client_proc.ts";

/** Runs under Deno only (tests/_browser.ts `browserTests`); skipped otherwise. */
const test = browserTests("deno", uvuTest);

let ctx: BrowserContext;
let srv: ServerHandle;
let file: string;
const clients: ClientProc[] = [];

test.before(async () => {
  const dir = tempDir("distchat-web-acts-");
  ({ file } = await makeCluster(["a"], dir, { web: "http" }));
  srv = await startServer({ id: "a", servers: file, extraArgs: ["--sync", "normal"] });
  ctx = await launch();
});

test.after(async () => {
  for (const c of clients) c.kill();
  await ctx?.close();
  await srv?.stop();
  removeTempDirs();
});

/** The line of the page's open room whose text is `text`. */
const line = (page: Page, text: string | RegExp) => page.locator("#messages li[data-id]").filter({ has: page.locator(".text", { hasText: text }) });

/** Clicks control `name` of the message whose text is `text` (its controls show on hover). */
async function control(page: Page, text: string | RegExp, name: string | RegExp): Promise<void> {
  const l = line(page, text);
  await l.hover();
  await l.getByRole("button", { name }).click();
}

test("a page and a terminal client: reply, react, edit, delete, jump to the original, a mention's notification, typing", async () => {
  const page = await openPage(ctx, srv.web!, "alice");
  // The desktop notifications the page raises, recorded (the opt-in granted).
  await page.evaluate(() => {
    const seen: string[] = [];
    (globalThis as unknown as { notes: string[] }).notes = seen;
    class Note {
      static permission = "granted";
      static requestPermission = () => Promise.resolve("granted");
      constructor(title: string) {
        seen.push(title);
      }
    }
    (globalThis as unknown as { Notification: unknown }).Notification = Note;
  });
  await join(page, "lobby");
  await page.getByRole("button", { name: "Notify me when I am mentioned" }).click();
  const bob = startClient(["--user", "bob", "--servers", file, "--room", "lobby", "--wait-ms", "2000"]);
  clients.push(bob);
  await bob.waitFor(/joined lobby/);
  bob.send("teh first plan");
  await seeLines(page, ["bob: teh first plan"]);

  // Reply from the page, quoted in the terminal.
  await control(page, "teh first plan", "Reply to bob");
  await page.getByText("Replying to").waitFor();
  await say(page, "which plan?");
  await bob.waitFor(/alice: \(re bob: "teh first plan"\) which plan\?/);
  await line(page, "which plan?").getByRole("button", { name: /Replying to bob/ }).waitFor();

  // A reaction from the page; the terminal sees the count.
  await control(page, "teh first plan", "React 👍");
  await bob.waitFor(/reactions to bob's message "teh first plan": 👍 1/);
  await line(page, "teh first plan").getByRole("button", { name: "👍 1: toggle yours" }).waitFor();

  // The terminal edits its message; the page shows the new text, edited.
  bob.send("/edit the first plan");
  await line(page, "the first plan").locator(".edited").waitFor();

  // The page edits its own message.
  await control(page, "which plan?", "Edit");
  const box = page.getByRole("textbox", { name: /^Message/ });
  // The box takes the old text when the page renders the edit: fill after that, or the render overwrites the new text.
  await page.waitForFunction(() => (document.activeElement as HTMLTextAreaElement | null)?.value === "which plan?");
  await box.fill("which plan, bob?");
  await box.press("Enter");
  await bob.waitFor(/alice edited alice's message "which plan\?": which plan, bob\?/);
  await line(page, "which plan, bob?").locator(".edited").waitFor();

  // Jump to the original from the reply.
  await line(page, "which plan, bob?").getByRole("button", { name: /Replying to bob/ }).click();
  await page.locator("#messages li.flash").filter({ hasText: "the first plan" }).waitFor();

  // Typing in the page shows in... the page of whoever asks: the terminal does not show it; the page shows the terminal's away.
  bob.send("/away lunch");
  await bob.waitFor(/you are marked away/);
  await page.getByText("bob is away").waitFor({ timeout: 15_000 });

  // The terminal deletes its message: "message deleted" in the page.
  bob.send("/delete");
  await line(page, "message deleted").waitFor();
  assert.not.ok((await page.locator("#messages").textContent())?.includes("the first plan"), "the text is gone from the page");

  // The page deletes its own message; the terminal is told.
  await control(page, "which plan, bob?", "Delete");
  await bob.waitFor(/message deleted \(alice's message "which plan, bob\?", by alice\)/);

  // A mention while the page is in another room: a notification and the title badge.
  await join(page, "annex");
  bob.send("@alice lunch?");
  await page.waitForFunction(() => document.title === "(1) DistChat");
  await page.waitForFunction(() => (globalThis as unknown as { notes: string[] }).notes.includes("bob mentioned you in lobby"));
  assert.is(await bob.end(), 0, bob.err());
  await page.close();
});

test.run();
