/**
 * MONITOR across a cluster (docs/IRC.md "Monitor"), black box: two servers,
 * each with an IRC listener. An IRC user on server a monitors bob and carol;
 * carol logs in over the terminal protocol at server b, bob over IRC at b:
 * a's user is told each came online (730), that bob went away (his AWAY in a
 * channel a's user is not in: extended-monitor over DistChat's presence), and
 * that each went offline (731) when they left; and dan, on a and in no
 * channel, going away and coming back (told by a's listener itself); and, on one
 * server, a terminal session that expires going offline. Every wait has a generous
 * deadline; nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freeTcpPort, lines, makeCluster, removeTempDirs, type ServerHandle, startServer, udpClient } from "../testing/harness.ts";
import { login } from "../testing/cluster_ops.ts";
import { type Irc, ircClient, ircUser, startIrcServer } from "../testing/irc_client.ts";

test("an IRC user on one server monitors users of another server, of either transport", async () => {
  const { file } = await makeCluster(["a", "b"]);
  const servers: ServerHandle[] = [];
  const clients: Irc[] = [];
  const udp = await udpClient();
  try {
    const a = await startIrcServer("a", file);
    servers.push(a.server);
    const b = await startIrcServer("b", file);
    servers.push(b.server);
    const [pa, pb] = [a.port, b.port];

    const watcher = await ircClient(pa);
    clients.push(watcher);
    watcher.send("CAP REQ :extended-monitor away-notify");
    watcher.send("NICK watcher");
    watcher.send("USER watcher 0 * :Watcher");
    watcher.send("CAP END");
    await watcher.waitFor(/ 376 | 422 /);
    watcher.send("MONITOR + bob,carol,dan");
    assert.match(await watcher.waitFor(/ 731 /), / 731 watcher :bob,carol,dan$/);

    const carol = await login(udp, b.server.clientAddr, "carol");
    assert.match(await watcher.waitFor(/ 73[01] /), / 730 watcher :carol!carol@distchat$/, "a terminal user on b is online");

    const bob = await ircUser(pb, "bob");
    clients.push(bob);
    assert.match(await watcher.waitFor(/ 73[01] /), / 730 watcher :bob!bob@distchat$/, "an IRC user on b is online");
    bob.send("JOIN #lobby");
    await bob.waitFor(/ 366 bob #lobby /);
    bob.send("AWAY :lunch");
    await bob.waitFor(/ 306 /);
    assert.match(await watcher.waitFor(/ AWAY/), /^:bob!bob@distchat AWAY :Away$/, "away, through DistChat's presence (its text stays on b)");

    // dan, on a, in no channel: DistChat has no room to say his away in; a's listener tells its own connections.
    const dan = await ircUser(pa, "dan");
    clients.push(dan);
    assert.match(await watcher.waitFor(/ 73[01] /), / 730 watcher :dan!dan@distchat$/);
    dan.send("AWAY :brb");
    assert.match(await watcher.waitFor(/ AWAY/), /^:dan!dan@distchat AWAY :brb$/, "a user of the same listener: with its text");
    dan.send("AWAY");
    assert.match(await watcher.waitFor(/ AWAY/), /^:dan!dan@distchat AWAY$/);
    watcher.send("MONITOR - dan");

    watcher.send("MONITOR S");
    const online = await watcher.waitFor(/ 730 /);
    assert.match(online, /bob!bob@distchat/);
    assert.match(online, /carol!carol@distchat/);

    bob.send("QUIT :bye");
    assert.match(await watcher.waitFor(/ 73[01] /), / 731 watcher :bob$/, "bob quit");
    assert.match(await udp.request(b.server.clientAddr, lines("logout", "l1", carol)), /^ok\n/);
    assert.match(await watcher.waitFor(/ 73[01] /), / 731 watcher :carol$/, "carol logged out");
    assert.equal(watcher.lines.filter((l) => / 73[01] /.test(l)), [], "each change told once");
  } finally {
    for (const c of clients) c.end();
    await udp.close();
    await Promise.all(servers.map((s) => s.stop()));
    removeTempDirs();
  }
});

test("a monitored session that expires goes offline (no logout: its idle lifetime passed)", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ ttl: 4, extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const udp = await udpClient();
  let watcher: Irc | null = null;
  try {
    watcher = await ircUser(port, "watcher"); // its own session stays alive: the connection keeps it so
    await login(udp, srv.clientAddr, "eve"); // and never says anything again
    watcher.send("MONITOR + eve");
    assert.match(await watcher.waitFor(/ 73[01] /), / 730 watcher :eve!eve@distchat$/);
    assert.match(await watcher.waitFor(/ 73[01] /), / 731 watcher :eve$/, "offline once its 4 s passed (within 10 s)");
  } finally {
    watcher?.end();
    await udp.close();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
