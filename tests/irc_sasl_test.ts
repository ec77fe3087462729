/**
 * SASL and PASS over DistChat accounts (lib/irc/_sasl.ts): the stand-in
 * DistChat answers `auth` and `login` with real SCRAM-SHA-256 (the server
 * side of lib/accounts/scram.ts), so PLAIN (the front end proves for the
 * client) and SCRAM-SHA-256 (the client proves, the front end relays) are
 * checked end to end.
 */
import { Buffer } from "node:buffer";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { clientFinal, clientFirst, makeVerifier, serverFirst, verifyClientFinal } from "../lib/accounts/scram.ts";
import type { Request } from "../lib/wire/messages.ts";
import { IrcScript } from "./_irc_script.ts";
import { proofWork } from "../lib/ircd/proof_work.ts";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
const code = (line: string) => line.split(" ")[1];

const verifier = await makeVerifier("correct horse", new Uint8Array(16).fill(3), 4096);

/** A stand-in whose accounts are {alice: "correct horse"}, with the challenge kept between auth and login. */
function withAccounts(s: IrcScript): void {
  let challenge: { bare: string; first: string } | null = null;
  s.answers.auth = (r) => {
    const a = r as Extract<Request, { verb: "auth" }>;
    const bare = `n=${a.userName},r=${a.nonce}`;
    const first = serverFirst(bare, "SERVERNONCE0123456789", verifier).message;
    challenge = { bare, first };
    return { verb: "ok", tag: r.tag, kind: "auth", userName: a.userName, serverFirst: first };
  };
  s.answers.login = (r) => {
    const l = r as Extract<Request, { verb: "login" }>;
    if (l.proof === undefined) {
      return l.userName === "alice"
        ? { verb: "error", tag: r.tag, code: "name-taken", message: "alice is registered" }
        : { verb: "ok", tag: r.tag, kind: "login", userName: l.userName, token: "P".repeat(43), ttl: 300 };
    }
    const v = challenge && l.userName === "alice" ? verifyClientFinal(verifier, challenge.bare, challenge.first, l.proof) : { ok: false as const };
    challenge = null;
    if (!v.ok) return { verb: "error", tag: r.tag, code: "bad-password", message: "wrong user name or password" };
    return { verb: "ok", tag: r.tag, kind: "login", userName: "alice", token: "A".repeat(43), ttl: 300, serverFinal: v.serverFinal };
  };
}

test("SASL PLAIN: the front end proves the password with SCRAM, then 900 and 903; registration logs in no more", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("CAP LS 302").send("CAP REQ :sasl").send("NICK someone").send("USER a 0 * :Alice");
  s.send("AUTHENTICATE PLAIN");
  assert.equal(s.lines().slice(-1), [":a.distchat AUTHENTICATE +"]);
  s.send(`AUTHENTICATE ${b64("\0alice\0correct horse")}`);
  assert.equal(s.asked.map((r) => r.verb), ["auth", "login"]);
  assert.ok(!JSON.stringify(s.asked).includes("correct horse"), "the password never goes to DistChat");
  const lines = s.lines();
  assert.equal(lines.map(code), ["900", "903"]);
  assert.is(lines[0], ":a.distchat 900 someone someone!someone@distchat alice :You are now logged in as alice");
  s.send("CAP END");
  assert.equal(s.asked.map((r) => r.verb), ["auth", "login", "dms"], "no second login");
  const welcome = s.lines();
  assert.is(welcome[0], ":a.distchat 001 alice :Welcome to the DistChat IRC network, alice!alice@distchat", "the nick is the account's");
  assert.is(s.c.state.account, "alice");
});

test("SASL PLAIN with a wrong password: 904, and registration can go on without it", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("CAP REQ :sasl").send("NICK bob").send("USER b 0 * :B");
  s.send("AUTHENTICATE PLAIN").send(`AUTHENTICATE ${b64("alice\0alice\0wrong")}`);
  assert.equal(s.lines().map(code), ["CAP", "AUTHENTICATE", "904"]);
  s.send("CAP END");
  assert.is(code(s.lines()[0]), "001");
  assert.is(s.c.state.account, null);
});

