/**
 * The terminal client's accounts, direct messages and moderation (issue 13),
 * client.ts in pipe mode against two real servers: /register with
 * --password-file, a password login on the other server, a sealed /msg that
 * the peer reads and whose text is in no database file, notes to oneself
 * (plain, and sealed to one's own key), key fingerprints and
 * the warning when a key changes, /query, /me, /topic shown on join, /op,
 * /kick, /ban and its error on the banned client, /whois, and the notices.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { type ClientProc, startClient, until } from "./_client_proc.ts";

let srv: ServerHandle[] = [];
let file = "";
const clients: ClientProc[] = [];
let dir = "";
const WAIT = ["--wait-ms", "2000", "--scram-iterations", "4096"];

test.before(async () => {
  dir = tempDir("distchat-client-social-"); // here, not at load: other files' removeTempDirs() would take it
  file = (await makeCluster(["a", "b"])).file;
  srv = await Promise.all(["a", "b"].map((id) => startServer({ id, servers: file, extraArgs: ["--sync", "normal"] })));
});

test.after(async () => {
  for (const c of clients) c.kill();
  await Promise.all(srv.map((s) => s.stop()));
  removeTempDirs();
});

/** A client of `user` on the cluster, first server `first` (a or b). */
function client(user: string, first: "a" | "b", extra: string[] = []): ClientProc {
  // The client fails over along servers.txt from its top: a file that lists `first` first.
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => /^[ab] /.test(l));
  const mine = join(dir, `servers-${first}.txt`);
  writeFileSync(mine, [...lines.filter((l) => l.startsWith(first)), ...lines.filter((l) => !l.startsWith(first))].join("\n") + "\n");
  const c = startClient(["--user", user, "--servers", mine, "--known-keys", join(dir, `${user}.known`), ...WAIT, ...extra]);
  clients.push(c);
  return c;
}

function passwordFile(user: string, password: string): string {
  const f = join(dir, `${user}.pw`);
  writeFileSync(f, `${password}\n`, { mode: 0o600 });
  return f;
}

