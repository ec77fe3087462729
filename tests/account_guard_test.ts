/**
 * The rules that keep password guessing slow without a lock a stranger can
 * set (issue 20, rows 6–8), in memory with a manual clock: the guessing
 * guard (lib/accounts/guess_guard.ts), stateless challenges
 * (lib/accounts/challenge.ts), the proof of work (lib/accounts/work.ts) and
 * the account desk that puts them together (lib/accounts/desk.ts).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { DEFAULT_GUARD, GuessGuard, guessSource } from "../lib/accounts/guess_guard.ts";
import { Challenges, SERVER_NONCE_CHARS } from "../lib/accounts/challenge.ts";
import { leadingZeroBits, solveWork, solveWorkAsync, workDone } from "../lib/accounts/work.ts";
import { clientFinal, clientFinalSalted, makeVerifier, serverFirst, verifierToBase64 } from "../lib/accounts/scram.ts";
import { AccountDesk } from "../lib/accounts/desk.ts";
import type { Account } from "../lib/store/accounts.ts";
import { ManualClock } from "../testing/manual_clock.ts";

const random = (n: number) => new Uint8Array(randomBytes(n));
const MIN = 60_000;

test("guard: a source waits after 5 misses for one name and after 20 over all names; other sources, the owner's among them, never wait", () => {
  const g = new GuessGuard();
  const clock = new ManualClock();
  for (let i = 0; i < 4; i++) g.miss("zed", "10.0.0.66", clock.now());
  assert.is(g.wait("zed", "10.0.0.66", clock.now()), 0, "4 misses are free");
  g.miss("zed", "10.0.0.66", clock.now());
  assert.is(g.wait("zed", "10.0.0.66", clock.now()), 1000, "the 5th: a second");
  assert.is(g.wait("zed", "10.0.0.1", clock.now()), 0, "the owner's address does not wait");
  assert.is(g.wait("amy", "10.0.0.66", clock.now()), 0, "the guesser, for another name: not yet");
  clock.advance(1000);
  g.miss("zed", "10.0.0.66", clock.now());
  assert.is(g.wait("zed", "10.0.0.66", clock.now()), 2000, "doubling");
  // 20 misses from one source over many names: that source waits for every name.
  for (let i = 0; i < 14; i++) g.miss(`name${i}`, "10.0.0.66", clock.now());
  assert.is(g.wait("fresh", "10.0.0.66", clock.now()), 1000);
  assert.is(g.wait("fresh", "10.0.0.67", clock.now()), 0);
  // Waits never pass 15 minutes, and an hour later everything is forgotten.
  for (let i = 0; i < 40; i++) g.miss("zed", "10.0.0.66", clock.now());
  assert.is(g.wait("zed", "10.0.0.66", clock.now()), DEFAULT_GUARD.maxWaitMs);
  clock.advance(61 * MIN);
  assert.is(g.wait("zed", "10.0.0.66", clock.now()), 0);
  assert.is(g.work("zed", "10.0.0.66", clock.now()), 0, "the attack is forgotten too");
  assert.is(g.failures, 60);
});

test("guard: a name under attack asks unknown sources for work that grows with the misses; known sources are never asked", () => {
  const g = new GuessGuard();
  const clock = new ManualClock();
  g.hit("zed", "10.0.0.1", clock.now()); // the owner logged in from here before
  for (let i = 0; i < 9; i++) g.miss("zed", `10.9.0.${i}`, clock.now());
  assert.is(g.work("zed", "10.0.0.2", clock.now()), 0, "9 misses: calm");
  g.miss("zed", "10.9.0.9", clock.now());
  assert.is(g.work("zed", "10.0.0.2", clock.now()), DEFAULT_GUARD.baseBits, "10 misses: under attack");
  assert.is(g.work("zed", "10.0.0.1", clock.now()), 0, "the owner's known address");
  assert.is(g.work("amy", "10.0.0.2", clock.now()), 0, "another name");
  for (let i = 0; i < 30; i++) g.miss("zed", `10.8.0.${i}`, clock.now());
  assert.is(g.work("zed", "10.0.0.2", clock.now()), DEFAULT_GUARD.baseBits + 2, "40 misses: two doublings");
  for (let i = 0; i < 20_000; i++) g.miss("zed", `10.7.${i >> 8}.${i & 255}`, clock.now());
  assert.is(g.work("zed", "10.0.0.2", clock.now()), DEFAULT_GUARD.maxBits, "capped");
  assert.is(g.wait("zed", "10.0.0.2", clock.now()), 0, "and still no wait for a source that did not guess");
  // A right proof from a new source makes it known; known lasts 30 days.
  g.hit("zed", "10.0.0.2", clock.now());
  assert.is(g.work("zed", "10.0.0.2", clock.now()), 0);
  clock.advance(31 * 24 * 60 * MIN);
  g.miss("zed", "10.9.9.9", clock.now());
  assert.ok(!g.known("zed", "10.0.0.2", clock.now()));
});

test("guard: tables stay bounded; IPv6 sources count by their /64", () => {
  const g = new GuessGuard({ maxEntries: 100 });
  for (let i = 0; i < 1000; i++) {
    g.miss(`n${i}`, `10.1.${i >> 8}.${i & 255}`, 0);
    g.hit(`n${i}`, `10.2.${i >> 8}.${i & 255}`, 0);
  }
  assert.ok(!g.known("n0", "10.2.0.0", 0), "the oldest known pair went first");
  assert.ok(g.known("n999", "10.2.3.231", 0));
  assert.is(guessSource("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.is(guessSource("2001:db8:0:2::7"), guessSource("2001:0db8:0000:0002:ffff::1"));
  assert.is(guessSource("::1"), "0:0:0:0::/64");
  assert.is(guessSource("::ffff:10.0.0.7"), "10.0.0.7");
  assert.is(guessSource("10.0.0.7"), "10.0.0.7");
});

test("challenges: opened only for their name, registration and lifetime; answered once; a flood of them keeps nothing", () => {
  const book = new Challenges({ secret: random(32) });
  const clock = new ManualClock();
  const cn = "clientnonce0123456789";
  const s = book.issue({ userName: "Zed", clientNonce: cn, reg: "a.7", bits: 3 }, clock.now());
  assert.is(s.length, SERVER_NONCE_CHARS);
  const opened = book.open(cn + s, "Zed", "a.7", clock.now());
  assert.equal(opened && { clientNonce: opened.clientNonce, bits: opened.bits }, { clientNonce: cn, bits: 3 });
  assert.is(book.open(cn + s, "zed", "a.7", clock.now()), null, "another spelling of the name");
  assert.is(book.open(cn + s, "Zed", "b.1", clock.now()), null, "another registration (the name was dropped and taken)");
  assert.is(book.open(cn + s, "Zed", null, clock.now()), null);
  assert.is(book.open("X" + cn.slice(1) + s, "Zed", "a.7", clock.now()), null, "another client nonce");
  const flipped = s.slice(0, 12) + (s[12] === "A" ? "B" : "A") + s.slice(13);
  assert.is(book.open(cn + flipped, "Zed", "a.7", clock.now()), null, "a forged expiry or work");
  assert.is(book.open(s, "Zed", "a.7", clock.now()), null, "no client nonce");
  assert.ok(book.spend(cn + s, opened!.expires, clock.now()));
  assert.not.ok(book.spend(cn + s, opened!.expires, clock.now()), "a replayed proof");
  clock.advance(60_001);
  assert.is(book.open(cn + s, "Zed", "a.7", clock.now()), null, "expired");
  // 20,000 challenges cost no memory: only answered ones are kept.
  for (let i = 0; i < 20_000; i++) book.issue({ userName: "Zed", clientNonce: `flood${i}xxxxxxxxxxxxx`, reg: "a.7", bits: 0 }, clock.now());
  assert.is(book.answered, 1);
});

test("challenges: answered ones are forgotten once expired, and the set never passes its bound", () => {
  const book = new Challenges({ secret: random(32), maxAnswered: 50 });
  for (let i = 0; i < 200; i++) book.spend(`n${i}`, 1000 + i, 0);
  assert.is(book.answered, 50);
  assert.is(book.evicted, 150, "live ones pushed out (a proof of one could then be replayed: counted)");
  book.spend("late", 5000, 2000);
  assert.is(book.answered, 1, "expired ones go first");
});

test("proof of work: the client-final without its proof hashes to the zero bits asked; the server checks with one hash", async () => {
  assert.is(leadingZeroBits(new Uint8Array([0, 0, 0x10, 0xff])), 19);
  assert.is(leadingZeroBits(new Uint8Array([0x80])), 0);
  const msg = solveWork("c=biws,r=abc", 12);
  assert.match(msg, /^c=biws,r=abc,w=[0-9a-z]+$/);
  assert.ok(workDone(msg, 12));
  assert.ok(leadingZeroBits(new Uint8Array(createHash("sha256").update(msg).digest())) >= 12, "node:crypto's SHA-256 agrees (work.ts hashes with @noble)");
  assert.not.ok(workDone(msg.replace(/w=[0-9a-z]+$/, "w=zzzzzz"), 12), "another solution is (almost surely) not one");
  let pauses = 0;
  assert.is(await solveWorkAsync("c=biws,r=abc", 12, async () => void pauses++), msg, "a slice at a time: the same answer");
  assert.ok(pauses >= 1, "the event loop gets a turn before the work");
  const big = solveWork("c=biws,r=xyz", 17);
  assert.is(await solveWorkAsync("c=biws,r=xyz", 17, async () => void pauses++), big, "across slices too");
  assert.ok(workDone("anything", 0));
  // A server-first with w=BITS: the client's final message carries the solution, and the SCRAM proof covers it.
  const v = await makeVerifier("pw", new Uint8Array(16).fill(3), 4096);
  const sf = serverFirst("n=zed,r=abcdefghijklmnop", "SERVERPART", v, 10).message;
  assert.match(sf, /,w=10$/);
  const f = (await clientFinal("pw", "n=zed,r=abcdefghijklmnop", sf))!;
  assert.ok(workDone(f.message.slice(0, f.message.lastIndexOf(",p=")), 10));
  assert.equal(clientFinalSalted(f.salted, "n=zed,r=abcdefghijklmnop", sf), f, "the same from a kept SaltedPassword");
  assert.is(await clientFinal("pw", "n=zed,r=abcdefghijklmnop", sf.replace("w=10", "w=40")), null, "a server asking too much work is refused");
});

// --- The desk: what the server does with auth and proofs ---------------------------

const PASSWORD = "zed's password";
const V = await makeVerifier(PASSWORD, new Uint8Array(16).fill(9), 4096);
const ACCT: Account = { reg: "a.7", name: "zed", publicKey: "-", first: true, ...verifierToBase64(V) };
/** The SaltedPassword of a wrong password (kept: no PBKDF2 per guess). */
const WRONG_SALTED = (await makeVerifier("wrong", V.salt, 4096)).salted;
/** Small puzzles keep these tests fast; the rule is the same. */
const FAST = { baseBits: 4, maxBits: 8 };
let nonceNo = 0;

