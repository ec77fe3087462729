/**
 * Issue 20, rows 6, 7, 8 and 15: password guessing and `auth` floods mounted
 * from outside against a real server process with the default flags, scaled
 * to seconds. Attackers send from 127.0.0.2–11, legit users from 127.0.1.x.
 * Each test checks that the server stays up and bounded (memory, file
 * descriptors), that legit users on other addresses are served within a
 * generous deadline, and that no stranger locks an owner out (the terminal
 * client solves the proof of work a name under attack asks for; the web
 * client does in tests/web_browser_test.ts).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { clientFinalSalted, makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lines, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";
import { startClient } from "./_client_proc.ts";
import { floodAuth, requestResending, wrongProofs } from "../testing/attacks.ts";
import { solveWork } from "../lib/accounts/work.ts";
import { groupUsage } from "../testing/processes.ts";
import { DEFAULT_RATE_LIMIT } from "../lib/config/limits.ts";

let srv: ServerHandle;
let home: UdpClient;
let start: { rssMiB: number; fds: number };
let tagNo = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fields = (text: string) => text.split("\n");

test.before(async () => {
  srv = await startServer({ id: "a" });
  home = await udpClient("127.0.1.1");
  start = groupUsage(srv.pid);
});

test.after(async () => {
  await home?.close();
  await srv?.stop();
  removeTempDirs();
});

/** Logs `name` in from 127.0.1.1 and registers it (4096 rounds); its SaltedPassword, for quick proofs. */
async function register(name: string): Promise<Uint8Array> {
  const login = fields(await home.request(srv.clientAddr, lines("login", `r${++tagNo}`, name)));
  assert.is(login[0], "ok", login.join(" "));
  const v = await makeVerifier(`${name}'s password`, new Uint8Array(randomBytes(16)), 4096);
  const w = verifierToBase64(v);
  const r = fields(await home.request(srv.clientAddr, lines("register", `r${++tagNo}`, login[4], w.salt, w.iterations, w.storedKey, w.serverKey, "-")));
  assert.is(r[0], "ok", r.join(" "));
  return v.salted;
}

/** A password login as a client makes it (auth, then the proof, each resent until answered, 10 s at most; the proof of work when asked): its reply code and whether work was asked. */
async function passwordLogin(c: UdpClient, name: string, salted: Uint8Array, pauseMs = 0): Promise<{ code: string; work: boolean }> {
  const nonce = `legit${++tagNo}`.padEnd(20, "x");
  const first = fields(await requestResending(c, srv.clientAddr, lines("auth", `p${tagNo}`, name, nonce)));
  if (first[0] !== "ok") return { code: first[2], work: false };
  if (pauseMs > 0) await sleep(pauseMs);
  const fin = clientFinalSalted(salted, `n=${name},r=${nonce}`, first[4])!;
  const r = fields(await requestResending(c, srv.clientAddr, lines("login", `q${tagNo}`, name, fin.message)));
  if (r[0] === "ok") assert.is(r[6], fin.serverSignature, "the server proves it knows the verifier");
  return { code: r[0] === "ok" ? "ok" : r[2], work: /,w=\d+/.test(first[4]) };
}

/** The most requests one address can have answered in a flood of `seconds` (and half a second more for the last replies): the default rate's burst, then its rate. */
const perAddress = (seconds: number) => 2 * DEFAULT_RATE_LIMIT + DEFAULT_RATE_LIMIT * (seconds + 0.6);

/** The server is up and answers, and holds no more than it did plus a margin. */
async function stillWell(what: string): Promise<void> {
  const r = await requestResending(home, srv.clientAddr, lines("login", `w${++tagNo}`, `probe${tagNo}`));
  assert.ok(r.startsWith("ok"), `${what}: the server answers (${r.replaceAll("\n", " ")})`);
  const now = groupUsage(srv.pid);
  assert.ok(now.rssMiB < start.rssMiB + 150, `${what}: RSS ${now.rssMiB.toFixed(0)} MiB (was ${start.rssMiB.toFixed(0)})`);
  assert.ok(now.fds <= start.fds + 10, `${what}: ${now.fds} open files (was ${start.fds})`);
}

