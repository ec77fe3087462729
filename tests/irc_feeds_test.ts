/**
 * The IRC listener's shared room streams (lib/ircd/feeds.ts), pure: one poll
 * per room whatever the watchers, each batch handed to every watcher, a
 * leader refused (`not-member`) told and replaced, a watcher that comes with
 * an older cursor sent to catch up on its own, a leader that closes replaced
 * at once, a room nobody watches dropped.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Address } from "../lib/wire/address.ts";
import type { PollRequest, Reply, Request } from "../lib/wire/messages.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import type { FeedEvent, IrcConnection, IrcStep } from "../lib/irc/connection.ts";
import { type FeedLink, RoomFeeds } from "../lib/ircd/feeds.ts";

type Fake = FeedLink & { name: string; events: FeedEvent["kind"][]; watchingRoom: boolean };

function fake(name: string, port: number): Fake {
  const link = { name, events: [] as FeedEvent["kind"][], watchingRoom: true, from: { host: "127.0.0.1", port }, closed: false } as Fake;
  const conn = {
    state: { token: `token-${name}` },
    watching: () => link.watchingRoom && !link.closed,
    feed: (_room: string, ev: FeedEvent): IrcStep => {
      link.events.push(ev.kind);
      if (ev.kind === "failed") link.watchingRoom = false;
      return { lines: [], requests: [], proofs: [], close: false, dmsTo: [], watch: [] };
    },
  };
  link.conn = conn as unknown as IrcConnection;
  return link;
}

function setUp() {
  const sent: { req: PollRequest; from: Address }[] = [];
  let port = 1000;
  const feeds = new RoomFeeds<Fake>({
    send: (req: Request, from: Address) => sent.push({ req: req as PollRequest, from }),
    apply: () => {},
    port: () => port++,
    now: () => 0,
    waitMs: 25_000,
  });
  const answer = (r: Omit<Extract<Reply, { verb: "poll" }>, "tag"> | Omit<Extract<Reply, { verb: "error" }>, "tag">) => {
    const last = sent.at(-1)!;
    feeds.reply(last.from.port, { ...r, tag: last.req.tag } as Reply);
  };
  return { feeds, sent, answer };
}

const poll = (n: number) => ({ verb: "poll" as const, groupName: "lobby", more: false, cursor: fromEntries([["a", n]]), entries: [{ msgId: { origin: "a", n }, userName: "x", sentAt: 0, msg: `m${n}` }] });

test("one poll per room for every watcher; each batch to all of them", () => {
  const { feeds, sent, answer } = setUp();
  const [a, b] = [fake("a", 1), fake("b", 2)];
  feeds.watch(a, "lobby", fromEntries([["a", 1]]));
  feeds.watch(b, "lobby", fromEntries([["a", 1]]));
  assert.is(sent.length, 1, "one held poll");
  assert.is(sent[0].req.token, "token-a", "with the first watcher's session");
  assert.ok(feeds.owns(sent[0].from.port) && sent[0].from.port !== a.from.port, "from an address of its own");
  answer(poll(2));
  assert.equal(a.events, ["entries"]);
  assert.equal(b.events, ["entries"]);
  assert.is(sent.length, 2, "polls again");
  assert.equal([...sent[1].req.cursor], [["a", 2]]);
});

test("a refused leader is told and the next watcher leads; a late watcher behind the stream catches up on its own", () => {
  const { feeds, sent, answer } = setUp();
  const [a, b, c] = [fake("a", 1), fake("b", 2), fake("c", 3)];
  feeds.watch(a, "lobby", fromEntries([["a", 1]]));
  feeds.watch(b, "lobby", fromEntries([["a", 1]]));
  answer(poll(3));
  feeds.watch(c, "lobby", fromEntries([["a", 2]]));
  assert.equal(c.events, ["behind"], "its cursor is older than the stream's");
  answer({ verb: "error", code: "not-member", message: "kicked" });
  assert.equal(a.events, ["entries", "failed"]);
  assert.is(sent.at(-1)!.req.token, "token-b");
  answer(poll(4));
  assert.equal(b.events, ["entries", "entries"]);
  assert.equal(a.events, ["entries", "failed"], "the refused leader gets no more");
  assert.equal(c.events, ["behind"], "not fed before it watches again from a cursor the stream covers");
  feeds.watch(c, "lobby", fromEntries([["a", 4]]));
  answer(poll(5));
  assert.equal(c.events, ["behind", "entries"]);
});

test("a leader that closes hands over at once; a room nobody watches is dropped", () => {
  const { feeds, sent, answer } = setUp();
  const [a, b] = [fake("a", 1), fake("b", 2)];
  feeds.watch(a, "lobby", fromEntries([["a", 1]]));
  feeds.watch(b, "lobby", fromEntries([["a", 1]]));
  a.closed = true;
  feeds.closed(a);
  assert.is(sent.length, 2);
  assert.is(sent[1].req.token, "token-b");
  feeds.reply(sent[0].from.port, { ...poll(2), tag: sent[0].req.tag }); // the abandoned poll's late answer
  assert.equal(b.events, [], "dropped");
  b.watchingRoom = false; // b parted
  answer(poll(2));
  assert.is(feeds.size, 0);
});

test.run();
