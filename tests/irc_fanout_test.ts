/**
 * Many IRC connections in one channel of one server (black box over sockets):
 * the listener feeds them all from one shared stream of the room
 * (lib/ircd/feeds.ts). Each connection gets every line exactly once — those
 * who joined late from their join on, after the connection whose session
 * led the stream quit, and none after being kicked. Every wait has a
 * generous deadline; nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freeTcpPort, removeTempDirs, startServer } from "../testing/harness.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";

/** Waits (10 s at most) until `c` got a line matching `re`, leaving its lines in place (Irc.waitFor takes them). */
async function saw(c: Irc, re: RegExp): Promise<void> {
  const until = Date.now() + 10_000;
  while (!c.lines.some((l) => re.test(l))) {
    if (Date.now() > until) throw new Error(`no line matching ${re} within 10 s; got:\n${c.lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How many times `c` got line `i` of the channel. */
function count(c: Irc, i: number): number {
  return c.lines.filter((l) => l.endsWith(` PRIVMSG #fan :line ${i}`)).length;
}

test("many connections in one channel each get every line exactly once", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const all: Irc[] = [];
  const connect = async (nick: string, join = true) => {
    const c = await ircClient(port);
    all.push(c);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick}`);
    await c.waitFor(/ 376 | 422 /);
    if (join) {
      c.send("JOIN #fan");
      await c.waitFor(new RegExp(` 366 ${nick} #fan `));
    }
    return c;
  };
  try {
    const op = await connect("op"); // the first in the channel: its session leads the shared stream
    const early = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(`r${i}`)));
    const sender = await connect("sender");
    const say = async (from: number, to: number) => {
      for (let i = from; i < to; i++) sender.send(`PRIVMSG #fan :line ${i}`);
      await saw(early[0], new RegExp(` PRIVMSG #fan :line ${to - 1}$`));
    };
    await say(0, 10);
    const late = await Promise.all(Array.from({ length: 5 }, (_, i) => connect(`l${i}`)));
    op.send("KICK #fan r19 :out");
    await saw(early[0], / KICK #fan r19 :out$/);
    await say(10, 15);
    op.send("QUIT :bye"); // the stream's leader goes: another connection's session leads it
    await op.closed;
    await say(15, 30);
    sender.send("PRIVMSG #fan :end");
    for (const c of [...early.slice(0, 19), ...late]) await saw(c, / PRIVMSG #fan :end$/);

    for (const [k, c] of early.slice(0, 19).entries()) {
      for (let i = 0; i < 30; i++) assert.is(count(c, i), 1, `r${k} got line ${i} ${count(c, i)} times`);
    }
    for (const [k, c] of late.entries()) {
      for (let i = 0; i < 10; i++) assert.is(count(c, i), 0, `l${k} joined after line ${i} and got it (it is history, not the stream)`);
      for (let i = 10; i < 30; i++) assert.is(count(c, i), 1, `l${k} got line ${i} ${count(c, i)} times`);
    }
    const kicked = early[19];
    for (let i = 0; i < 10; i++) assert.is(count(kicked, i), 1);
    for (let i = 10; i < 30; i++) assert.is(count(kicked, i), 0, `r19 got line ${i} after its kick`);
    assert.ok(kicked.lines.some((l) => / KICK #fan r19 :out$/.test(l)));
  } finally {
    for (const c of all) c.end();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
