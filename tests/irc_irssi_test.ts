/**
 * A real IRC client on a DistChat cluster (docs/IRC.md "Clients"): irssi
 * (Debian's package) runs in tmux, driven with send-keys and read with
 * capture-pane. Its network lists both servers of a two-server cluster and
 * its password (PASS); it joins #lobby on server a and chats with a
 * terminal-protocol user on server b; a is killed; the terminal user writes
 * while irssi is away; irssi reconnects to b by itself, joins again, and
 * shows the missed lines once (the failover replay). Skipped, saying so,
 * where tmux or irssi is not installed. Every wait has a generous deadline;
 * nothing is timed.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";
import { freeTcpPort, lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { add, enter, login, readAll, within } from "../testing/cluster_ops.ts";

const PASSWORD = "ivy-password";
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** irssi's home: a network "dc" of both servers (the password given as PASS), #lobby joined at connect, reconnecting after 1 s. */
function irssiHome(dir: string, ports: number[]): string {
  const home = join(dir, "irssi");
  mkdirSync(home, { recursive: true });
  const servers = ports.map((p, i) => `  { address = "127.0.0.1"; chatnet = "dc"; port = "${p}"; password = "${PASSWORD}"; use_tls = "no"; autoconnect = "${i === 0 ? "yes" : "no"}"; }`);
  writeFileSync(
    join(home, "config"),
    `servers = (\n${servers.join(",\n")}\n);\n` +
      `chatnets = { dc = { type = "IRC"; nick = "ivy"; username = "ivy"; realname = "Ivy"; }; };\n` +
      `channels = ( { name = "#lobby"; chatnet = "dc"; autojoin = "yes"; } );\n` +
      `settings = { core = { nick = "ivy"; user_name = "ivy"; real_name = "Ivy"; server_reconnect_time = "1"; }; ` +
      `"fe-common/core" = { autocreate_windows = "yes"; }; };\n`,
  );
  return home;
}

const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });

test("irssi joins, chats, loses its server, reconnects to the next and shows the missed lines once", async () => {
  if (!has("tmux") || !has("irssi")) {
    console.log("  (skipped: tmux and irssi are needed: apt-get install tmux irssi)");
    return;
  }
  const dir = tempDir("distchat-irssi-");
  const { file } = await makeCluster(["a", "b"], dir);
  const ports = [await freeTcpPort(), await freeTcpPort()];
  const args = (p: number) => ["--quota", "logins-per-ip-minute=0", "--one-disk-acks", "--irc", `127.0.0.1:${p}`];
  const servers: ServerHandle[] = [];
  const udp = await udpClient();
  const session = `distchat-irssi-${process.pid}`;
  const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-2000", "-t", session).stdout ?? "";
  const waitFor = async (re: RegExp, what: string) => {
    const ok = await within(20_000, async () => re.test(screen()), 100);
    assert.ok(ok !== null, `${what}: not on irssi's screen within 20 s:\n${screen()}`);
  };
  try {
    servers.push(await startServer({ id: "a", servers: file, extraArgs: args(ports[0]) }));
    servers.push(await startServer({ id: "b", servers: file, extraArgs: args(ports[1]) }));
    const [a, b] = servers;
    const reg = await login(udp, a.clientAddr, "ivy");
    const w = verifierToBase64(await makeVerifier(PASSWORD, new Uint8Array(randomBytes(16)), 4096));
    assert.match(await udp.request(a.clientAddr, lines("register", "r1", reg, w.salt, w.iterations, w.storedKey, w.serverKey, "-")), /^ok\n/);
    await udp.request(a.clientAddr, lines("logout", "r2", reg));
    const bob = await login(udp, b.clientAddr, "bob");
    await enter(udp, b.clientAddr, bob, "lobby");

    const home = irssiHome(dir, ports);
    const started = tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", `TERM=screen irssi --home=${home}`);
    assert.is(started.status, 0, started.stderr);
    // the channel's window (2) once irssi has joined: its status bar names it
    const shown = await within(20_000, async () => {
      tmux("send-keys", "-t", session, "/window 2", "Enter");
      await new Promise((r) => setTimeout(r, 300));
      return /\[2:dc\/#lobby\]/.test(screen());
    }, 200);
    assert.ok(shown !== null, `irssi never showed #lobby:\n${screen()}`);
    await add(udp, b.clientAddr, bob, "lobby", "hello ivy from the terminal");
    await waitFor(/bob.*hello ivy from the terminal/, "bob's line");
    tmux("send-keys", "-t", session, "hi bob, irssi here", "Enter");
    const heard = await within(10_000, async () => (await readAll(udp, b.clientAddr, bob, "lobby")).msgs.includes("hi bob, irssi here"));
    assert.ok(heard !== null, "bob never read irssi's line");

    await a.kill9();
    await add(udp, b.clientAddr, bob, "lobby", "missed line one");
    await add(udp, b.clientAddr, bob, "lobby", "missed line two");
    await waitFor(/missed line two/, "the replay after reconnecting to b");
    await add(udp, b.clientAddr, bob, "lobby", "after the replay");
    await waitFor(/after the replay/, "a live line after the replay");
    const text = screen();
    for (const line of ["hello ivy from the terminal", "missed line one", "missed line two", "after the replay"]) {
      assert.is(text.split(line).length - 1, 1, `"${line}" shown ${text.split(line).length - 1} times:\n${text}`);
    }
  } finally {
    tmux("kill-session", "-t", session);
    await udp.close();
    for (const s of servers) await s.stop();
    removeTempDirs();
  }
});

test.run();
