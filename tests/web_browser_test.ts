/**
 * The web client in a real browser (Debian's chromium, driven by
 * playwright-core, headless and kept off the network), against a real
 * keyed three-server cluster running under the runtime of this test run;
 * controls are found by role and accessible name, as a screen reader finds
 * them (tests/_browser.ts):
 * - two pages on two servers chat with each other and with a terminal
 *   client in pipe mode, typing with the keyboard alone;
 * - the server of one page is killed: the page says so once, plainly, never
 *   naming a live server, and every line sent before, during and after shows
 *   exactly once on every participant;
 * - a sealed room between a page and the terminal client;
 * - hostile text (HTML, script, bidi controls) shows as text;
 * - accounts, sealed DMs and moderation: a page registers, DMs a registered
 *   terminal client sealed both ways, logs in by password on another server
 *   and reads its history; a topic, a ban and the notices, from the composer;
 * - a name under attack (wrong proofs from other addresses): the page logs
 *   in all the same, saying it solves the proof of work its challenge asks
 *   for (the client core's, as the terminal's).
 * Screenshots go to test-artifacts/ (not committed). Runs under Deno only
 * (tests/web_ui_test.ts, the other browser file, under Node).
 */
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join as joinPath } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { type ClientProc, startClient, until } from "./_client_proc.ts";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { wrongProofs } from "../testing/attacks.ts";
import { browserTests, hear, join, launch, logIn, newPage, openPage, said, say, seeLines, shown, snap } from "./_browser.ts";

/** Runs under Deno only (tests/_browser.ts `browserTests`: the other browser file runs under Node); skipped otherwise. */
const test = browserTests("deno", uvuTest);

let ctx: BrowserContext;
const servers: ServerHandle[] = [];
let file: string;
let clientFile: string;
let dir: string;
const clients: ClientProc[] = [];

