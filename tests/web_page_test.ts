/**
 * The page's own pure logic, in Node and Deno without a browser: how a room's
 * items group (web/format.js: day separators, one header per sender within
 * five minutes, notices on their own), what counts as a mention, how an
 * entry shows (web/page_ui.js: sealed, placeholders, actions, notices made
 * visible), and what an ack does to a line shown before it (its "sending…"
 * mark goes; another copy kept by the cluster replaces it).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { blocks, dayLabel, mentions, nickClass } from "../web/format.js";
import { changedItem, itemOf, newRoom, settle, unreadOf } from "../web/page_ui.js";

const T = Date.UTC(2025, 2, 3, 12, 0, 0);
const item = (key: string, user: string, at: number, kind = "message") => ({ key, user, at, kind, text: key });

test("blocks: a day separator per day; one header per sender within five minutes; notices break a group", () => {
  const got = blocks([
    item("a.1", "alice", T),
    item("a.2", "Alice", T + 60_000),
    item("a.3", "bob", T + 120_000),
    item("a.4", "bob", T + 120_000 + 5 * 60_000),
    item("a.5", "bob", T + 120_000 + 5 * 60_000 + 1000, "notice"),
    item("a.6", "bob", T + 120_000 + 5 * 60_000 + 2000),
    item("a.7", "bob", T + 86_400_000),
  ], T + 86_400_000);
  const shape = got.map((b) => (b.type === "group" ? `${b.user}:${b.items!.map((i: { key: string }) => i.key).join(",")}` : b.type === "day" ? `day ${b.label}` : `${b.type} ${b.item.key}`));
  assert.equal(shape, ["day Yesterday", "alice:a.1,a.2", "bob:a.3", "bob:a.4", "notice a.5", "bob:a.6", "day Today", "bob:a.7"]);
  assert.is(dayLabel(T, T + 3 * 86_400_000), new Date(T).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" }));
});

test("mentions: the name as a word, with or without @, any case; not inside another word", () => {
  for (const t of ["carol, are you there?", "hi @Carol", "CAROL!", "ping carol"]) assert.ok(mentions(t, "carol"), t);
  for (const t of ["caroline is here", "mr.carol", "carol_2 said", "x@carolx"]) assert.not.ok(mentions(t, "carol"), t);
  assert.not.ok(mentions("carol", null));
  assert.is(nickClass("Bob"), nickClass("bob"));
});

test("how an entry shows: sealed text opened (the page draws the lock), placeholders, actions and notices made visible", () => {
  const e = (msg: string, userName = "bob") => ({ msgId: { origin: "a", n: 7 }, userName, sentAt: T, msg });
  assert.equal(itemOf(e("dc1:x"), { kind: "sealed", text: "hi alice" }, "alice"), {
    key: "a.7", user: "bob", at: T, kind: "message", view: "sealed", text: "hi alice", mine: false, mention: true,
    edited: false, reactions: [], re: null, quote: null,
  });
  // An edited reply with reactions; then its changes (docs/PROTOCOL.md "Message actions").
  const reply: any = itemOf({ ...e("sure"), edited: true, re: { origin: "a", n: 3 }, reactions: [["👍", 2]] }, { kind: "plain", text: "sure", quote: { user: "carl", text: "lunch?" } }, "alice");
  assert.equal([reply.edited, reply.re, reply.quote, reply.reactions], [true, "a.3", { user: "carl", text: "lunch?" }, [["👍", 2]]]);
  const target = { origin: "a", n: 7 };
  assert.equal(changedItem(reply, { kind: "edited", target, by: "bob", text: "sure, @alice" }, "alice").mention, true);
  assert.equal(changedItem(reply, { kind: "reactions", target, by: "carl", reactions: [] }, "alice").reactions, []);
  const gone = changedItem(reply, { kind: "deleted", target, by: "bob" }, "alice");
  assert.equal([gone.deleted, gone.text, gone.reactions, gone.quote], [true, "message deleted", [], null]);
  const locked = itemOf(e("dc1:x"), { kind: "locked", text: "[sealed message: no passphrase for this room; /key vault]" }, "alice") as { mention?: boolean };
  assert.is(locked.mention, false);
  assert.equal(itemOf(e("\u0001me waves"), { kind: "plain", text: "\u0001me waves" }, "alice").kind, "action");
  assert.is(itemOf(e("\u0001kick eve spam"), { kind: "plain", text: "\u0001kick eve spam" }, "alice").text, "* bob kicked eve (spam)");
  assert.is(itemOf(e("a\u202eb\x1b[2J"), { kind: "plain", text: "a\u202eb\x1b[2J" }, "alice").text, "a\\u202eb\\x1b[2J");
  assert.is(itemOf(e("[sealed] x"), { kind: "plain", text: "[sealed] x", marked: true }, "alice").text, "[plain] [sealed] x");
});

test("an ack: a line shown before it loses its mark; a copy the cluster did not keep gives way; a refusal takes it away", () => {
  const room = () => ({ ...newRoom("lobby"), items: [{ ...item("a.4", "alice", T), unconfirmed: 1 }], pending: [] });
  assert.equal(settle(room(), 1, "a.4").items.map((i: { key: string; unconfirmed?: number }) => [i.key, i.unconfirmed]), [["a.4", undefined]]);
  const moved = settle(room(), 1, "b.9");
  assert.equal(moved.items, []);
  assert.equal(moved.pending.map((p: { msgId: string }) => p.msgId), ["b.9"], "it waits, marked, for the copy that was kept");
  const refused = settle(room(), 1, null);
  assert.equal([refused.items, refused.pending], [[], []]);
  const waiting = { ...newRoom("lobby"), pending: [{ key: "p2", id: 2, user: "alice", at: T, text: "x", msgId: null }] };
  assert.equal(settle(waiting, 2, "a.5").pending.map((p: { msgId: string }) => p.msgId), ["a.5"], "acked before shown: it goes when a.5 comes");
});

test.run();

test("unread after a reload: this page's reading counts until its read marker reaches the server; another device's too", () => {
  const msg = (n: number, user = "quinn") => ({ key: `a.${n}`, kind: "message", user, at: 1000 + n, mine: user === "rita" });
  const room = { ...newRoom("@quinn"), items: [msg(1), msg(2, "rita"), msg(3)] };
  assert.is(unreadOf(room, 2, 0), 2, "nothing read here: the server's count (unread ones may not be loaded)");
  assert.is(unreadOf(room, 1, 1003), 0, "all read here, the marker still on its way: none");
  assert.is(unreadOf(room, 2, 1001), 1, "read up to the first here: one (rita's own line does not count)");
  assert.is(unreadOf(room, 0, 1001), 0, "another device read further: the server's lower count");
});