test("register, password login elsewhere, a sealed /msg read by its peer only, fingerprints, /query, /me", async () => {
  const alice = client("alice", "a", ["--password-file", passwordFile("alice", "alice secret")]);
  await alice.waitFor(/logged in as alice/);
  alice.send("/register");
  await alice.waitFor(/registered alice: .*fingerprint is [0-9a-f]{4} /);
  const bob = client("bob", "b", ["--password-file", passwordFile("bob", "bob secret")]);
  await bob.waitFor(/logged in as bob/);
  bob.send("/register");
  await bob.waitFor(/registered bob/);
  // alice again, now by password, on b.
  assert.is(await alice.end(), 0, alice.err());
  const alice2 = client("alice", "b", ["--password-file", passwordFile("alice", "alice secret")]);
  await alice2.waitFor(/logged in as alice on server b/);
  // Without the password the name is refused (pipe mode cannot ask).
  const thief = client("alice", "a");
  assert.ok((await thief.end()) !== 0);
  assert.match(thief.err(), /registered: log in with its password/);
  // A sealed DM, on the other server.
  alice2.send("/msg bob ~zq7dm~ the plan");
  await alice2.waitFor(/bob's key fingerprint: [0-9a-f ]{24} \(first seen/);
  await bob.waitFor(/direct message from alice/);
  await bob.waitFor(/\[@alice\] alice: \[sealed\] ~zq7dm~ the plan/);
  await bob.waitFor(/alice's key fingerprint/);
  bob.send("/query alice");
  await bob.waitFor(/you are typing to alice/);
  bob.send("got it");
  await alice2.waitFor(/\[@bob\] bob: \[sealed\] got it/);
  bob.send("/me nods");
  await alice2.waitFor(/\[@bob\] \* bob nods/);
  // No database file holds the text.
  await new Promise((r) => setTimeout(r, 300));
  for (const s of srv) {
    for (const f of readdirSync(dirname(s.db)).filter((n) => n.startsWith(`${s.id}.sqlite`))) {
      const bytes = readFileSync(join(dirname(s.db), f)).toString("latin1");
      assert.not.ok(bytes.includes("~zq7dm~") || bytes.includes("got it"), `${f} holds a DM's text`);
    }
  }
  // carol, unregistered: her DM to bob is plain, and she is told.
  const carol = client("carol", "a");
  await carol.waitFor(/logged in as carol/);
  carol.send("/msg bob plain hello");
  await carol.waitFor(/NOT sealed: you are not registered/);
  await bob.waitFor(/\[@carol\] carol: plain hello/);
  // Notes to oneself: the conversation with oneself, plain for carol, sealed to her own key for alice.
  carol.send("/msg carol a note to self");
  await carol.waitFor(/\[@carol\] carol: a note to self/);
  alice2.send("/msg alice ~zq8self~ my own note");
  await alice2.waitFor(/\[@alice\] alice: \[sealed\] ~zq8self~ my own note/);
  // /whois
  carol.send("/whois bob");
  await carol.waitFor(/\* bob: registered, logged in, idle \d+ s, key [0-9a-f ]{24}, no rooms in common/);
  // A new password must be typed in a terminal.
  bob.send("/password");
  await bob.waitFor(/a new password must be typed twice, hidden: change it in a terminal/);
  // bob drops his account and registers again (a new salt, so a new key): alice is warned.
  bob.send("/unregister");
  await bob.waitFor(/bob is no longer registered/);
  bob.send("/register");
  await until("bob registered again", () => (bob.err().match(/registered bob: /g) ?? []).length === 2);
  alice2.send("/whois bob");
  await alice2.waitFor(/WARNING: bob's key changed from [0-9a-f ]{24} to [0-9a-f ]{24}/);
  for (const c of [alice2, bob, carol]) assert.is(await c.end(), 0, c.err());
});

test("moderation from the terminal: topic on join, /op, /kick, /ban and the banned side's error, /mode, notices", async () => {
  const owner = client("ownie", "a", ["--room", "Hall"]);
  await owner.waitFor(/created Hall|joined Hall/);
  owner.send("/topic welcome to the hall");
  const mod = client("moddy", "b", ["--room", "hall"]);
  await mod.waitFor(/joined Hall/);
  await mod.waitFor(/topic of Hall: welcome to the hall \(set by ownie\)/);
  const troll = client("trolly", "b", ["--room", "hall"]);
  await troll.waitFor(/joined Hall/);
  troll.send("/kick moddy");
  await troll.waitFor(/cannot kick moddy in Hall: only the room's owner and operators may do that/);
  owner.send("/op moddy");
  await mod.waitFor(/\[Hall\] \* ownie made moddy an operator/);
  mod.send("/kick trolly flooding");
  await troll.waitFor(/you were kicked from Hall by moddy \(flooding\); \/join it again/);
  await owner.waitFor(/\[Hall\] \* moddy kicked trolly \(flooding\)/);
  troll.send("/join hall");
  await troll.waitFor(/joined Hall/);
  mod.send("/ban trolly again");
  await owner.waitFor(/\[Hall\] \* moddy banned trolly \(again\)/);
  await troll.waitFor(/banned from Hall/);
  troll.send("/join hall");
  await troll.waitFor(/cannot join hall: you are banned from Hall by moddy \(again\)$/m);
  owner.send("/mode +i");
  await mod.waitFor(/\[Hall\] \* ownie made the room invite-only/);
  owner.send("/mode");
  await owner.waitFor(/\* Hall: invite-only; roles: ~ownie @moddy !trolly/);
  owner.send("/me waves");
  await mod.waitFor(/\[Hall\] \* ownie waves/);
  for (const c of [owner, mod, troll]) assert.is(await c.end(), 0, c.err());
  assert.ok(mod.notices().some((l) => l === "[Hall] * trolly joined"), mod.notices().join("\n"));
});

test.run();