test.before(async () => {
  dir = tempDir("distchat-web-");
  const key = joinPath(dir, "cluster.key");
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  ({ file } = await makeCluster(["a", "b", "c"], dir, { web: "http" }));
  // The terminal client's list starts at c (pages use a and b).
  const rows = readFileSync(file, "utf8").split("\n").filter((l) => /^[abc] /.test(l));
  clientFile = joinPath(dir, "client-servers.txt");
  writeFileSync(clientFile, [rows[2], rows[0], rows[1]].join("\n") + "\n");
  for (const l of rows) {
    const [id, , , web] = l.split(" ");
    const u = new URL(web);
    servers.push(await startServer({ id, servers: file, db: joinPath(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", key, "--web", `${u.hostname}:${u.port}`] }));
  }
  ctx = await launch();
});

test.after(async () => {
  for (const c of clients) c.kill();
  await ctx?.close();
  await Promise.all(servers.map((s) => s.stop()));
  removeTempDirs();
});

const web = (id: string) => servers.find((s) => s.id === id)!.web!;
const once = (list: string[], line: string) => list.filter((l) => l === line).length === 1;

/** Every line the page holds of a room (notices and actions as "* …"). */
async function linesOf(page: Page, room: string, want: string[], ms = 20_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = (await page.evaluate(`globalThis.distchat.lines(${JSON.stringify(room)})`) as string[] | null) ?? [];
    if (want.every((w) => got.includes(w))) return got;
    if (Date.now() > end) throw new Error(`page lacks ${JSON.stringify(want.filter((w) => !got.includes(w)))}; shows ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("two pages on two servers and a terminal client chat; the page's server is killed: said once, plainly; every line shows once everywhere", async () => {
  const alice = await openPage(ctx, web("a"), "alice");
  const bob = await openPage(ctx, web("b"), "bob");
  await join(alice, "lobby");
  await join(bob, "lobby");
  const carol = startClient(["--user", "carol", "--servers", clientFile, "--room", "lobby"]);
  clients.push(carol);
  await carol.waitFor(/joined lobby|created lobby/);
  await say(alice, "hello from alice");
  await say(bob, "hello from bob");
  carol.send("hello from carol");
  const first = ["alice: hello from alice", "bob: hello from bob", "carol: hello from carol"];
  await seeLines(alice, first);
  await seeLines(bob, first);
  await carol.waitFor(/bob: hello from bob/);
  assert.is(await alice.evaluate("globalThis.distchat.transport"), "websocket");

  // Kill a (alice's server) and keep talking: before, during and after the failover.
  await say(alice, "alice before");
  await seeLines(bob, ["alice: alice before"]);
  await servers.find((s) => s.id === "a")!.kill9();
  // (The banner while it lasts, for the screenshots; it may be gone already.)
  await alice.locator(".banner.reconnecting").waitFor({ timeout: 5000 }).then(() => snap(alice, "web-reconnecting"), () => {});
  await say(alice, "alice during");
  await say(bob, "bob during");
  carol.send("carol during");
  await hear(alice, /^connected to b$/, 20_000);
  await say(alice, "alice after");
  await say(bob, "bob after");
  carol.send("carol after");
  const all = [...first, "alice: alice before", "alice: alice during", "bob: bob during", "carol: carol during", "alice: alice after", "bob: bob after", "carol: carol after"];
  for (const [who, page] of [["alice", alice], ["bob", bob]] as const) {
    const got = await seeLines(page, all, 30_000).catch((e) => {
      const logs = servers.map((s) => `--- ${s.id}\n${s.stdout()}${s.stderr()}`).join("\n");
      throw new Error(`${who}: ${e.message}\ncarol:\n${carol.out()}\n${carol.err()}\n${logs}`);
    });
    for (const line of all) assert.ok(once(got, line), `${who} shows "${line}" ${got.filter((l) => l === line).length} times`);
    assert.is(await page.evaluate(`globalThis.distchat.pending("lobby")`), 0, `${who}: nothing left pending`);
  }
  await until(() => `every line at carol:\n${carol.out()}`, () => all.every((l) => carol.messages().some((m) => m.endsWith(l))), 30_000);
  for (const line of all) assert.is(carol.messages().filter((m) => m.endsWith(line)).length, 1, `carol shows "${line}" once`);
  // Said once, plainly, and no live server named as down.
  const words = await said(alice);
  assert.is(words.filter((t) => /reconnecting/.test(t)).length, 1, JSON.stringify(words));
  assert.ok(words.includes("server a is not answering; reconnecting…"), JSON.stringify(words));
  assert.not.ok(words.some((t) => /server [bc]\b.*(not answering|down|unreachable|failed)/.test(t)), JSON.stringify(words));
  const text = await alice.locator("body").innerText();
  assert.not.match(text, /server [bc]\b.*(not answering|down)/);
  assert.is(await alice.evaluate("globalThis.distchat.server"), "b");
  await snap(alice, "web-after-failover");
  await alice.close();
  await bob.close();
});

test("a sealed room between a page and the terminal client: each reads the other; a page without the passphrase cannot", async () => {
  const keys = joinPath(dir, "keys.txt");
  writeFileSync(keys, "vault   correct horse battery staple\n", { mode: 0o600 });
  const dave = await openPage(ctx, web("b"), "dave");
  await join(dave, "vault");
  await dave.getByRole("button", { name: /^Passphrase/ }).click();
  const dialog = dave.getByRole("dialog", { name: /Passphrase for vault/ });
  await dialog.getByLabel("Passphrase", { exact: true }).fill("correct horse battery staple");
  await dialog.getByLabel("The same passphrase again").fill("correct horse battery stable");
  await dialog.getByRole("button", { name: "Set passphrase" }).click();
  await dialog.getByText("the two passphrases differ").waitFor();
  await dialog.getByLabel("The same passphrase again").fill("correct horse battery staple");
  await dialog.getByLabel("The same passphrase again").press("Enter");
  await hear(dave, /passphrase set for vault/, 30_000);
  const erin = startClient(["--user", "erin", "--servers", clientFile, "--room", "vault", "--key-file", keys]);
  clients.push(erin);
  await erin.waitFor(/joined vault/);
  await say(dave, "a sealed hello");
  await erin.waitFor(/dave: \[sealed\] a sealed hello/);
  erin.send("sealed back");
  await seeLines(dave, ["dave: 🔒 a sealed hello", "erin: 🔒 sealed back"], 30_000);
  const eve = await openPage(ctx, web("c"), "eve");
  await join(eve, "vault");
  await seeLines(eve, ["dave: [sealed message: no passphrase for this room; /key vault]"], 20_000);
  assert.not.ok((await shown(eve)).some((l) => l.includes("sealed hello")), "eve reads no plaintext");
  await snap(dave, "web-sealed");
  await dave.close();
  await eve.close();
});

test("without WebSocket the page falls back to HTTP and chats all the same", async () => {
  const page = await ctx.newPage();
  await page.addInitScript("delete globalThis.WebSocket");
  await page.goto(`${web("c")}/`);
  await logIn(page, "gina");
  await join(page, "lobby");
  await say(page, "over plain http");
  await seeLines(page, ["gina: over plain http"]);
  assert.is(await page.evaluate("globalThis.distchat.transport"), "http");
  await page.close();
});

test("hostile text shows as text: no element, no script, bidi controls visible", async () => {
  const frank = await openPage(ctx, web("b"), "frank");
  await join(frank, "hostile");
  const mallory = startClient(["--user", "mallory", "--servers", clientFile, "--room", "hostile"]);
  clients.push(mallory);
  await mallory.waitFor(/joined hostile/);
  const html = `<img src=x onerror="document.title='pwned'"><b>bold</b>`;
  const script = "<script>document.title='pwned'</script>";
  const bidi = "abc\u202Eevil\u2066x";
  for (const t of [html, script, bidi]) mallory.send(t);
  await seeLines(frank, [`mallory: ${html}`, `mallory: ${script}`, "mallory: abc\\u202eevil\\u2066x"]);
  assert.is(await frank.locator("#messages img, #messages b, #messages script").count(), 0, "no element made from a message");
  assert.is(await frank.title(), "DistChat");
  await frank.close();
});

test("accounts and sealed DMs between a page and the terminal client, both ways; a password login on another server reads them", async () => {
  const dora = await openPage(ctx, web("c"), "dora"); // (a was killed by the first test)
  await dora.getByRole("button", { name: "Register this name" }).click();
  await dora.getByLabel(/^New password/).fill("dora's password");
  await dora.getByLabel("The same password again").fill("dora's password");
  await dora.getByLabel("The same password again").press("Enter");
  await hear(dora, /registered dora: .*your key fingerprint is [0-9a-f]{4} /, 30_000);
  const pw = joinPath(dir, "eli.pw");
  writeFileSync(pw, "eli's password\n", { mode: 0o600 });
  const eli = startClient(["--user", "eli", "--servers", clientFile, "--password-file", pw, "--scram-iterations", "4096", "--known-keys", joinPath(dir, "eli.known")]);
  clients.push(eli);
  await eli.waitFor(/logged in as eli/);
  eli.send("/register");
  await eli.waitFor(/registered eli/);
  // The page writes first: sealed by the core in the page, opened by the same core in the terminal.
  await join(dora, "sealed-dms"); // the composer writes into an open room or conversation
  await say(dora, "/msg eli ~zq5web~ from the page");
  await eli.waitFor(/\[@dora\] dora: \[sealed\] ~zq5web~ from the page/);
  eli.send("/msg dora ~zq6term~ from the terminal");
  await dora.getByRole("navigation").getByRole("button", { name: /^@eli/ }).click();
  await linesOf(dora, "@eli", ["dora: 🔒 ~zq5web~ from the page", "eli: 🔒 ~zq6term~ from the terminal"]);
  assert.match(await dora.locator("#topic").textContent() ?? "", /sealed end to end/);
  await snap(dora, "web-dm");
  for (const s of servers) {
    for (const f of readdirSync(dir).filter((n) => n.startsWith(`${s.id}.sqlite`))) {
      const bytes = readFileSync(joinPath(dir, f)).toString("latin1");
      assert.not.ok(bytes.includes("~zq5web~") || bytes.includes("~zq6term~"), `${f} holds a DM's text`);
    }
  }
  // A password login on b: the conversation shows up by itself, opened with the key the password gives.
  const dora2 = await newPage(ctx, web("b"), "dora");
  await dora2.getByRole("textbox", { name: "Your name" }).fill("dora");
  await dora2.getByLabel(/^Password/).fill("wrong password");
  await dora2.getByLabel(/^Password/).press("Enter");
  await dora2.getByRole("alert").filter({ hasText: /wrong password/ }).waitFor();
  await logIn(dora2, "", "dora's password");
  await dora2.getByRole("navigation").getByRole("button", { name: /^@eli/ }).click({ timeout: 20_000 });
  await linesOf(dora2, "@eli", ["dora: 🔒 ~zq5web~ from the page", "eli: 🔒 ~zq6term~ from the terminal"]);
  // A password change from the page: proven by the old one; eli is warned that dora's key changed.
  await say(dora2, "/password");
  await dora2.getByLabel("Current password").fill("dora's password");
  await dora2.getByLabel(/^New password/).fill("dora's new password");
  await dora2.getByLabel("The same password again").fill("dora's new password");
  await dora2.getByRole("button", { name: "Change password" }).click();
  await hear(dora2, /password changed; your new key fingerprint is [0-9a-f]{4} /, 30_000);
  eli.send("/whois dora");
  await eli.waitFor(/WARNING: dora's key changed/);
  await dora.close();
  await dora2.close();
});

test("a name being guessed at: the page's challenge asks for a proof of work; the page says it solves it, then logs in", async () => {
  const c = servers.find((s) => s.id === "c")!;
  // dora (registered above) has never logged in with her password on c from this address. Two guessers: 10 misses.
  for (const host of ["127.0.0.2", "127.0.0.3"]) {
    const codes = await wrongProofs({ to: c.clientAddr, host, userName: "dora", count: 5 });
    assert.equal(codes, ["bad-password", "bad-password", "bad-password", "bad-password", "bad-password"]);
  }
  const probe = await udpClient();
  const challenge = async () => (await probe.request(c.clientAddr, lines("auth", `w${Date.now()}`, "dora", "probe0123456789abcdef"))).split("\n")[4];
  try {
    assert.match(await challenge(), /,w=\d+$/, "this address is asked for work");
    const page = await newPage(ctx, web("c"), "dora");
    await logIn(page, "dora", "dora's new password");
    assert.ok((await said(page)).some((t) => /dora is being guessed at: solving a puzzle/.test(t)), "the page said it solves a puzzle");
    assert.not.match(await challenge(), /,w=/, "once the password was proven from this address, no more work");
    await page.close();
  } finally {
    await probe.close();
  }
});

test("moderation from the page: the topic shows to others, a ban ends the banned page's room and says why, notices show", async () => {
  const hana = await openPage(ctx, web("c"), "hana");
  await join(hana, "den");
  const ivan = await openPage(ctx, web("b"), "ivan");
  await join(ivan, "den");
  await say(hana, "/topic plans for friday");
  await ivan.locator("#topic").filter({ hasText: "plans for friday" }).waitFor({ timeout: 20_000 });
  await say(ivan, "/kick hana");
  await hear(ivan, /cannot kick hana in den: only the room's owner and operators may do that/);
  await say(hana, "/ban ivan trolling");
  await hear(ivan, /you are banned from den/);
  await snap(ivan, "web-banned");
  assert.is(await ivan.getByRole("navigation").getByRole("button", { name: /^#den/ }).count(), 0, "the room is gone from the banned page");
  await linesOf(hana, "den", ["* ivan joined", "* hana set the topic: plans for friday", "* hana banned ivan (trolling)"]);
  await say(hana, "/me waves");
  await linesOf(hana, "den", ["* hana waves"]);
  await hana.close();
  await ivan.close();
});

test.run();
