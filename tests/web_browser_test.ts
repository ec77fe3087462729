/**
 * The web client in a real browser (Debian's chromium, driven by
 * playwright-core, headless and kept off the network), against a real
 * keyed three-server cluster running under the runtime of this test run:
 * - two pages on two servers chat with each other and with a terminal
 *   client in pipe mode, typing with the keyboard alone;
 * - the server of one page is killed: the page fails over, and every line
 *   sent before, during and after shows exactly once on every participant;
 * - a sealed room between a page and the terminal client;
 * - hostile text (HTML, script, bidi controls) shows as text;
 * - accounts, sealed DMs and moderation: a page registers, DMs a registered
 *   terminal client sealed both ways (WebCrypto and node:crypto read each
 *   other's dm1), logs in by password on another server and reads its
 *   history; a topic, a ban and the notices, from the page's composer;
 * - a name under attack (wrong proofs from other addresses): the page logs
 *   in all the same, solving the proof of work its challenge asks for.
 * Screenshots go to test-artifacts/ (not committed).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type ClientProc, startClient, until } from "./_client_proc.ts";
import { lines, makeCluster, removeTempDirs, ROOT, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { wrongProofs } from "../testing/attacks.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let ctx: BrowserContext;
let servers: ServerHandle[] = [];
let file: string;
let clientFile: string;
let dir: string;
const clients: ClientProc[] = [];

test.before(async () => {
  dir = tempDir("distchat-web-");
  const key = join(dir, "cluster.key");
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  ({ file } = await makeCluster(["a", "b", "c"], dir, { web: "http" }));
  // The terminal client's list starts at c (pages use a and b).
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => /^[abc] /.test(l));
  clientFile = join(dir, "client-servers.txt");
  writeFileSync(clientFile, [lines[2], lines[0], lines[1]].join("\n") + "\n");
  for (const l of lines) {
    const [id, , , web] = l.split(" ");
    const u = new URL(web);
    servers.push(await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", key, "--web", `${u.hostname}:${u.port}`] }));
  }
  try {
    ctx = await chromium.launchPersistentContext(tempDir("distchat-chromium-"), { executablePath: CHROMIUM, headless: true, args: FLAGS });
  } catch (e) {
    throw new Error(`cannot start ${CHROMIUM} (npm test installs Debian's chromium as root; else: sudo apt-get install -y chromium, or CHROMIUM=/path): ${(e as Error).message.split("\n")[0]}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
});

test.after(async () => {
  for (const c of clients) c.kill();
  await ctx?.close();
  await Promise.all(servers.map((s) => s.stop()));
  removeTempDirs();
});

const web = (id: string) => servers.find((s) => s.id === id)!.web!;

/** A page on a server's web address, logged in with the keyboard alone. */
async function openPage(id: string, user: string): Promise<Page> {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => console.log(`    page error (${user}): ${e.message}`));
  await page.goto(`${web(id)}/`);
  await page.locator("#login-name").focus();
  await page.keyboard.type(user);
  await page.keyboard.press("Enter");
  await page.locator("#chat-view").waitFor({ state: "visible" });
  return page;
}

