/**
 * Failover for IRC users (docs/IRC.md "Failover"), black box: a two-server
 * cluster, each server with an IRC listener. An IRC user logged in with its
 * password (PASS) is in a channel on server a, a terminal-protocol user on
 * server b writes; a is killed; b's user writes more; the IRC user
 * reconnects to b and joins again: the lines it missed are replayed once,
 * with their own server-time and msgid, and nothing it had seen comes again.
 * Then it reconnects once more (a clean disconnect this time): nothing is
 * replayed twice. Every wait has a generous deadline; nothing is timed.
 */
import { randomBytes } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { lines } from "../testing/harness.ts";
import { ircCluster } from "../testing/irc_cluster.ts";
import { add, askState, connectWhenThere, enter, login, within } from "../testing/cluster_ops.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";
import { covers, parseVectorText } from "../lib/wire/vector.ts";

const PASSWORD = "alice's password";

/** Connects to `port` as alice with her password, asking for server-time and message-tags. */
async function aliceAt(port: number): Promise<Irc> {
  const c = await ircClient(port);
  c.send("CAP LS 302");
  c.send("CAP REQ :server-time message-tags");
  c.send(`PASS :${PASSWORD}`);
  c.send("NICK alice");
  c.send("USER alice 0 * :Alice");
  c.send("CAP END");
  await c.waitFor(/ 376 | 422 /);
  return c;
}

test("a reconnected IRC user is given what it missed while its server was down, once", async () => {
  const k = await ircCluster(["a", "b"]);
  const { udp, servers: [a, b], ports: [pa, pb] } = k;
  try {
    // alice's account, registered over the client protocol (4096 rounds: quick proofs)
    const reg = await login(udp, a.clientAddr, "alice");
    const w = verifierToBase64(await makeVerifier(PASSWORD, new Uint8Array(randomBytes(16)), 4096));
    assert.match(await udp.request(a.clientAddr, lines("register", "r1", reg, w.salt, w.iterations, w.storedKey, w.serverKey, "-")), /^ok\n/);
    await udp.request(a.clientAddr, lines("logout", "r2", reg));

    const first = await aliceAt(pa);
    k.keep(first);
    first.send("JOIN #lobby");
    await first.waitFor(/ 366 alice #lobby /);
    const bob = await login(udp, b.clientAddr, "bob");
    await connectWhenThere(udp, b.clientAddr, bob, "lobby");
    await add(udp, b.clientAddr, bob, "lobby", "seen before the crash");
    await first.waitFor(/PRIVMSG #lobby :seen before the crash$/);
    // b has heard a's vector with that message in it (a heartbeat): a's readers had it
    const heard = await within(10_000, async () => {
      const s = await askState(udp, b.peerAddr);
      return s !== null && s.peers.a !== undefined && covers(parseVectorText(s.peers.a.vector), parseVectorText(s.vector));
    });
    assert.ok(heard !== null, `b never heard a's vector: ${JSON.stringify(await askState(udp, b.peerAddr))}`);

    await a.kill9();
    const missed = [await add(udp, b.clientAddr, bob, "lobby", "missed one"), await add(udp, b.clientAddr, bob, "lobby", "missed two")];

    const second = await aliceAt(pb);
    k.keep(second);
    second.send("JOIN #lobby");
    await second.waitFor(/ 366 alice #lobby /);
    const one = await second.waitFor(/PRIVMSG #lobby :missed one$/);
    const two = await second.waitFor(/PRIVMSG #lobby :missed two$/);
    assert.match(one, new RegExp(`^@.*msgid=${missed[0].replace(".", "\\.")}`));
    assert.match(one, /time=20\d\d-/);
    assert.match(two, new RegExp(`msgid=${missed[1].replace(".", "\\.")}`));
    // a line after the replay comes once, and nothing before it came again
    await add(udp, b.clientAddr, bob, "lobby", "live again");
    await second.waitFor(/PRIVMSG #lobby :live again$/);
    const all = second.lines.join("\n") + "\n" + [one, two].join("\n");
    assert.not.match(all, /seen before the crash/);
    assert.is(all.split("missed one").length - 1, 1);

    // a clean disconnect, then back to b: nothing replayed again
    second.send("QUIT :bye");
    await second.closed;
    await add(udp, b.clientAddr, bob, "lobby", "while away again");
    const third = await aliceAt(pb);
    k.keep(third);
    third.send("JOIN #lobby");
    await third.waitFor(/ 366 alice #lobby /);
    await third.waitFor(/PRIVMSG #lobby :while away again$/);
    await add(udp, b.clientAddr, bob, "lobby", "the end");
    await third.waitFor(/PRIVMSG #lobby :the end$/);
    assert.not.match(third.lines.join("\n"), /missed|live again|seen before/);
  } finally {
    await k.stop();
  }
});

test.run();
