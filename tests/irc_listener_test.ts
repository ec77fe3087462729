/**
 * The IRC listener of a real DistChat server (`server.ts --irc`, black box
 * over sockets: lib/ircd/listener.ts hands IrcConnection's requests to the
 * server's own handlers in process). IRC users
 * and a terminal-protocol user share a room and direct messages; hostile
 * lines get their numerics or a disconnect, and the server and the front
 * end keep serving; --irc-tls serves the same over TLS. Every wait has a generous deadline; nothing is timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { freeTcpPort, removeTempDirs, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { parseServerFlags, webListenAddress } from "../lib/config/server_flags.ts";
import { within } from "../testing/cluster_ops.ts";
import { type Irc, ircClient } from "../testing/irc_client.ts";

const enc = new TextEncoder();

async function setUp() {
  const port = await freeTcpPort();
  const srv = await startServer({ extraArgs: ["--quota", "logins-per-ip-minute=0", "--irc", `127.0.0.1:${port}`] });
  const clients: Irc[] = [];
  const connect = async (nick: string) => {
    const c = await ircClient(port);
    clients.push(c);
    c.send(`NICK ${nick}`);
    c.send(`USER ${nick} 0 * :${nick}`);
    await c.waitFor(/ 376 | 422 /);
    return c;
  };
  const tearDown = async () => {
    for (const c of clients) c.end();
    await srv.stop();
    removeTempDirs();
  };
  return { srv, port, connect, tearDown };
}

test("IRC users and a terminal-protocol user share a room and direct messages", async () => {
  const t = await setUp();
  const udp = await udpClient();
  try {
    const alice = await t.connect("alice");
    const bob = await t.connect("bob");
    alice.send("JOIN #lobby");
    await alice.waitFor(/ 366 alice #lobby /);
    bob.send("JOIN #lobby");
    await bob.waitFor(/ 366 bob #lobby /);
    await alice.waitFor(/^:bob!bob@distchat JOIN #lobby$/);

    const login = (await udp.request(t.srv.clientAddr, "login\n1\ncarol\n")).split("\n");
    const token = login[4];
    await udp.request(t.srv.clientAddr, `connect\n2\n${token}\nlobby\n`);
    await udp.request(t.srv.clientAddr, `add\n3\n${token}\nhello from the terminal\\nsecond line\nlobby\n`);
    await alice.waitFor(/^:carol!carol@distchat PRIVMSG #lobby :hello from the terminal$/);
    await alice.waitFor(/^:carol!carol@distchat PRIVMSG #lobby :second line$/);

    bob.send("PRIVMSG #lobby :hi carol, from IRC");
    await alice.waitFor(/^:bob!bob@distchat PRIVMSG #lobby :hi carol, from IRC$/);
    const history = await udp.request(t.srv.clientAddr, `history\n4\n${token}\nlobby\n10\n`);
    assert.match(history, /\nbob\n\d+\nhi carol, from IRC\n/);

    bob.send("PRIVMSG alice :psst");
    await alice.waitFor(/^:bob!bob@distchat PRIVMSG alice :psst$/);
    await udp.request(t.srv.clientAddr, `add\n5\n${token}\nhi bob, directly\n@bob\n`);
    await bob.waitFor(/^:carol!carol@distchat PRIVMSG bob :hi bob, directly$/);

    bob.send("PART #lobby :bye");
    await alice.waitFor(/^:bob!bob@distchat PART #lobby :?bye$/); // the reason is stored with the leave
  } finally {
    await udp.close();
    await t.tearDown();
  }
});

test("hostile lines: numerics or a disconnect, never a crash; the server and the front end keep serving", async () => {
  const t = await setUp();
  try {
    const m = await t.connect("mallory");
    m.send("PRIVMSG #x :" + "a".repeat(700));
    await m.waitFor(/ 417 mallory /);
    m.send(new Uint8Array([...enc.encode("PRIVMSG mallory :nul\0here"), 13, 10]));
    await m.waitFor(/ FAIL PRIVMSG INVALID_LINE /);
    m.send(new Uint8Array([...enc.encode("PRIVMSG mallory :cr\rhere"), 13, 10]));
    await m.waitFor(/ FAIL \* INVALID_LINE /);
    m.send(new Uint8Array([...enc.encode("PRIVMSG mallory :bad "), 0xff, 0xfe, 13, 10]));
    await m.waitFor(/ FAIL PRIVMSG INVALID_UTF8 /);
    m.send("PRIVMSG mallory :\x01VERSION\x01");
    await m.waitFor(/ 404 mallory /);
    m.send(Array.from({ length: 10_000 }, (_, i) => `JOIN #chan${i}\r\n`).join(""));
    await m.waitFor(/ERROR :Closing link: Excess flood/);
    await m.closed;

    const e = await t.connect("eve");
    e.send(new Uint8Array(new Uint8Array(20_000).fill(0x61)));
    await e.waitFor(/Input line too long/);
    await e.closed;

    const ok = await t.connect("trent");
    ok.send("JOIN #after");
    await ok.waitFor(/ 366 trent #after /);
    ok.send("PING still-here");
    await ok.waitFor(/PONG \S+ :still-here/);
  } finally {
    await t.tearDown();
  }
});

test("--irc-tls: IRC over TLS with --tls-cert and --tls-key, no --web needed", async () => {
  const dir = tempDir("distchat-irc-tls-");
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert], { encoding: "utf8" });
  assert.is(made.status, 0, made.stderr);
  const [plain, secure] = [await freeTcpPort(), await freeTcpPort()];
  const srv = await startServer({ extraArgs: ["--irc", `127.0.0.1:${plain}`, "--irc-tls", `127.0.0.1:${secure}`, "--tls-cert", cert, "--tls-key", key] });
  const clients: Irc[] = [];
  try {
    // the startup line that says where IRC is follows the one startServer waited for
    const said = new RegExp(`IRC irc://127\\.0\\.0\\.1:${plain} ircs://127\\.0\\.0\\.1:${secure}`);
    assert.ok(await within(5000, async () => said.test(srv.stdout())) !== null, srv.stdout());
    for (const [nick, tls] of [["sam", true], ["pat", false]] as const) {
      const c = await ircClient(tls ? secure : plain, { tls });
      clients.push(c);
      c.send(`NICK ${nick}`);
      c.send(`USER ${nick} 0 * :${nick}`);
      await c.waitFor(/ 376 | 422 /);
      c.send("JOIN #secure");
      await c.waitFor(new RegExp(` 366 ${nick} #secure `));
    }
    clients[1].send("PRIVMSG #secure :over plain TCP");
    await clients[0].waitFor(/^:pat!\S+ PRIVMSG #secure :over plain TCP$/);
  } finally {
    for (const c of clients) c.end();
    await srv.stop();
    removeTempDirs();
  }
});

test("flags: --irc-tls needs the certificate; --tls-cert serves --irc-tls without --web; a bad --irc-name is refused", () => {
  assert.throws(() => parseServerFlags(["--id", "a", "--irc-tls", "127.0.0.1:6697"]), /--irc-tls needs --tls-cert FILE --tls-key FILE/);
  const f = parseServerFlags(["--id", "a", "--irc-tls", "127.0.0.1:6697", "--tls-cert", "c.pem", "--tls-key", "k.pem"]);
  assert.equal(webListenAddress(f, undefined), null);
  assert.is(f.ircName, "a.distchat");
  assert.equal(parseServerFlags(["--id", "a", "--irc", "127.0.0.1:6667"]).irc, { host: "127.0.0.1", port: 6667 });
  assert.throws(() => parseServerFlags(["--id", "a", "--irc-name", "no dots"]), /--irc-name no dots: give a server name/);
  assert.throws(() => webListenAddress(parseServerFlags(["--id", "a", "--tls-cert", "c.pem", "--tls-key", "k.pem"]), undefined), /--tls-cert needs --web/);
});

test.run();