test("SASL SCRAM-SHA-256: relayed to auth and login; the client checks the server's signature", async () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("CAP REQ :sasl").send("NICK alice").send("USER a 0 * :A").send("AUTHENTICATE SCRAM-SHA-256");
  assert.equal(s.lines().slice(-1), [":a.distchat AUTHENTICATE +"]);
  const first = clientFirst("alice", "clientnonce0123456789abc");
  s.send(`AUTHENTICATE ${b64(first.message)}`);
  assert.equal(s.asked.at(-1), { verb: "auth", tag: s.asked.at(-1)!.tag, userName: "alice", nonce: "clientnonce0123456789abc" });
  const serverFirstLine = s.lines()[0];
  assert.match(serverFirstLine, /^:a\.distchat AUTHENTICATE :?[A-Za-z0-9+/=]+$/);
  const sf = unb64(serverFirstLine.split(" ").at(-1)!.replace(/^:/, ""));
  const final = (await clientFinal("correct horse", first.bare, sf))!;
  s.send(`AUTHENTICATE ${b64(final.message)}`);
  const sfinal = s.lines()[0];
  assert.is(unb64(sfinal.split(" ").at(-1)!.replace(/^:/, "")), final.serverSignature, "server-final proves the verifier");
  s.send("AUTHENTICATE +");
  assert.equal(s.lines().map(code), ["900", "903"]);
  s.send("CAP END");
  assert.is(code(s.lines()[0]), "001");
  assert.is(s.c.state.account, "alice");
});

test("SASL refusals: unknown mechanism (908, 904), abort (906), too long (905), malformed (904), twice (907)", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("CAP REQ :sasl").lines();
  s.send("AUTHENTICATE EXTERNAL");
  assert.equal(s.lines().map(code), ["908", "904"]);
  s.send("AUTHENTICATE PLAIN").send("AUTHENTICATE *");
  assert.equal(s.lines().map(code), ["AUTHENTICATE", "906"]);
  s.send("AUTHENTICATE PLAIN").send("AUTHENTICATE " + "A".repeat(401));
  assert.equal(s.lines().map(code), ["AUTHENTICATE", "905"]);
  s.send("AUTHENTICATE SCRAM-SHA-256").send(`AUTHENTICATE ${b64("n,,n=alice,r=short")}`);
  assert.equal(s.lines().map(code), ["AUTHENTICATE", "904"], "a nonce DistChat would refuse");
  s.send("AUTHENTICATE PLAIN").send("AUTHENTICATE !!!!");
  assert.equal(s.lines().map(code), ["AUTHENTICATE", "904"]);
  s.send("AUTHENTICATE PLAIN").send(`AUTHENTICATE ${b64("\0alice\0correct horse")}`);
  assert.equal(s.lines().map(code), ["AUTHENTICATE", "900", "903"]);
  s.send("AUTHENTICATE PLAIN");
  assert.equal(s.lines().map(code), ["907"]);
});

test("CAP END during an exchange that waits for the client aborts it (906) and registers without an account", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("CAP LS 302").send("AUTHENTICATE PLAIN").send("NICK foo").send("USER foo 0 * :foo").send("CAP END");
  const lines = s.lines();
  assert.ok(lines.some((l) => code(l) === "906"));
  assert.is(code(lines.find((l) => code(l) === "001")!), "001");
  assert.is(s.c.state.account, null);
});

