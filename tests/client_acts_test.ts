/**
 * The terminal client's commands on messages (lib/client/message_acts.ts),
 * two real clients on two real servers: /edit, /react, /reply (quoting),
 * /delete ("message deleted"), /search and /mentions; and how the lines read.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { login, within } from "../testing/cluster_ops.ts";
import { type ClientProc, startClient } from "./_client_proc.ts";
import { parseLine } from "../lib/client/commands.ts";
import { changeOf, MessageActions, mentions } from "../lib/client/message_acts.ts";
import { formatMessage } from "../lib/client/display.ts";

let srv: ServerHandle[] = [];
let file = "";
let dir = "";
const clients: ClientProc[] = [];

test.before(async () => {
  dir = tempDir("distchat-client-acts-");
  file = (await makeCluster(["a", "b"])).file;
  srv = await Promise.all(["a", "b"].map((id) => startServer({ id, servers: file, extraArgs: ["--sync", "normal"] })));
});

test.after(async () => {
  for (const c of clients) c.kill();
  await Promise.all(srv.map((s) => s.stop()));
  removeTempDirs();
});


/** Waits (at most 15 s) until `server` knows room `room` (`who` answers other than `no-room`). */
async function roomReached(server: ServerHandle, room: string): Promise<void> {
  const u = await udpClient();
  try {
    const token = await login(u, server.clientAddr, `probe${Date.now() % 100000}`);
    const there = await within(15_000, async () => !(await u.request(server.clientAddr, lines("who", `w${Date.now() % 100000}`, token, room))).startsWith("error\n"), 50);
    assert.ok(there !== null, `${room} never reached ${server.id}`);
  } finally {
    await u.close();
  }
}

function client(user: string, first: "a" | "b"): ClientProc {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => /^[ab] /.test(l));
  const mine = join(dir, `servers-${first}.txt`);
  writeFileSync(mine, [...lines.filter((l) => l.startsWith(first)), ...lines.filter((l) => !l.startsWith(first))].join("\n") + "\n");
  const c = startClient(["--user", user, "--servers", mine, "--room", "lobby", "--wait-ms", "2000"]);
  clients.push(c);
  return c;
}

test("commands: an optional message id first", () => {
  assert.equal(parseLine("/edit a.17 fixed it"), { kind: "edit", id: { origin: "a", n: 17 }, text: "fixed it" });
  assert.equal(parseLine("/edit fixed it"), { kind: "edit", id: null, text: "fixed it" });
  assert.equal(parseLine("/react 👍"), { kind: "react", id: null, text: "👍" });
  assert.equal(parseLine("/react b~k2.3 ok"), { kind: "react", id: { origin: "b~k2", n: 3 }, text: "ok" });
  assert.equal(parseLine("/delete"), { kind: "delete", id: null });
  assert.equal(parseLine("/search * quokka photo"), { kind: "search", text: "quokka photo", everywhere: true });
  assert.equal(parseLine("/reply a.2 sure"), { kind: "reply", id: { origin: "a", n: 2 }, text: "sure" });
  assert.equal(parseLine("/away lunch"), { kind: "away", text: "lunch" });
  assert.is(parseLine("/react two words").kind, "invalid");
  assert.is(parseLine("/edit").kind, "invalid");
});

test("act notices read as changes; mentions are whole names; edited, reactions and quotes on the line", () => {
  const e = (msg: string) => ({ msgId: { origin: "a", n: 9 }, userName: "bob", sentAt: 0, msg });
  assert.equal(changeOf(e("\u0001edit a.3 new text")), { kind: "edited", target: { origin: "a", n: 3 }, by: "bob", text: "new text" });
  assert.equal(changeOf(e("\u0001react a.3 👍=2,ok=1")), { kind: "reactions", target: { origin: "a", n: 3 }, by: "bob", reactions: [["👍", 2], ["ok", 1]] });
  assert.equal(changeOf(e("\u0001react a.3")), { kind: "reactions", target: { origin: "a", n: 3 }, by: "bob", reactions: [] });
  assert.equal(changeOf(e("\u0001del a.3")), { kind: "deleted", target: { origin: "a", n: 3 }, by: "bob" });
  assert.is(changeOf(e("\u0001me waves")), null);
  assert.ok(mentions("hi @Carl, look", "carl"));
  assert.not.ok(mentions("hi @carla", "carl"));
  assert.not.ok(mentions("mail carl@example.com", "carl"));
  const line = formatMessage("lobby", { ...e("the plan"), edited: true, reactions: [["👍", 2]], re: { origin: "a", n: 1 } }, { tty: false, color: false }, {
    kind: "plain",
    text: "the plan",
    quote: { user: "carl", text: "what\nplan?" },
  });
  assert.match(line, /\[lobby\] bob: \(re carl: "what plan\?"\) the plan \(edited\)  \[👍 2\]$/);
});

