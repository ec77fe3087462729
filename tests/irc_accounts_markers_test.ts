/**
 * IRC account registration, read markers and messages to oneself are
 * DistChat state, black box: a two-server cluster, each server with an IRC
 * listener. dora registers over IRC on server a (REGISTER), writes a note to
 * herself and a line in #notes, and marks it read (MARKREAD: her other
 * connection to a is told at once); then she logs in on server b with SASL: the account, the marker (told on JOIN) and the
 * conversation with herself (CHATHISTORY) are there. Every wait has a
 * generous deadline; nothing is timed.
 */
import { Buffer } from "node:buffer";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lines } from "../testing/harness.ts";
import { ircCluster } from "../testing/irc_cluster.ts";
import { login, within } from "../testing/cluster_ops.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";

const PASSWORD = "dora's passphrase";
const CAPS = "draft/account-registration draft/read-marker draft/chathistory batch message-tags server-time echo-message";

/** dora on `port`, logged in to her account with SASL PLAIN, with CAPS; after the end of the MOTD. */
async function saslClient(port: number): Promise<Irc> {
  const c = await ircClient(port);
  for (const l of [`CAP REQ :${CAPS} sasl`, "AUTHENTICATE PLAIN"]) c.send(l);
  await c.waitFor(/AUTHENTICATE \+$/);
  c.send(`AUTHENTICATE ${Buffer.from(`\0dora\0${PASSWORD}`).toString("base64")}`);
  await c.waitFor(/ 903 /);
  for (const l of ["NICK dora", "USER dora 0 * :Dora", "CAP END"]) c.send(l);
  await c.waitFor(/ 376 | 422 /);
  return c;
}

test("REGISTER, MARKREAD and a note to oneself made on one server are there on the other", async () => {
  const k = await ircCluster(["a", "b"]);
  const { udp, servers: [, b], ports: [pa, pb] } = k;
  try {
    const first = k.keep(await ircClient(pa));
    for (const l of [`CAP REQ :${CAPS}`, "NICK dora", "USER dora 0 * :Dora", "CAP END"]) first.send(l);
    await first.waitFor(/ 376 | 422 /);
    first.send(`REGISTER * * :${PASSWORD}`);
    await first.waitFor(/ 900 dora dora!dora@distchat dora /);
    await first.waitFor(/ REGISTER SUCCESS dora /);

    first.send("PRIVMSG dora :a note to myself");
    const [echo, delivery] = [await first.waitFor(/PRIVMSG dora :a note to myself$/), await first.waitFor(/PRIVMSG dora :a note to myself$/)];
    assert.is(echo, delivery, "the echo and the delivery: the same stored time and msgid");
    first.send("JOIN #notes");
    await first.waitFor(/ MARKREAD #notes \*$/);
    await first.waitFor(/ 366 dora #notes /);
    first.send("PRIVMSG #notes :read up to here");
    const line = await first.waitFor(/PRIVMSG #notes :read up to here$/);
    const time = /time=([^; ]+)/.exec(line)![1];
    // another connection of dora on the same server is told at once
    const other = k.keep(await saslClient(pa));
    first.send(`MARKREAD #notes timestamp=${time}`);
    const told = new RegExp(` MARKREAD #notes timestamp=${time.replaceAll(".", "\\.")}$`);
    await first.waitFor(told);
    await other.waitFor(told);

    // b knows the account once its register op arrived
    const watcher = await login(udp, b.clientAddr, "watcher");
    const known = await within(10_000, async () => /^ok\n.*\nwhois\ndora\n1\n/s.test(await udp.request(b.clientAddr, lines("whois", "w1", watcher, "dora"))));
    assert.ok(known !== null, "b learns dora's account");

    const second = k.keep(await saslClient(pb));
    // the marker may still be on its way from a: JOIN again until b has it
    const marked = await within(10_000, async () => {
      second.send("JOIN #notes");
      const m = await second.waitFor(/ MARKREAD #notes /);
      if (m.endsWith(`timestamp=${time}`)) return true;
      second.send("PART #notes");
      await second.waitFor(/ PART #notes/);
      return false;
    }, 200);
    assert.ok(marked !== null, "the read marker set on a is told on JOIN at b");
    second.send("CHATHISTORY LATEST dora * 10");
    await second.waitFor(/PRIVMSG dora :a note to myself$/);
  } finally {
    await k.stop();
  }
});

test.run();