/** auth from `host`, then the client-final for `password` (or the refusal). */
function attempt(desk: AccountDesk, host: string, now: number, right = true) {
  const nonce = `n${(++nonceNo).toString().padStart(20, "0")}`;
  const first = desk.challenge({ verb: "auth", tag: "1", userName: "zed", nonce }, ACCT, host, now);
  if ("code" in first) return { refused: first };
  const fin = clientFinalSalted(right ? V.salted : WRONG_SALTED, `n=zed,r=${nonce}`, first.serverFirst)!;
  return { serverFirst: first.serverFirst, proof: fin.message };
}
const newDesk = () => new AccountDesk({ secret: random(32), random, guard: new GuessGuard(FAST) });

test("row 6: challenges fetched ahead and answered in a burst: the guard is checked at each proof; the right password is refused while the source waits", () => {
  const desk = newDesk();
  const clock = new ManualClock();
  const proofs: string[] = [];
  for (let i = 0; i < 300; i++) proofs.push(attempt(desk, "127.0.0.2", clock.now(), false).proof!);
  const right = attempt(desk, "127.0.0.2", clock.now()).proof!;
  const codes = proofs.map((p) => {
    const r = desk.verify("zed", p, ACCT, "127.0.0.2", clock.now());
    return "code" in r ? r.code : "ok";
  });
  assert.is(codes.filter((c) => c === "bad-password").length, DEFAULT_GUARD.pairFree, "only 5 guesses checked");
  assert.is(desk.guard.failures, DEFAULT_GUARD.pairFree);
  const r = desk.verify("zed", right, ACCT, "127.0.0.2", clock.now());
  assert.is("code" in r && r.code, "rate-limited", "the right one too, while the source waits");
  // The owner, elsewhere, logs in at once.
  const own = attempt(desk, "127.0.0.9", clock.now());
  assert.ok("serverFinal" in desk.verify("zed", own.proof!, ACCT, "127.0.0.9", clock.now()));
});