test("a sealed room is searched in what the client opened; the last own message is the default target", async () => {
  const out: string[] = [];
  const calls: unknown[] = [];
  const acts = new MessageActions({
    call: (build) => (calls.push(build("t", "tok")), Promise.resolve({ verb: "ok", tag: "t", kind: "act", groupName: "vault", action: "del", target: { origin: "a", n: 2 } })),
    ui: { output: (l) => out.push(l), error: (l) => out.push(`error: ${l}`), notice: () => {} },
    userName: "alice",
    seal: (_room, text) => Promise.resolve({ ok: true, text: `dc1:${text}` }),
  });
  const e = (n: number, userName: string, msg: string) => ({ msgId: { origin: "a", n }, userName, sentAt: 0, msg });
  acts.seen("vault", e(1, "bob", "dc1:x"), "The Quokka plan");
  acts.seen("vault", e(2, "alice", "dc1:y"), "no quokkas today");
  acts.seen("vault", e(3, "bob", "dc1:z"), "lunch?");
  assert.equal(acts.searchShown("QUOKKA", "vault").map((h) => h.msgId.n), [2, 1]);
  assert.match(out[0], /2 found among the messages opened here/);
  await acts.del("vault", null);
  await acts.edit("vault", null, "fixed");
  assert.equal(calls.map((c) => JSON.stringify([(c as { action: string }).action, (c as { target: { n: number } }).target.n, (c as { text: string }).text])), ['["del",2,""]', '["edit",2,"dc1:fixed"]']);
});

test("two terminal clients: edit, react, reply, mention, search, delete", async () => {
  const bob = client("bob", "a");
  await bob.waitFor(/logged in as bob/);
  // carl starts once lobby has reached b: started sooner, both clients could create lobby, one on each server (twin
  // rooms, which tests/twin_room_acts_test.ts covers). (Carl never seeing bob's edit was bob's client not showing its own
  // line yet when told to /edit: tests/own_unshown_test.ts.)
  await bob.waitFor(/(created|joined) lobby/);
  await roomReached(srv[1], "lobby");
  const carl = client("carl", "b");
  await carl.waitFor(/logged in as carl/);
  bob.send("teh plan for friday");
  await carl.waitFor(/\[lobby\] bob: teh plan for friday/);
  bob.send("/edit the plan for friday");
  await carl.waitFor(/\[lobby\] bob edited bob's message "teh plan for friday": the plan for friday/);
  carl.send("/react 👍");
  await bob.waitFor(/reactions to bob's message "the plan for friday": 👍 1/);
  carl.send("/reply sounds good");
  await bob.waitFor(/\[lobby\] carl: \(re bob: "the plan for friday"\) sounds good/);
  bob.send("@carl can you bring the quokka?");
  await carl.waitFor(/bob: @carl can you bring the quokka\?/);
  carl.send("/mentions");
  await carl.waitFor(/1 found, newest first:\n.*\[lobby\] \S+ bob: @carl can you bring the quokka\?/);
  carl.send("/search friday");
  await carl.waitFor(/\[lobby\] \S+ bob: the plan for friday/);
  bob.send("/delete");
  await carl.waitFor(/message deleted \(bob's message "@carl can you bring the quokka\?", by bob\)/);
  carl.send("/edit a.1 not mine");
  await carl.waitFor(/cannot edit a\.1: /);
  assert.is(await bob.end(), 0, bob.err());
  assert.is(await carl.end(), 0, carl.err());
});

test.run();
