/**
 * IRCv3 draft/account-registration over DistChat's `register`
 * (lib/irc/_register.ts): the front end computes the verifier (a proof job,
 * lib/ircd/proof_work.ts) and sends `register` for the session's own name;
 * refusals are FAIL REGISTER with the spec's codes and ask nothing of DistChat.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { clientFinal, clientFirst, serverFirst, verifierFromBase64, verifyClientFinal } from "../lib/accounts/scram.ts";
import { proofWork } from "../lib/ircd/proof_work.ts";
import type { Request } from "../lib/wire/messages.ts";
import { IrcScript } from "./_irc_script.ts";

type Register = Extract<Request, { verb: "register" }>;

test("REGISTER * * password: a verifier job, then `register` of the nick; 900 and REGISTER SUCCESS", () => {
  const s = new IrcScript();
  s.answers.register = (r) => ({ verb: "ok", tag: r.tag, kind: "register", userName: "bar" });
  s.register("bar", ["draft/account-registration"]);
  s.autoProve = false;
  s.send("REGISTER * * shivarampassphrase");
  assert.is(s.proofs.length, 1);
  const job = s.proofs[0];
  assert.ok("salt" in job && job.iterations === 600_000 && job.password === "shivarampassphrase", "the account's PBKDF2, off the event loop");
  assert.equal(s.asked.filter((r) => r.verb === "register"), [], "nothing registered before the verifier is computed");
  s.autoProve = true;
  s.take({ lines: [], requests: [], proofs: [], close: false, dmsTo: [], watch: [] });
  const reg = s.asked.find((r) => r.verb === "register") as Register;
  assert.equal(reg.verifier, { salt: "BwcHBwcHBwcHBwcHBwcHBw==", iterations: 600_000, storedKey: "c3RvcmVk", serverKey: "c2VydmVy" });
  assert.is(reg.publicKey, "-");
  assert.ok(!JSON.stringify(s.asked).includes("shivarampassphrase"), "the password never goes to DistChat");
  assert.equal(s.lines(), [
    ":a.distchat 900 bar bar!bar@distchat bar :You are now logged in as bar",
    ":a.distchat REGISTER SUCCESS bar :Account registered: log in with SASL (or PASS) from now on",
  ]);
  assert.is(s.c.state.account, "bar");
  s.send("REGISTER bar * anotherpassphrase");
  assert.match(s.lines()[0], /^:a\.distchat FAIL REGISTER ALREADY_AUTHENTICATED bar :/);
});

test("refusals: another name, an email, a short password, before connecting, DistChat's name-taken, a fourth attempt", () => {
  const s = new IrcScript();
  s.send("NICK bar").send("REGISTER * * shivarampassphrase");
  assert.match(s.lines()[0], /^:a\.distchat FAIL REGISTER COMPLETE_CONNECTION_REQUIRED \* :/, "not 451: the spec's code");
  s.send("USER bar 0 * :Bar");
  s.lines();
  const cases: [string, RegExp][] = [
    ["REGISTER foo * shivarampassphrase", /FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK foo :/],
    ["REGISTER * bar@example.com shivarampassphrase", /FAIL REGISTER UNACCEPTABLE_EMAIL bar :/],
    ["REGISTER * * short", /FAIL REGISTER WEAK_PASSWORD bar :.*8 characters/],
    ["REGISTER *", /FAIL REGISTER NEED_MORE_PARAMS :/],
    ["VERIFY bar 1234", /FAIL VERIFY INVALID_CODE bar :/],
  ];
  for (const [line, want] of cases) {
    s.send(line);
    assert.match(s.lines()[0], want, line);
  }
  assert.equal(s.asked.filter((r) => r.verb === "register"), [], "no refusal reached DistChat");
  assert.equal(s.proofs, []);
  s.answers.register = (r) => ({ verb: "error", tag: r.tag, code: "name-taken", message: "bar is registered already" });
  s.send("REGISTER BAR * shivarampassphrase");
  assert.equal(s.lines(), [":a.distchat FAIL REGISTER ACCOUNT_EXISTS bar :bar is registered already"]);
  assert.is(s.c.state.account, null);
  s.answers.register = (r) => ({ verb: "error", tag: r.tag, code: "rate-limited", message: "slow down" });
  s.send("REGISTER * * shivarampassphrase").send("REGISTER * * shivarampassphrase");
  assert.equal(s.lines().map((l) => l.split(" :")[0]), [":a.distchat FAIL REGISTER TEMPORARILY_UNAVAILABLE bar", ":a.distchat FAIL REGISTER TEMPORARILY_UNAVAILABLE bar"]);
  const asked = s.asked.length;
  s.send("REGISTER * * shivarampassphrase");
  assert.match(s.lines()[0], /FAIL REGISTER TEMPORARILY_UNAVAILABLE bar :At most 3 REGISTER attempts per connection/);
  assert.is(s.asked.length, asked, "the fourth computes nothing and asks nothing");
});

test("proofWork: a verifier job's keys are a verifier a SCRAM login passes with that password", async () => {
  const salt = "AwMDAwMDAwMDAwMDAwMDAw==";
  const keys = await proofWork({ id: 1, password: "correct horse", salt, iterations: 4096 });
  const [storedKey, serverKey] = keys!.split(" ");
  const v = verifierFromBase64({ salt, iterations: 4096, storedKey, serverKey });
  const first = clientFirst("alice", "clientnonce0123456789");
  const sf = serverFirst(first.bare, "servernonce0123456789", v).message;
  assert.ok(verifyClientFinal(v, first.bare, sf, (await clientFinal("correct horse", first.bare, sf))!.message).ok);
  assert.not.ok(verifyClientFinal(v, first.bare, sf, (await clientFinal("wrong horse", first.bare, sf))!.message).ok);
  assert.is(await proofWork({ id: 2, password: "x", salt: "not base64!", iterations: 4096 }), null);
  assert.is(await proofWork({ id: 3, password: "x", salt, iterations: 1 }), null, "too few rounds: null, no throw");
});

test.run();
