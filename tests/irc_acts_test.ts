/**
 * Issue 26's features over IRC (docs/IRC.md "Message actions", "Away and
 * typing"), black box over sockets against a real server: replies as
 * `+draft/reply`, reactions as `+draft/react` TAGMSG, deletions as REDACT
 * (draft/message-redaction), a terminal user's edit as a NOTICE, `+typing`
 * as DistChat typing, AWAY as DistChat away (away-notify, WHOIS). Every wait
 * has a generous deadline; nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freeTcpPort, removeTempDirs, startServer, udpClient } from "../testing/harness.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";

const CAPS = "message-tags server-time echo-message draft/message-redaction away-notify";

test("replies, reactions, deletions, edits, typing and away reach IRC users, and IRC users' reach DistChat", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const udp = await udpClient();
  const all: Irc[] = [];
  const connect = async (nick: string) => {
    const c = await ircClient(port);
    all.push(c);
    c.send(`CAP REQ :${CAPS}`);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick}`);
    c.send("CAP END");
    await c.waitFor(/ 376 | 422 /);
    c.send("JOIN #r");
    await c.waitFor(new RegExp(` 366 ${nick} #r `));
    return c;
  };
  try {
    const alice = await connect("alice");
    const bob = await connect("bob");
    const login = (await udp.request(srv.clientAddr, "login\n1\ncarol\n")).split("\n");
    const token = login[4];
    await udp.request(srv.clientAddr, `connect\n2\n${token}\nr\n`);

    alice.send("PRIVMSG #r :hello");
    const hello = await bob.waitFor(/ PRIVMSG #r :hello$/);
    const id = /msgid=([^; ]+)/.exec(hello)![1];

    // A reply: stored as a DistChat reply (history lists re=), shown to IRC users with +draft/reply.
    bob.send(`@+draft/reply=${id} PRIVMSG #r :hi alice`);
    assert.match(await alice.waitFor(/ PRIVMSG #r :hi alice$/), new RegExp(`\\+draft/reply=${id.replace(".", "\\.")}`));
    const history = await udp.request(srv.clientAddr, `history\n3\n${token}\nr\n10\n`);
    assert.match(history, new RegExp(`re=${id.replace(".", "\\.")}`));

    // A reaction: `act react`, told to others as TAGMSG +draft/react (and +draft/unreact when taken back).
    alice.send(`@+draft/react=lgtm;+draft/reply=${id} TAGMSG #r`);
    assert.match(await bob.waitFor(/ TAGMSG #r$/), new RegExp(`\\+draft/react=lgtm;\\+draft/reply=${id.replace(".", "\\.")}|\\+draft/reply=${id.replace(".", "\\.")};.*\\+draft/react=lgtm`));
    alice.send(`@+draft/react=lgtm;+draft/reply=${id} TAGMSG #r`);
    assert.match(await bob.waitFor(/ TAGMSG #r$/), /\+draft\/unreact=lgtm/);

    // Typing: +typing=active is DistChat's typing; others get it as a TAGMSG.
    alice.send("@+typing=active TAGMSG #r");
    assert.match(await bob.waitFor(/^@\S*\+typing=active\S* :alice!alice@distchat TAGMSG #r$/), /typing/);
    const typing = await udp.request(srv.clientAddr, `typing\n4\n${token}\nr\nidle\n\n`);
    assert.match(typing, /alice\ntyping/);

    // A terminal user's edit: a NOTICE from its author with the new text, replying to the message.
    const added = (await udp.request(srv.clientAddr, `add\n5\n${token}\nfirst try\nr\n`)).split("\n");
    await bob.waitFor(/ PRIVMSG #r :first try$/);
    const carolId = added.at(-2) ?? "";
    await udp.request(srv.clientAddr, `act\n6\n${token}\nr\nedit\n${carolId}\nsecond try\n`);
    assert.match(await bob.waitFor(/:carol!carol@distchat NOTICE #r :\[edited\] second try$/), new RegExp(`\\+draft/reply=${carolId.replace(".", "\\.")}`));

    // Away: said to DistChat (others see it), away-notify and WHOIS.
    alice.send("AWAY :lunch");
    await alice.waitFor(/ 306 alice /);
    await bob.waitFor(/^:alice!alice@distchat AWAY :lunch$/);
    const away = await udp.request(srv.clientAddr, `typing\n7\n${token}\nr\nidle\n\n`);
    assert.match(away, /alice\naway/);
    bob.send("WHOIS alice");
    await bob.waitFor(/ 301 bob alice :lunch$/);
    alice.send("AWAY");
    await bob.waitFor(/^:alice!alice@distchat AWAY$/);

    // A deletion: REDACT both ways (refusals first; a deletion truncates the write-ahead log, the slowest step here).
    bob.send(`REDACT #r ${carolId}`); // neither its author nor an operator
    assert.match(await bob.waitFor(/^:\S+ FAIL REDACT /), /REDACT_FORBIDDEN/);
    bob.send("REDACT #r a.999999");
    assert.match(await bob.waitFor(/^:\S+ FAIL REDACT /), /UNKNOWN_MSGID/);

    alice.send(`REDACT #r ${id}`);
    await bob.waitFor(new RegExp(`:alice!alice@distchat REDACT #r ${id.replace(".", "\\.")}$`));
  } finally {
    for (const c of all) c.end();
    await udp.close();
    await srv.stop();
    removeTempDirs();
  }
});

test("WHO with a mask lists this listener's users (invisible ones only to who shares a channel); an away user's JOIN comes with AWAY", async () => {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const all: Irc[] = [];
  const connect = async (nick: string) => {
    const c = await ircClient(port);
    all.push(c);
    c.send("CAP REQ :away-notify");
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick}`);
    c.send("CAP END");
    await c.waitFor(/ 376 | 422 /);
    return c;
  };
  try {
    const evan = await connect("evan");
    const eve = await connect("eve");
    const sam = await connect("sam");
    evan.send("MODE evan +i");
    await evan.waitFor(/ MODE evan :?\+i$/);
    sam.send("WHO ev*");
    assert.match(await sam.waitFor(/ 352 sam \* \S+ \S+ \S+ eve H /), /eve/);
    const end = await sam.waitFor(/ 315 sam ev\* /);
    assert.ok(!/evan/.test(end));
    sam.send("WHOIS eve");
    assert.match(await sam.waitFor(/ 317 sam eve /), / 317 sam eve \d+ \d+ :seconds idle, signon time$/);

    sam.send("JOIN #w");
    await sam.waitFor(/ 366 sam #w /);
    evan.send("AWAY :gone fishing");
    await evan.waitFor(/ 306 evan /);
    evan.send("JOIN #w");
    await sam.waitFor(/^:evan!evan@distchat JOIN #w$/);
    await sam.waitFor(/^:evan!evan@distchat AWAY :gone fishing$/);
    sam.send("WHO e*");
    await sam.waitFor(/ 352 sam \* \S+ \S+ \S+ evan G /); // shares #w now
  } finally {
    for (const c of all) c.end();
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
