/**
 * "Your last message" includes one acknowledged but not shown yet
 * (lib/client/message_acts.ts `sent`). Stable delivery lists a message at
 * its origin only once the confirmer's `got` arrives, so a reader on the
 * confirmer can be shown it before its writer is: tests/client_acts_test.ts's
 * bob (on a) was told to /edit once carl (on b, the confirmer) showed the
 * line, and in 3 of 21 runs of the old start-up (a throwaway reproduction,
 * 2026-12-07) his client had not shown it yet, said "you have sent no message
 * here yet" and sent no edit — carl "never saw bob's edit". Twin rooms played
 * no part: one open, and no edit op on either server. The last test is that
 * run in memory: the poll never lists the line, the ack comes late.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { PollEntry, Request } from "../lib/wire/messages.ts";
import { MessageActions } from "../lib/client/message_acts.ts";
import { ChatClient } from "../lib/client/chat.ts";
import { keyMemory } from "../lib/client/social.ts";
import { until } from "./_client_proc.ts";
import { scriptedServer } from "./_scripted_server.ts";

/** Acts of "bob" whose calls are recorded as [action, "origin.n", text]. */
function bobActs(): { acts: MessageActions; calls: string[][]; errors: string[] } {
  const calls: string[][] = [];
  const errors: string[] = [];
  const acts = new MessageActions({
    call: (build) => {
      const r = build("t", "tok") as Extract<Request, { verb: "act" }>;
      calls.push([r.action, `${r.target.origin}.${r.target.n}`, r.text]);
      return Promise.resolve({ verb: "ok", tag: "t", kind: "act", groupName: "lobby", action: r.action, target: r.target });
    },
    ui: { output: () => {}, error: (l) => errors.push(l), notice: () => {} },
    userName: "bob",
    seal: (_room, text) => Promise.resolve({ ok: true, text }),
  });
  return { acts, calls, errors };
}

const entry = (origin: string, n: number, userName: string, msg: string): PollEntry => ({ msgId: { origin, n }, userName, sentAt: 0, msg });

test("/edit right after the ack, before the stream shows the message: the message just sent is edited", async () => {
  const { acts, calls, errors } = bobActs();
  acts.seen("lobby", entry("b", 2, "carl", "hi"), "hi");
  acts.sending(1, "lobby", "teh plan for friday"); // the outbox's pending and settled, as lib/client/chat.ts passes them on
  acts.sending(2, "lobby", "given up");
  acts.settled(1, { origin: "a", n: 3 });
  acts.settled(2, null);
  assert.ok(await acts.edit("lobby", null, "the plan for friday"), errors.join("\n"));
  assert.equal(calls, [["edit", "a.3", "the plan for friday"]]);
  assert.equal(acts.quoteOf("lobby", { origin: "a", n: 3 }), { user: "bob", text: "teh plan for friday" });
});

test("an own message sent after older ones shown wins; once shown, the stream's order rules again", async () => {
  const { acts, calls } = bobActs();
  acts.seen("lobby", entry("a", 1, "bob", "older"), "older");
  acts.sent("lobby", { origin: "a", n: 4 }, "newer");
  await acts.del("lobby", null);
  acts.seen("lobby", entry("a", 4, "bob", "newer"), "newer");
  acts.seen("lobby", entry("a", 5, "bob", "newest"), "newest");
  await acts.edit("lobby", null, "x");
  assert.equal(calls, [["del", "a.4", ""], ["edit", "a.5", "x"]]);
});

test("an ack for a message already shown changes nothing; a deletion notice forgets the unshown one; /react is not affected", async () => {
  const { acts, calls, errors } = bobActs();
  acts.seen("lobby", entry("a", 1, "bob", "one"), "one");
  acts.seen("lobby", entry("a", 2, "bob", "two"), "two");
  acts.sent("lobby", { origin: "a", n: 1 }, "one"); // shown before its ack came
  await acts.edit("lobby", null, "2");
  acts.sent("elsewhere", { origin: "a", n: 7 }, "gone soon");
  acts.change("elsewhere", entry("a", 8, "bob", "\u0001del a.7"));
  await acts.edit("elsewhere", null, "nothing");
  acts.sent("lobby", { origin: "a", n: 9 }, "mine");
  await acts.react("lobby", null, "ok"); // the newest shown, as before
  assert.equal(calls, [["edit", "a.2", "2"], ["react", "a.2", "ok"]]);
  assert.equal(errors, ["you have sent no message here yet; give a message id (/search shows them)"]);
});

test("ChatClient: /edit typed before its line is acknowledged waits for the ack, then edits that line (the poll never listed it)", async () => {
  const asked: string[] = [];
  const edits: string[][] = [];
  let ack: (() => void) | null = null;
  // One in-memory server "a": the room's poll is held (the origin lists the line only once its confirmer has it).
  const transport = scriptedServer((r, answer) => {
    asked.push(r.verb);
    if (r.verb === "add") ack = () => answer({ verb: "ok", tag: r.tag, kind: "add", msg: r.msg, groupName: r.groupName, msgId: { origin: "a", n: 3 } });
    if (r.verb === "act") {
      if (r.action === "edit") edits.push([`${r.target.origin}.${r.target.n}`, r.text]);
      answer({ verb: "ok", tag: r.tag, kind: "act", groupName: r.groupName, action: r.action, target: r.target });
    }
    return r.verb === "add" || r.verb === "act";
  });
  const said: string[] = [];
  const chat = await ChatClient.open({
    servers: [{ id: "a" }],
    transport,
    ui: { show: () => {}, notice: (t) => said.push(t), error: (t) => said.push(`error: ${t}`), output: (t) => said.push(t), askSecret: () => Promise.resolve(null), hints: "command" },
    userName: "bob",
    waitMs: 1000,
    dmsEveryMs: 0,
    known: keyMemory(),
  });
  try {
    await chat.login();
    await chat.line("/join lobby");
    await chat.line("teh plan for friday");
    await until(() => `the add (asked: ${asked.join(" ")})`, () => ack !== null, 5000);
    let done = false;
    const edit = chat.line("/edit the plan for friday").then(() => (done = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.not.ok(done, `the edit waits for the ack: ${said.join(" | ")}`);
    ack!();
    await edit;
    assert.equal(edits, [["a.3", "the plan for friday"]], said.join(" | "));
    assert.not.ok(said.some((l) => l.startsWith("error")), said.join(" | "));
  } finally {
    await chat.conn.close();
  }
});

test.run();
