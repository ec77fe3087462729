/**
 * Notice messages (docs/PROTOCOL.md "Notices": `\u0001notice TEXT`): an IRC
 * NOTICE is stored as one (lib/irc/_messaging.ts), every IRC reader gets it
 * as a NOTICE (channel, direct message, CHATHISTORY; lib/irc/render.ts), the
 * terminal and web show it as "-nick- TEXT" (lib/client/wording.ts), search
 * reads its words, and `add` still refuses other U+0001 texts. Black box: two
 * IRC users and a client-protocol user on a real server.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { isClientText, messageWords } from "../lib/wire/message_text.ts";
import { isServerNotice, noticeText } from "../lib/client/wording.ts";
import { freeTcpPort, removeTempDirs, startServer, udpClient } from "../testing/harness.ts";
import { type Irc, ircUser } from "../testing/irc_client.ts";
import { entry, IrcScript } from "./_irc_script.ts";

const untagged = (line: string) => line.replace(/^@\S+ /, "");
type Add = Extract<Request, { verb: "add" }>;

test("the text: \\u0001notice is a client's message (shown -nick-, searched by its words), not a server notice", () => {
  assert.ok(isClientText("\u0001notice hi") && isClientText("\u0001me waves") && isClientText("plain"));
  assert.not.ok(isClientText("\u0001join") || isClientText("\u0001noticeboard"));
  assert.is(messageWords("\u0001notice deploy done"), "deploy done");
  assert.is(messageWords("\u0001kick eve"), "");
  assert.is(noticeText("bob", "\u0001notice the build is green"), "-bob- the build is green");
  assert.not.ok(isServerNotice("\u0001notice hi"));
});

test("NOTICE to a channel and to a nick: add \\u0001notice; readers get NOTICE; ACTION stays an action", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const from = s.asked.length;
  s.send("NOTICE #lobby :build is green").send("NOTICE #lobby :\x01ACTION nods\x01");
  const adds = s.since(from).filter((r) => r.verb === "add") as Add[];
  assert.equal(adds.map((a) => a.msg), ["\u0001notice build is green", "\u0001me nods"]);
  s.poll("lobby", [
    entry("a", 1, "bob", "\u0001notice build is green"),
    entry("a", 2, "bob", "\u0001me nods"),
    entry("a", 3, "alice", "\u0001notice deploy at 5"),
    entry("a", 4, "alice", "a plain line"),
    entry("a", 5, "alice", "\u0001me waves"),
  ]);
  assert.equal(s.lines().map(untagged), [
    ":alice!alice@distchat NOTICE #lobby :deploy at 5",
    ":alice!alice@distchat PRIVMSG #lobby :a plain line",
    ":alice!alice@distchat PRIVMSG #lobby :\x01ACTION waves\x01",
  ], "bob's own lines are not shown again");
  const n = s.asked.length;
  s.send("NOTICE alice :psst");
  assert.is((s.since(n).find((r) => r.verb === "add") as Add).msg, "\u0001notice psst");
});

test("a real server: an IRC NOTICE reaches IRC users as NOTICE and client-protocol users as \\u0001notice; other U+0001 texts are refused", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const udp = await udpClient();
  const clients: Irc[] = [];
  try {
    const alice = await ircUser(port, "alice");
    const bob = await ircUser(port, "bob");
    clients.push(alice, bob);
    alice.send("JOIN #ops");
    await alice.waitFor(/ 366 alice #ops /);
    bob.send("JOIN #ops");
    await bob.waitFor(/ 366 bob #ops /);
    alice.send("NOTICE #ops :deploy at 5");
    await bob.waitFor(/^:alice!\S+ NOTICE #ops :deploy at 5$/);
    alice.send("NOTICE bob :just you");
    await bob.waitFor(/^:alice!\S+ NOTICE bob :just you$/);
    const token = (await udp.request(srv.clientAddr, "login\n1\ncarol\n")).split("\n")[4];
    await udp.request(srv.clientAddr, `connect\n2\n${token}\nops\n`);
    const page = await udp.request(srv.clientAddr, `history\n3\n${token}\nops\n10\n`);
    assert.ok(page.includes("\\u0001notice deploy at 5") || page.includes("\u0001notice deploy at 5"), page);
    const refused = await udp.request(srv.clientAddr, `add\n4\n${token}\n\u0001version\nops\n`);
    assert.match(refused, /^error\n4\nbad-request\n/);
    bob.send("PING still-up");
    await bob.waitFor(/PONG .*still-up/);
  } finally {
    for (const c of clients) c.end();
    await udp.close();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