test("row 6: challenges fetched ahead and answered in one burst: at most 5 proofs checked; the right one is refused too while the address waits", async () => {
  const salted = await register("vera");
  const atk = await udpClient("127.0.0.2");
  try {
    // 40 challenges fetched ahead.
    const challenges: { nonce: string; serverFirst: string }[] = [];
    for (let i = 0; i < 40; i++) atk.send(srv.clientAddr, lines("auth", `c${i}`, "vera", `ahead${i}`.padEnd(20, "x")));
    for (let d = await atk.next(5000); d !== null; d = challenges.length < 40 ? await atk.next(2000) : null) {
      const f = fields(d.text);
      if (f[0] === "ok") challenges.push({ nonce: `ahead${f[1].slice(1)}`.padEnd(20, "x"), serverFirst: f[4] });
    }
    assert.is(challenges.length, 40);
    await sleep(500);
    // Every one answered at once: all wrong but the last, which is right.
    const proofs = challenges.map((c, i) => {
      const right = i === challenges.length - 1;
      const fin = clientFinalSalted(right ? salted : new Uint8Array(32).fill(i), `n=vera,r=${c.nonce}`, c.serverFirst)!;
      return lines("login", `v${i}`, "vera", fin.message);
    });
    for (const p of proofs) atk.send(srv.clientAddr, p);
    const codes: string[] = [];
    while (codes.length < proofs.length) {
      const d = await atk.next(3000);
      if (d === null) break;
      const f = fields(d.text);
      codes.push(f[0] === "ok" ? `ok:${f[1]}` : f[2]);
    }
    assert.is(codes.filter((c) => c.startsWith("ok")).length, 0, `no login: ${codes.join(" ")}`);
    assert.ok(codes.filter((c) => c === "bad-password").length <= 5, `at most 5 guesses checked: ${codes.join(" ")}`);
    // The owner, from another address, logs in at once.
    assert.equal(await passwordLogin(home, "vera", salted), { code: "ok", work: false });
  } finally {
    await atk.close();
  }
  await stillWell("after row 6");
});

test("row 7: wrong proofs from 4 addresses never lock the owner out: known address at once, a new one after a bounded puzzle", async () => {
  const salted = await register("wren");
  const known = await udpClient("127.0.1.2");
  const fresh = await udpClient("127.0.1.3");
  try {
    assert.is((await passwordLogin(known, "wren", salted)).code, "ok", "the owner's usual address");
    // 4 guessers, 10 wrong proofs each (they do the work once it is asked: still only misses).
    const guesses = await Promise.all([3, 4, 5, 6].map((h) => wrongProofs({ to: srv.clientAddr, host: `127.0.0.${h}`, userName: "wren", count: 10 })));
    const all = guesses.flat();
    assert.not.ok(all.includes("ok"));
    assert.ok(all.filter((c) => c === "bad-password").length >= 20, `the guessers got their proofs checked at first: ${all.join(" ")}`);
    assert.ok(all.includes("rate-limited"), "then each had to wait");
    // While more guessing goes on, the owner logs in from both addresses.
    const more = wrongProofs({ to: srv.clientAddr, host: "127.0.0.7", userName: "wren", count: 10 });
    assert.equal(await passwordLogin(known, "wren", salted), { code: "ok", work: false }, "known: no puzzle");
    assert.equal(await passwordLogin(fresh, "wren", salted), { code: "ok", work: true }, "new: a puzzle, then in");
    assert.equal(await passwordLogin(fresh, "wren", salted), { code: "ok", work: false }, "known from now on");
    assert.not.ok((await more).includes("ok"));
    // The terminal client, from 127.0.0.1 (new for wren), says so and solves it.
    const pw = join(tempDir("distchat-wren-"), "wren.pw");
    writeFileSync(pw, "wren's password\n", { mode: 0o600 });
    const term = startClient(["--user", "wren", "--servers", srv.servers, "--password-file", pw]);
    try {
      await term.waitFor(/wren is being guessed at: solving a puzzle/);
      await term.waitFor(/logged in as wren/);
    } finally {
      term.kill();
    }
  } finally {
    await known.close();
    await fresh.close();
  }
  await stillWell("after row 7");
});