async function enter(page: Page, room: string, create = false): Promise<void> {
  await page.locator("#join-name").fill(room);
  if (create) await page.locator("#create").click();
  else await page.locator("#join-name").press("Enter");
  await page.locator("#room-title").filter({ hasText: new RegExp(`^${room}$`, "i") }).waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  await page.locator("#text").focus();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** "sender: text" of every message shown (not the pending ones). */
function shown(page: Page): Promise<string[]> {
  return page.locator("#messages li[data-id]").evaluateAll((lis) =>
    lis.map((li) => `${li.querySelector(".from")?.textContent}: ${li.querySelector(".text")?.textContent}`)
  );
}

/** Polls the page until every wanted line shows; returns what shows. */
async function seeAll(page: Page, want: string[], ms = 20_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await shown(page);
    if (want.every((w) => got.includes(w))) return got;
    if (Date.now() > end) throw new Error(`page lacks ${JSON.stringify(want.filter((w) => !got.includes(w)))}; shows ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const once = (list: string[], line: string) => list.filter((l) => l === line).length === 1;

test("two pages on two servers and a terminal client chat; the page's server is killed; every line shows once everywhere", async () => {
  const alice = await openPage("a", "alice");
  const bob = await openPage("b", "bob");
  await enter(alice, "lobby", true);
  await enter(bob, "lobby");
  const carol = startClient(["--user", "carol", "--servers", clientFile, "--room", "lobby"]);
  clients.push(carol);
  await carol.waitFor(/joined lobby|created lobby/);
  await say(alice, "hello from alice");
  await say(bob, "hello from bob");
  carol.send("hello from carol");
  const first = ["alice: hello from alice", "bob: hello from bob", "carol: hello from carol"];
  await seeAll(alice, first);
  await seeAll(bob, first);
  await carol.waitFor(/alice: hello from alice[\s\S]*|bob: hello from bob/);
  await alice.screenshot({ path: join(ARTIFACTS, "web-chat.png") });
  assert.is(await alice.evaluate("globalThis.distchat.transport"), "websocket");

  // Kill a (alice's server) and keep talking: before, during and after the failover.
  await say(alice, "alice before");
  await seeAll(bob, ["alice: alice before"]);
  const a = servers.find((s) => s.id === "a")!;
  await a.kill9();
  await say(alice, "alice during");
  await say(bob, "bob during");
  carol.send("carol during");
  await alice.locator("#status").filter({ hasText: /switched to b/ }).waitFor({ timeout: 20_000 });
  await say(alice, "alice after");
  await say(bob, "bob after");
  carol.send("carol after");
  const all = [...first, "alice: alice before", "alice: alice during", "bob: bob during", "carol: carol during", "alice: alice after", "bob: bob after", "carol: carol after"];
  for (const [who, page] of [["alice", alice], ["bob", bob]] as const) {
    const got = await seeAll(page, all, 30_000).catch((e) => {
      const logs = servers.map((s) => `--- ${s.id}\n${s.stdout()}${s.stderr()}`).join("\n");
      throw new Error(`${who}: ${e.message}\ncarol:\n${carol.out()}\n${carol.err()}\n${logs}`);
    });
    for (const line of all) assert.ok(once(got, line), `${who} shows "${line}" ${got.filter((l) => l === line).length} times`);
    assert.is(await page.evaluate(() => (globalThis as unknown as { distchat: { pending(r: string): number } }).distchat.pending("lobby")), 0, `${who}: nothing left pending`);
  }
  await until(() => `every line at carol:\n${carol.out()}`, () => all.every((l) => carol.messages().some((m) => m.endsWith(l))), 30_000);
  for (const line of all) assert.is(carol.messages().filter((m) => m.endsWith(line)).length, 1, `carol shows "${line}" once`);
  await alice.screenshot({ path: join(ARTIFACTS, "web-after-failover.png") });
  await alice.close();
  await bob.close();
});

test("a sealed room between a page and the terminal client: each reads the other; a page without the passphrase cannot", async () => {
  const keys = join(dir, "keys.txt");
  writeFileSync(keys, "vault   correct horse battery staple\n", { mode: 0o600 });
  const dave = await openPage("b", "dave");
  await enter(dave, "vault", true);
  await dave.locator("#key").click();
  await dave.locator("#key-input").fill("correct horse battery staple");
  await dave.locator("#key-input").press("Enter");
  await dave.locator("#status").filter({ hasText: /is sealed/ }).waitFor({ timeout: 30_000 });
  const erin = startClient(["--user", "erin", "--servers", clientFile, "--room", "vault", "--key-file", keys]);
  clients.push(erin);
  await erin.waitFor(/joined vault/);
  await say(dave, "a sealed hello");
  await erin.waitFor(/dave: \[sealed\] a sealed hello/);
  erin.send("sealed back");
  await seeAll(dave, ["dave: 🔒 a sealed hello", "erin: 🔒 sealed back"], 30_000);
  const eve = await openPage("c", "eve");
  await enter(eve, "vault");
  await seeAll(eve, ["dave: [sealed message — no passphrase for this room]"], 20_000);
  assert.not.ok((await shown(eve)).some((l) => l.includes("sealed hello")), "eve reads no plaintext");
  await dave.screenshot({ path: join(ARTIFACTS, "web-sealed.png") });
  await dave.close();
  await eve.close();
});

test("without WebSocket the page falls back to HTTP and chats all the same", async () => {
  const page = await ctx.newPage();
  await page.addInitScript("delete globalThis.WebSocket");
  await page.goto(`${web("c")}/`);
  await page.locator("#login-name").fill("gina");
  await page.locator("#login-name").press("Enter");
  await page.locator("#chat-view").waitFor({ state: "visible" });
  await enter(page, "lobby");
  await say(page, "over plain http");
  await seeAll(page, ["gina: over plain http"]);
  assert.is(await page.evaluate("globalThis.distchat.transport"), "http");
  await page.close();
});

test("hostile text shows as text: no element, no script, bidi controls visible; phone width and dark mode render", async () => {
  const frank = await openPage("b", "frank");
  await enter(frank, "hostile", true);
  const mallory = startClient(["--user", "mallory", "--servers", clientFile, "--room", "hostile"]);
  clients.push(mallory);
  await mallory.waitFor(/joined hostile/);
  const html = `<img src=x onerror="document.title='pwned'"><b>bold</b>`;
  const script = "<script>document.title='pwned'</script>";
  const bidi = "abc\u202Eevil\u2066x";
  for (const t of [html, script, bidi]) mallory.send(t);
  await seeAll(frank, [`mallory: ${html}`, `mallory: ${script}`, "mallory: abc\\u{202e}evil\\u{2066}x"]);
  assert.is(await frank.locator("#messages img, #messages b, #messages script").count(), 0, "no element made from a message");
  assert.is(await frank.title(), "DistChat");
  await frank.setViewportSize({ width: 375, height: 700 });
  await frank.emulateMedia({ colorScheme: "dark" });
  await frank.screenshot({ path: join(ARTIFACTS, "web-phone-dark.png") });
  const width = await frank.evaluate("document.documentElement.scrollWidth") as number;
  assert.ok(width <= 375, `no sideways scrolling at phone width (${width}px)`);
  await frank.close();
});

/** The page's status line, once it matches `re`. */
async function statusMatches(page: Page, re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const t = await page.locator("#status").textContent() ?? "";
    if (re.test(t)) return t;
    if (Date.now() > end) throw new Error(`status ${JSON.stringify(t)} never matched ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every line the page shows of its current room or conversation (notices as "* …"). */
async function linesOf(page: Page, room: string, want: string[], ms = 20_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const got = (await page.evaluate(`globalThis.distchat.lines(${JSON.stringify(room)})`) as string[] | null) ?? [];
    if (want.every((w) => got.includes(w))) return got;
    if (Date.now() > end) throw new Error(`page lacks ${JSON.stringify(want.filter((w) => !got.includes(w)))}; shows ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("accounts and sealed DMs between a page and the terminal client, both ways; a password login on another server reads them", async () => {
  const dora = await openPage("c", "dora"); // (a was killed by the first test)
  await dora.locator("#account").click();
  await dora.locator("#account-password").fill("dora's password");
  await dora.locator("#account-again").fill("dora's password");
  await dora.locator("#account-again").press("Enter");
  await statusMatches(dora, /registered dora; your key fingerprint is [0-9a-f]{4} /);
  const pw = join(dir, "eli.pw");
  writeFileSync(pw, "eli's password\n", { mode: 0o600 });
  const eli = startClient(["--user", "eli", "--servers", clientFile, "--password-file", pw, "--scram-iterations", "4096", "--known-keys", join(dir, "eli.known")]);
  clients.push(eli);
  await eli.waitFor(/logged in as eli/);
  eli.send("/register");
  await eli.waitFor(/registered eli/);
  // The page writes first: sealed in WebCrypto, opened by node:crypto.
  await say(dora, "/msg eli ~zq5web~ from the page");
  await eli.waitFor(/\[@dora\] dora: \[sealed\] ~zq5web~ from the page/);
  // And back: sealed by node:crypto, opened in the page.
  eli.send("/msg dora ~zq6term~ from the terminal");
  await dora.locator("#joined button", { hasText: "@eli" }).click();
  await linesOf(dora, "@eli", ["dora: 🔒 ~zq5web~ from the page", "eli: 🔒 ~zq6term~ from the terminal"]);
  assert.match(await dora.locator("#topic").textContent() ?? "", /sealed end to end/);
  // No database file holds either text.
  for (const s of servers) {
    for (const f of readdirSync(dir).filter((n) => n.startsWith(`${s.id}.sqlite`))) {
      const bytes = readFileSync(join(dir, f)).toString("latin1");
      assert.not.ok(bytes.includes("~zq5web~") || bytes.includes("~zq6term~"), `${f} holds a DM's text`);
    }
  }
  // A password login on b: the conversation shows up by itself, opened with the key the password gives.
  const dora2 = await ctx.newPage();
  await dora2.goto(`${web("b")}/`);
  await dora2.locator("#login-name").fill("dora");
  await dora2.locator("#login-password").fill("wrong password");
  await dora2.locator("#login-password").press("Enter");
  await dora2.locator("#login-error").filter({ hasText: /is registered: enter its password|wrong password/ }).waitFor();
  await dora2.locator("#login-password").fill("dora's password");
  await dora2.locator("#login-password").press("Enter");
  await dora2.locator("#chat-view").waitFor({ state: "visible" });
  await dora2.locator("#joined button", { hasText: "@eli" }).click({ timeout: 20_000 });
  await linesOf(dora2, "@eli", ["dora: 🔒 ~zq5web~ from the page", "eli: 🔒 ~zq6term~ from the terminal"]);
  // A password change from the page: proven by the old one; eli is warned that dora's key changed.
  await say(dora2, "/password");
  await dora2.locator("#account-old").fill("dora's password");
  await dora2.locator("#account-password").fill("dora's new password");
  await dora2.locator("#account-again").fill("dora's new password");
  await dora2.locator("#account-again").press("Enter");
  await statusMatches(dora2, /password changed; your new key fingerprint is [0-9a-f]{4} /);
  eli.send("/whois dora");
  await eli.waitFor(/WARNING: dora's key changed/);
  await dora.close();
  await dora2.close();
});

test("a name being guessed at: the page's challenge asks for a proof of work, and the page logs in after solving it", async () => {
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
    const page = await ctx.newPage();
    page.on("pageerror", (e) => console.log(`    page error (dora): ${e.message}`));
    await page.goto(`${web("c")}/`);
    await page.locator("#login-name").fill("dora");
    await page.locator("#login-password").fill("dora's new password");
    await page.locator("#login-password").press("Enter");
    await page.locator("#me").filter({ hasText: /^dora$/ }).waitFor({ timeout: 30_000 });
    assert.not.match(await challenge(), /,w=/, "once the password was proven from this address, no more work");
    await page.close();
  } finally {
    await probe.close();
  }
});

test("moderation from the page: the topic shows to others, a ban ends the banned page's room on its server, notices show", async () => {
  const hana = await openPage("c", "hana");
  await enter(hana, "den", true);
  const ivan = await openPage("b", "ivan");
  await enter(ivan, "den");
  await say(hana, "/topic plans for friday");
  await ivan.locator("#topic").filter({ hasText: "Topic: plans for friday (set by hana)" }).waitFor({ timeout: 20_000 });
  await say(ivan, "/kick hana");
  await statusMatches(ivan, /cannot kick hana: only the room's owner and operators may do that/);
  await say(hana, "/ban ivan trolling");
  await statusMatches(ivan, /you are banned from den/);
  assert.is(await ivan.locator("#joined button", { hasText: "den" }).count(), 0, "the room is gone from the banned page");
  await linesOf(hana, "den", ["* ivan joined", "* hana set the topic: plans for friday", "* hana banned ivan (trolling)"]);
  await say(hana, "/me waves");
  await linesOf(hana, "den", ["* hana waves"]);
  await hana.close();
  await ivan.close();
});

test.run();