test("row 7: strangers' wrong proofs never lock the owner out; under attack an unknown address solves a puzzle, a known one does not", () => {
  const desk = newDesk();
  const clock = new ManualClock();
  const owner = attempt(desk, "127.0.0.9", clock.now());
  assert.ok("serverFinal" in desk.verify("zed", owner.proof!, ACCT, "127.0.0.9", clock.now()), "the owner logs in once from home");
  // 40 attackers' addresses, 5 wrong proofs each, again and again over an hour.
  for (let round = 0; round < 4; round++) {
    for (let a = 0; a < 40; a++) {
      for (let i = 0; i < 5; i++) {
        const t = attempt(desk, `127.0.${a}.2`, clock.now(), false);
        if (t.proof) desk.verify("zed", t.proof, ACCT, `127.0.${a}.2`, clock.now());
      }
    }
    clock.advance(15 * MIN);
  }
  const home = attempt(desk, "127.0.0.9", clock.now());
  assert.not.match(home.serverFirst!, /w=/, "home: no puzzle");
  assert.ok("serverFinal" in desk.verify("zed", home.proof!, ACCT, "127.0.0.9", clock.now()));
  const away = attempt(desk, "127.0.0.10", clock.now());
  const bits = Number(/,w=(\d+)$/.exec(away.serverFirst!)?.[1]);
  assert.ok(bits >= FAST.baseBits && bits <= FAST.maxBits, away.serverFirst);
  assert.ok("serverFinal" in desk.verify("zed", away.proof!, ACCT, "127.0.0.10", clock.now()), "a new address, after its puzzle");
  // Without the work, or with a challenge fetched before the attack (no work asked), a proof is not even checked.
  const lazy = attempt(desk, "127.0.0.11", clock.now()).proof!.replace(/,w=[0-9a-z]+/, "");
  const r = desk.verify("zed", lazy, ACCT, "127.0.0.11", clock.now());
  assert.is("code" in r && r.code, "bad-password");
  assert.match((r as { message: string }).message, /proof of work/);
  const calm = newDesk();
  const early = attempt(calm, "127.0.0.12", clock.now());
  for (let a = 0; a < 10; a++) {
    const t = attempt(calm, `127.1.${a}.2`, clock.now(), false);
    calm.verify("zed", t.proof!, ACCT, `127.1.${a}.2`, clock.now());
  }
  const late = calm.verify("zed", early.proof!, ACCT, "127.0.0.12", clock.now());
  assert.is("code" in late && late.code, "rate-limited", "fetched before the attack: send auth again");
  assert.is(calm.guard.failures, 10);
});

test("row 8: a flood of 20,000 challenges from other addresses does not evict a login's challenge", () => {
  const desk = newDesk();
  const clock = new ManualClock();
  const legit = attempt(desk, "127.0.0.9", clock.now());
  for (let i = 0; i < 20_000; i++) desk.challenge({ verb: "auth", tag: "1", userName: "zed", nonce: `flood${i}xxxxxxxxxxxxxx` }, ACCT, `127.0.0.${2 + (i & 3)}`, clock.now());
  clock.advance(500);
  assert.ok("serverFinal" in desk.verify("zed", legit.proof!, ACCT, "127.0.0.9", clock.now()));
  assert.is(desk.challenges.answered, 1);
  const replay = desk.verify("zed", legit.proof!, ACCT, "127.0.0.9", clock.now());
  assert.is("code" in replay && replay.code, "bad-password", "one proof per challenge");
});

test.run();
