/**
 * The IRC listener's connection bounds (docs/IRC.md "The listener"), black
 * box: connections past the per-address budget are closed at once while
 * the ones admitted keep working. (Unread output is bounded by the same
 * code as the web listener's, tested there: on loopback the kernel buffers
 * tens of MB before any of it counts.) Every wait has a generous deadline;
 * nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freeTcpPort, removeTempDirs, startServer } from "../testing/harness.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";

async function register(c: Irc, nick: string): Promise<void> {
  c.send(`NICK ${nick}`);
  c.send(`USER ${nick} 0 * :${nick}`);
  await c.waitFor(/ 376 | 422 /);
}

test("past --web-connections-per-ip, an IRC connection is closed at once; the others keep working", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--web-connections-per-ip", "3", "--irc", `127.0.0.1:${port}`] });
  const clients: Irc[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await ircClient(port));
    const fourth = await ircClient(port);
    clients.push(fourth);
    await fourth.closed; // refused before a byte is read
    await register(clients[0], "first");
    clients[0].send("PING still-here");
    await clients[0].waitFor(/PONG \S+ :still-here/);
  } finally {
    for (const c of clients) c.end();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
