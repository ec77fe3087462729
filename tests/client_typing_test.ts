/**
 * Who is typing, in the terminal client (issue 26): the words (one home,
 * lib/client/wording.ts, the page's too); a dim line above the prompt in a
 * terminal, for the current room only, gone once nobody types; a status
 * line in pipe mode each time someone starts; a message from a typist ends
 * their "typing" at once; the loop says `typing` while the user types and
 * `idle` when a line is sent; and over a real server, a pipe client is told
 * that another session is typing in its room.
 */
import { PassThrough } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { presenceWords } from "../lib/client/wording.ts";
import { openTerminal } from "../lib/client/terminal.ts";
import { presenceLoop } from "../lib/client/presence_loop.ts";
import { MessageActions } from "../lib/client/message_acts.ts";
import type { PresenceEntry, Reply } from "../lib/wire/messages.ts";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { connectWhenThere, login, tag } from "../testing/cluster_ops.ts";
import { fakeTty } from "./_fake_tty.ts";
import { type ClientProc, startClient, until } from "./_client_proc.ts";

const servers: ServerHandle[] = [];
const clients: ClientProc[] = [];

test.after(async () => {
  for (const c of clients) c.kill();
  for (const s of servers) await s.stop();
  removeTempDirs();
});

test("the words: nobody, one, two, three; typing and away together", () => {
  assert.is(presenceWords([]), "");
  assert.is(presenceWords([{ userName: "bob", state: "typing" }]), "bob is typing…");
  assert.is(presenceWords([{ userName: "bob", state: "typing" }, { userName: "carl", state: "typing" }]), "bob and carl are typing…");
  assert.is(presenceWords(["a", "b", "c"].map((u) => ({ userName: u, state: "typing" }))), "a, b and c are typing…");
  assert.is(presenceWords([{ userName: "bob", state: "typing" }, { userName: "dave", state: "away" }]), "bob is typing… · dave is away");
});

test("terminal: a line above the prompt for the current room, redrawn with the output, gone when nobody types; typingNow follows the keys", async () => {
  const input = fakeTty();
  const output = Object.assign(new PassThrough(), { columns: 80 });
  let shown = "";
  output.setEncoding("utf8").on("data", (d: string) => (shown += d));
  const term = openTerminal({ input, output, errors: output, tty: true, color: false });
  term.onLine(() => {}, () => {});
  term.currentRoom("lobby");
  /** What the last redraw drew: the lines above the prompt (cleared first), then the prompt (cleared first too). */
  const screen = () => shown.split("\x1b[0J").slice(-2).join("");
  try {
    term.typing("annex", "carl is typing…");
    assert.not.match(shown, /carl is typing/, "another room's typing is not shown");
    term.typing("lobby", "bob is typing…");
    assert.match(screen(), /bob is typing…\n.*lobby> /, "above the prompt");
    term.message("lobby", { msgId: { origin: "a", n: 1 }, userName: "dave", sentAt: 0, msg: "hi" });
    assert.match(screen(), /dave: hi\nbob is typing…\n/, "kept under the new output");
    term.typing("lobby", "");
    term.notice("later");
    assert.not.match(screen(), /typing/, "gone once nobody types");
    term.typing("lobby", "bob is typing…");
    term.currentRoom("annex");
    term.notice("in annex");
    assert.not.match(screen(), /typing/, "another room: not shown");
    assert.not.ok(term.typingNow(), "no key yet");
    input.write("dra");
    await until("keys read", () => term.typingNow(), 2000);
  } finally {
    term.close();
  }
});

test("pipe mode: a status line when someone starts typing, once per change, only for the current room", () => {
  const output = new PassThrough();
  const errors = new PassThrough();
  let said = "";
  errors.setEncoding("utf8").on("data", (d: string) => (said += d));
  const term = openTerminal({ input: new PassThrough(), output, errors, tty: false, color: false });
  term.currentRoom("lobby");
  term.typing("lobby", "bob is typing…");
  term.typing("lobby", "bob is typing…");
  term.typing("annex", "carl is typing…");
  term.typing("lobby", "");
  term.typing("lobby", "bob and carl are typing…");
  assert.is(said, "* [lobby] bob is typing…\n* [lobby] bob and carl are typing…\n");
  term.close();
});

test("a message from a typist ends their typing at once; others keep theirs", async () => {
  const told: PresenceEntry[][] = [];
  const acts = new MessageActions({
    call: () => Promise.resolve({ verb: "ok", tag: "1", kind: "typing", groupName: "lobby", states: [{ userName: "bob", state: "typing" }, { userName: "carl", state: "typing" }, { userName: "dave", state: "away" }] } as Reply),
    ui: { output: () => {}, error: () => {}, notice: () => {}, presence: (_room, states) => void told.push(states) },
    userName: "alice",
    seal: (_room, text) => Promise.resolve({ ok: true as const, text }),
  });
  await acts.presence("lobby", "idle");
  acts.seen("lobby", { msgId: { origin: "a", n: 1 }, userName: "Bob", sentAt: 0, msg: "done" }, "done");
  acts.seen("lobby", { msgId: { origin: "a", n: 2 }, userName: "dave", sentAt: 0, msg: "back soon" }, "back soon");
  assert.equal(told.map((t) => presenceWords(t)), ["bob and carl are typing… · dave is away", "carl is typing… · dave is away"]);
});

test("the loop: typing while the user types, idle otherwise, idle at once after a line is sent", async () => {
  const said: string[] = [];
  let typing = true;
  const loop = presenceLoop({ everyMs: 20, room: () => "lobby", typing: () => typing, say: (room, state) => (said.push(`${room} ${state}`), Promise.resolve()) });
  try {
    await until("typing said", () => said.includes("lobby typing"), 2000);
    typing = false;
    const n = said.length;
    loop.sent();
    await until("idle said", () => said.slice(n).includes("lobby idle"), 2000);
  } finally {
    loop.stop();
  }
  const n = said.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.is(said.length, n, "nothing after stop");
});

test("over a server: a pipe client is told that another session is typing in its room", async () => {
  const { file } = await makeCluster(["a"], tempDir("distchat-typing-"));
  const srv = await startServer({ id: "a", servers: file });
  servers.push(srv);
  const bob = startClient(["--user", "bob", "--servers", file, "--room", "lobby", "--wait-ms", "2000"]);
  clients.push(bob);
  await bob.waitFor(/joined lobby|created lobby/);
  const u = await udpClient();
  try {
    const dave = await login(u, srv.clientAddr, "dave");
    await connectWhenThere(u, srv.clientAddr, dave, "lobby");
    // dave types (said again every 2 s, as a client does while typing), until bob is told, at most 15 s.
    const end = Date.now() + 15_000;
    while (!/\* \[lobby\] dave is typing…/.test(bob.err()) && Date.now() < end) {
      await u.request(srv.clientAddr, lines("typing", tag(), dave, "lobby", "typing", ""));
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.match(bob.err(), /\* \[lobby\] dave is typing…/);
  } finally {
    await u.close();
  }
  assert.is(await bob.end(), 0, bob.err());
});

test.run();