test("proof of work made ahead (issue 20 re-run: c=biws,w=SOL,p=PROOF,r=NONCE hashed no nonce): every other shape of client-final is bad-request, checked against no password, and spends no challenge", async () => {
  const salted = await register("xena");
  // 10 wrong proofs from two addresses: the name is under attack, new addresses get a puzzle.
  const misses = (await Promise.all(["127.0.0.13", "127.0.0.14"].map((host) => wrongProofs({ to: srv.clientAddr, host, userName: "xena", count: 5 })))).flat();
  assert.is(misses.filter((c) => c === "bad-password").length, 10, misses.join(" "));
  const atk = await udpClient("127.0.0.15");
  try {
    const challenges: { nonce: string; cnonce: string; serverFirst: string; bits: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const cnonce = `ahead${++tagNo}`.padEnd(20, "x");
      const f = fields(await atk.request(srv.clientAddr, lines("auth", `b${tagNo}`, "xena", cnonce)));
      assert.is(f[0], "ok", f.join(" "));
      challenges.push({ cnonce, serverFirst: f[4], nonce: /^r=([^,]+)/.exec(f[4])![1], bits: Number(/,w=(\d+)/.exec(f[4])?.[1] ?? 0) });
    }
    const bits = Math.max(...challenges.map((c) => c.bits));
    assert.ok(bits >= 14, `a puzzle is asked: ${bits} bits`);
    // One solution for all: SHA-256("c=biws,w=SOL") has the bits, whatever the nonce.
    const ahead = solveWork("c=biws", bits);
    const sol = ahead.slice("c=biws,w=".length);
    // Proofs signed as the old server read them (AuthMessage ending in what comes before the last ",p="), the right password each time.
    const signed = (c: (typeof challenges)[number], withoutProof: string) => {
      const clientKey = createHmac("sha256", salted).update("Client Key").digest();
      const storedKey = createHash("sha256").update(clientKey).digest();
      const sig = createHmac("sha256", storedKey).update(`n=xena,r=${c.cnonce},${c.serverFirst},${withoutProof}`).digest();
      return Buffer.from(clientKey.map((b, i) => b ^ sig[i])).toString("base64");
    };
    const shapes = [
      (c: (typeof challenges)[number]) => `${ahead},p=${signed(c, ahead)},r=${c.nonce}`, // the attack
      (c: (typeof challenges)[number]) => `c=biws,w=${sol},r=${c.nonce},p=${signed(c, `c=biws,w=${sol},r=${c.nonce}`)}`,
      (c: (typeof challenges)[number]) => `r=${c.nonce},c=biws,w=${sol},p=${signed(c, `r=${c.nonce},c=biws,w=${sol}`)}`,
      (c: (typeof challenges)[number]) => `c=biws,r=${c.nonce},w=${sol},x=1,p=${signed(c, `c=biws,r=${c.nonce},w=${sol},x=1`)}`,
      (c: (typeof challenges)[number]) => `c=biws,r=${c.nonce},w=${sol},p=${signed(c, `c=biws,r=${c.nonce},w=${sol}`)},p=AAAA`,
      (c: (typeof challenges)[number]) => `c=biws,r=${c.nonce},r=${c.nonce},w=${sol},p=${signed(c, `c=biws,r=${c.nonce},r=${c.nonce},w=${sol}`)}`,
      (c: (typeof challenges)[number]) => `c=biws,r=${c.nonce},w=${"0".repeat(33)},p=${signed(c, `c=biws,r=${c.nonce},w=${"0".repeat(33)}`)}`,
      (c: (typeof challenges)[number]) => `c=biws,r=${c.nonce},w=${sol.toUpperCase()}!,p=${signed(c, `c=biws,r=${c.nonce},w=${sol.toUpperCase()}!`)}`,
    ];
    const replies = await Promise.all(challenges.map((c, i) => atk.request(srv.clientAddr, lines("login", `x${i}`, "xena", shapes[i](c)))));
    const codes = replies.map((r) => (fields(r)[0] === "ok" ? "ok" : fields(r)[2]));
    assert.equal(codes, shapes.map(() => "bad-request"), replies.join(" | "));
    assert.match(replies[0], /malformed SCRAM client-final/);
    // None spent, none counted as a guess: the first challenge, answered in the one shape with its own work, lets the owner in from here.
    const c = challenges[0];
    const fin = clientFinalSalted(salted, `n=xena,r=${c.cnonce}`, c.serverFirst)!;
    assert.match(fin.message, /^c=biws,r=[^,]+,w=[0-9a-z]+,p=/);
    const ok = fields(await atk.request(srv.clientAddr, lines("login", "xok", "xena", fin.message)));
    assert.is(ok[0], "ok", ok.join(" "));
  } finally {
    await atk.close();
  }
  await stillWell("after the made-ahead proof of work");
});

test("row 8: 20,000 auth a second from 4 addresses: a login whose proof takes 0.5 s gets in, 3 of 3", async () => {
  const salted = await register("yara");
  const legit = await udpClient("127.0.1.4");
  try {
    const hosts = ["127.0.0.8", "127.0.0.9", "127.0.0.10", "127.0.0.11"];
    const flood = floodAuth({ to: srv.clientAddr, hosts, userName: "yara", rate: 20_000, seconds: 1.5 });
    await sleep(200);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await passwordLogin(legit, "yara", salted, 500));
    const f = await flood;
    assert.equal(results.map((r) => r.code), ["ok", "ok", "ok"]);
    assert.ok(f.sent >= 20_000, `${f.sent} sent (of 30,000)`);
    assert.ok(f.challenges <= hosts.length * perAddress(1.5), `${f.challenges} challenges handed to 4 addresses`);
  } finally {
    await legit.close();
  }
  await stillWell("after row 8");
});

test("row 15: 20,000 auth a second from one address (10 times the default rate): it is served at the default rate; logins from another address are answered meanwhile", async () => {
  const salted = await register("zoe");
  const legit = await udpClient("127.0.1.5");
  try {
    const flood = floodAuth({ to: srv.clientAddr, hosts: ["127.0.0.12"], userName: "zoe", rate: 20_000, seconds: 1.5 });
    await sleep(100);
    // Two password logins and two plain ones from another address, each within 10 s (resent as a client does).
    const codes: string[] = [];
    for (let i = 0; i < 2; i++) {
      codes.push((await passwordLogin(legit, "zoe", salted)).code);
      const plain = fields(await requestResending(legit, srv.clientAddr, lines("login", `z${++tagNo}`, `plain${tagNo}`)));
      codes.push(plain[0] === "ok" ? "ok" : plain[2]);
    }
    const f = await flood;
    assert.equal(codes, ["ok", "ok", "ok", "ok"]);
    assert.ok(f.sent >= 20_000, `${f.sent} sent (of 30,000)`);
    assert.ok(f.challenges <= perAddress(1.5), `${f.challenges} challenges to one address`);
  } finally {
    await legit.close();
  }
  await stillWell("after row 15");
});

test.run();