test("SASL after registration: 900, 903, then the connection moves to the account's session (NICK, channels rejoined, the old session logs out)", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.joined("bob", "#lobby", ["sasl"]);
  const from = s.asked.length;
  s.send("AUTHENTICATE PLAIN");
  assert.equal(s.lines(), [":a.distchat AUTHENTICATE +"]);
  s.send(`AUTHENTICATE ${b64("\0alice\0wrong")}`);
  assert.equal(s.lines().map(code), ["904"]);
  assert.is(s.c.state.nick, "bob", "a failed exchange changes nothing");
  s.send("AUTHENTICATE PLAIN").send(`AUTHENTICATE ${b64("\0alice\0correct horse")}`);
  const lines = s.lines();
  assert.equal(lines.slice(1, 4), [
    ":a.distchat 900 bob bob!bob@distchat alice :You are now logged in as alice",
    ":a.distchat 903 bob :SASL authentication successful",
    ":bob!bob@distchat NICK alice",
  ]);
  assert.equal([s.c.state.nick, s.c.state.account, s.c.state.token], ["alice", "alice", "A".repeat(43)]);
  const verbs = s.since(from).map((r) => r.verb);
  assert.ok(verbs.includes("logout"), "the old session logs out");
  assert.ok(s.since(from).some((r) => r.verb === "connect" && (r as { groupName: string }).groupName === "lobby"), "the new session joins the channel");
  s.send("AUTHENTICATE PLAIN");
  assert.equal(s.lines(), [":a.distchat AUTHENTICATE +"], "and may authenticate again");
});

test("a long PLAIN message in 400-byte chunks", () => {
  const s = new IrcScript();
  withAccounts(s);
  const password = "correct horse";
  const padded = b64("\0alice\0" + password);
  s.send("CAP REQ :sasl").send("AUTHENTICATE PLAIN").lines();
  // 400 characters exactly means "more follows": feed a message that needs two chunks
  const long = b64("\0alice\0" + "x".repeat(400));
  s.send(`AUTHENTICATE ${long.slice(0, 400)}`);
  assert.equal(s.lines(), [], "waits for the rest");
  s.send(`AUTHENTICATE ${long.slice(400)}`);
  assert.equal(s.lines().map(code), ["904"], "decoded whole (and wrong)");
  assert.ok(padded.length < 400);
});

test("PASS with a registered nick logs in with the password; a wrong one is 464 and closes", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("PASS :correct horse").send("NICK alice").send("USER a 0 * :A");
  assert.equal(s.asked.map((r) => r.verb), ["auth", "login", "dms"]);
  assert.is(code(s.lines()[0]), "001");
  assert.is(s.c.state.account, "alice");

  const t = new IrcScript();
  withAccounts(t);
  t.send("PASS wrong").send("NICK alice").send("USER a 0 * :A");
  assert.equal(t.asked.map((r) => r.verb), ["auth", "login", "login"], "then the plain login says the name is registered");
  assert.equal(t.lines().map(code), ["464", "ERROR"]);
  assert.ok(t.closed);
});

test("PASS with an unregistered nick: an ordinary login (as the terminal client does)", () => {
  const s = new IrcScript();
  withAccounts(s);
  s.send("PASS whatever").send("NICK bob").send("USER b 0 * :B");
  assert.is(code(s.lines()[0]), "001");
  assert.is(s.c.state.account, null);
});

test("the PBKDF2 of PLAIN is a job for the caller, and the exchange waits for it", async () => {
  const s = new IrcScript();
  withAccounts(s);
  s.autoProve = false;
  s.send("CAP REQ :sasl").send("AUTHENTICATE PLAIN").send(`AUTHENTICATE ${b64("\0alice\0correct horse")}`);
  assert.equal(s.asked.map((r) => r.verb), ["auth"]);
  assert.is(s.proofs.length, 1);
  assert.is(s.proofs[0].password, "correct horse");
  const job = s.proofs.splice(0)[0];
  if ("oper" in job) throw new Error("a SCRAM proof was expected");
  s.take(s.c.proved(job.id, await proofWork(job), s.now));
  assert.equal(s.lines().slice(-2).map(code), ["900", "903"]);
});

test.run();
