/**
 * IRC operators on a real server (`server.ts --irc … --irc-opers FILE`,
 * black box over sockets): OPER against the file's verifier, WALLOPS to
 * the listener's +w users only, WHOIS and LUSERS showing the operator, KILL
 * closing another connection (whose nick WHOWAS then remembers), and a
 * bad operators file stopping the server with one line naming it. Every
 * wait has a generous deadline; nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeTcpPort, removeTempDirs, startServer, tempDir } from "../testing/harness.ts";
import { type Irc, ircUser } from "../testing/irc_client.ts";
import { operLine } from "../lib/config/irc_opers.ts";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";

/** Waits until `c` has answered a PING sent now: every line sent to it before is in `c.lines`. */
async function synced(c: Irc, token: string): Promise<string[]> {
  const before = [...c.lines];
  c.send(`PING ${token}`);
  await c.waitFor(new RegExp(`PONG .*${token}$`));
  return before;
}

test("OPER from the operators file; WALLOPS to +w users; WHOIS 313 and LUSERS; KILL, then WHOWAS", async () => {
  const file = join(tempDir(), "opers.txt");
  writeFileSync(file, operLine("root", verifierToBase64(await makeVerifier("hunter2", new Uint8Array(16).fill(9), 4096))) + "\n");
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`, "--irc-opers", file] });
  const clients: Irc[] = [];
  try {
    const op = await ircUser(port, "ircop"), alice = await ircUser(port, "alice"), bob = await ircUser(port, "bob");
    clients.push(op, alice, bob);
    op.send("OPER root wrong");
    await op.waitFor(/ 464 ircop :Password incorrect$/);
    op.send("KILL alice :no");
    await op.waitFor(/ 481 ircop /);
    op.send("OPER root hunter2");
    await op.waitFor(/ 381 ircop /);
    await op.waitFor(/^:ircop!ircop@distchat MODE ircop \+o$/);

    bob.send("MODE bob +w");
    await bob.waitFor(/MODE bob \+w$/);
    op.send("WALLOPS :maintenance at noon");
    await bob.waitFor(/^:ircop!ircop@distchat WALLOPS :?maintenance at noon$/);
    assert.not.ok((await synced(alice, "a1")).some((l) => l.includes("WALLOPS")), "no WALLOPS without +w");

    alice.send("WHOIS ircop");
    await alice.waitFor(/ 313 alice ircop :is an IRC operator$/);
    alice.send("LUSERS");
    await alice.waitFor(/ 252 alice 1 :operator\(s\) online$/);

    op.send("KILL alice :enough");
    await alice.waitFor(/ ERROR :Closing link: Killed \(ircop \(enough\)\)$/);
    await alice.closed;
    op.send("WHOWAS alice");
    await op.waitFor(/ 314 ircop alice alice distchat \* :alice$/);
    await op.waitFor(/ 369 ircop alice /);
    bob.send("WHOIS alice");
    await bob.waitFor(/ 401 bob alice /);
  } finally {
    for (const c of clients) c.end();
    await srv.stop();
    removeTempDirs();
  }
});

test("a bad operators file stops the server with one line naming it", async () => {
  const file = join(tempDir(), "opers.txt");
  writeFileSync(file, "root hunter2\n");
  const port = await freeTcpPort();
  try {
    await startServer({ extraArgs: ["--irc", `127.0.0.1:${port}`, "--irc-opers", file], readyTimeoutMs: 20_000 });
    assert.unreachable("the server started");
  } catch (e) {
    assert.match((e as Error).message, `${file} line 1: the password field is not a SCRAM-SHA-256 verifier`);
  } finally {
    removeTempDirs();
  }
});

test.run();
