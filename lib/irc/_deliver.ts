/**
 * The stream of a channel or direct conversation into IRC lines (private to
 * lib/irc): long polls (`request … waitMs notices`, as the terminal client
 * keeps them), each entry shown once (a vector of what was shown, as
 * lib/client/feed.ts keeps it), this connection's own lines skipped when
 * they come back (it showed them when it made them), and senders' accounts
 * looked up (`whois`) before lines that carry them.
 */
import type { PollEntry, Reply } from "../wire/messages.ts";
import { advance, get, merge, type Vector } from "../wire/vector.ts";
import type { ConnState, Core, Ctx, Follow, PendingEcho } from "./_core.ts";
import { banMask, channelOfRoom, hostmask, nameKey } from "./names.ts";
import { type ChatEvent, entryEvent, messageLines, msgidTag, timeTag } from "./render.ts";
import { firstQuit } from "./quits.ts";
import { invitedTo } from "../wire/message_text.ts";
import type { IrcMessage } from "./message.ts";
import { actLines, rememberReactions } from "./_acts.ts";
import { awayOnJoin } from "./_presence.ts";

/** How long whether a name is registered is taken as known. */
const ACCOUNT_TTL_MS = 10 * 60_000;
/** Names whose account state a connection remembers. */
const MAX_ACCOUNTS = 1000;

/** The signature of a line this connection expects back from the stream. */
export function expectKey(user: string, text: string): string {
  return `${nameKey(user)}\n${text}`;
}

/** Notes that `user`'s `text` will come back in `f`'s stream and must not be shown again. */
export function expect(f: Follow, user: string, text: string): void {
  const k = expectKey(user, text);
  f.expected.set(k, (f.expected.get(k) ?? 0) + 1);
  if (f.expected.size > 64) f.expected.delete(f.expected.keys().next().value as string);
}

/** Forgets one expectation (its request failed). */
export function unexpect(f: Follow, user: string, text: string): void {
  const k = expectKey(user, text);
  const n = (f.expected.get(k) ?? 0) - 1;
  if (n > 0) f.expected.set(k, n);
  else f.expected.delete(k);
}

function consumeExpected(f: Follow, e: PollEntry): boolean {
  const k = expectKey(e.userName, e.msg);
  const n = f.expected.get(k);
  if (n === undefined) return false;
  if (n > 1) f.expected.set(k, n - 1);
  else f.expected.delete(k);
  return true;
}

/** True when `f` is still the live follow of its channel or conversation. */
function live(c: Core, f: Follow, generation: number): boolean {
  const map = f.room.startsWith("@") ? c.state.dms : c.state.channels;
  return !c.state.closing && map.get(nameKey(f.room)) === f && f.generation === generation;
}

/**
 * The echo (echo-message) of this connection's own message: made from the
 * stream's entry, which has the time the server stored it with (the `add`
 * reply has only its msgid), so the echo, other users' copies and
 * CHATHISTORY agree. `release`s the command's answer.
 */
export function sendEcho(c: Core, echo: PendingEcho, e: PollEntry): void {
  const lines = messageLines(echo.target, c.me(), e, { command: echo.command, account: c.state.account, direct: echo.direct });
  for (const line of lines) c.send(echo.ctx, { ...line, tags: { ...echo.clientTags, ...line.tags } });
  echo.release();
}

/** Echoes still waiting after this long are sent with the time they were acked (the stream is slow or broken). */
const ECHO_WAIT_MS = 3000;

/** Sends the echoes of `f` that waited too long for the stream. */
export function overdueEchoes(c: Core, f: Follow): void {
  for (const [id, echo] of f.echoes) {
    if (c.now - echo.since < ECHO_WAIT_MS) continue;
    f.echoes.delete(id);
    const [origin, n] = [id.slice(0, id.lastIndexOf(".")), Number(id.slice(id.lastIndexOf(".") + 1))];
    sendEcho(c, echo, { msgId: { origin, n }, userName: c.state.nick ?? "*", sentAt: echo.since, msg: echo.text });
  }
}

/** Sends `f`'s next long poll (when none is out), or asks for the shared stream of its room (IrcConfig.sharedFeeds). */
export function pollFollow(c: Core, f: Follow): void {
  if (f.polling || c.state.token === null) return;
  f.polling = true;
  if (c.config.sharedFeeds && !f.room.startsWith("@")) return watchFeed(c, f);
  const generation = f.generation;
  c.call(null, (tag, token) => ({ verb: "request", tag, token, groupName: f.room, cursor: f.cursor, waitMs: c.config.pollWaitMs, notices: true }), (r) => {
    if (!live(c, f, generation)) return;
    f.polling = false;
    if (r.verb === "poll") {
      f.failures = 0;
      deliver(c, f, r.entries, () => {
        f.cursor = r.cursor;
        if (live(c, f, generation)) pollFollow(c, f);
      });
      return;
    }
    pollFailed(c, f, r);
  });
}

/** Batches of a shared stream one follow may have waiting (while accounts are looked up); past it, it reads on its own. */
const MAX_BACKLOG = 256;

function watchFeed(c: Core, f: Follow): void {
  f.backlog = [];
  f.catchingUp = false;
  c.watch(f);
}

/** What the listener's shared stream of a room brings a connection watching it (IrcConnection.feed). */
export type FeedEvent =
  | { kind: "entries"; entries: PollEntry[]; cursor: Vector }
  /** The stream is past the cursor this connection watched from: it reads what it missed on its own first. */
  | { kind: "behind" }
  /** The stream's poll with this connection's session failed (e.g. `not-member`). */
  | { kind: "failed"; reply: Reply };

/** True when channel `room` takes batches of its room's shared stream now (it watches it, and is not catching up). */
export function watchingFeed(s: ConnState, room: string): boolean {
  const f = s.channels.get(nameKey(room));
  return !s.closing && f !== undefined && f.polling && !f.catchingUp;
}

/** Hands channel `room` what its shared stream brought (nothing when it does not watch it now). */
export function feedFollow(c: Core, room: string, ev: FeedEvent): void {
  const f = c.state.channels.get(nameKey(room));
  if (f === undefined || !watchingFeed(c.state, room)) return;
  if (ev.kind === "behind") return catchUp(c, f);
  if (ev.kind === "failed" && ev.reply.verb === "error" && ev.reply.code === "bad-token") return c.close(`DistChat session ended: ${ev.reply.message}`);
  if (ev.kind === "failed") return feedFailed(c, f, ev.reply);
  if (f.backlog.length >= MAX_BACKLOG) return catchUp(c, f);
  f.backlog.push({ entries: ev.entries, cursor: ev.cursor });
  if (f.backlog.length === 1) showBacklog(c, f);
}

function showBacklog(c: Core, f: Follow): void {
  const generation = f.generation;
  const batch = f.backlog[0];
  deliver(c, f, batch.entries, () => {
    if (!live(c, f, generation) || f.backlog[0] !== batch) return; // restarted, or reading on its own
    f.cursor = merge(f.cursor, batch.cursor);
    f.backlog.shift();
    if (f.backlog.length > 0) showBacklog(c, f);
  });
}

/**
 * The shared stream is past `f`'s cursor (it came later, or fell behind): `f` reads what it missed with a
 * poll of its own that is not held, shows it, and watches the stream again from there.
 */
function catchUp(c: Core, f: Follow): void {
  if (!f.polling) return;
  f.backlog = [];
  f.catchingUp = true;
  const generation = f.generation;
  c.call(null, (tag, token) => ({ verb: "request", tag, token, groupName: f.room, cursor: f.cursor, waitMs: 0, notices: true }), (r) => {
    if (!live(c, f, generation) || !f.catchingUp) return;
    if (r.verb !== "poll") return feedFailed(c, f, r);
    deliver(c, f, r.entries, () => {
      f.cursor = r.cursor;
      if (live(c, f, generation)) watchFeed(c, f);
    });
  });
}

/** The shared stream's poll failed for this follow's session (`not-member`: it is out of the channel). */
function feedFailed(c: Core, f: Follow, r: Reply): void {
  f.polling = false;
  f.catchingUp = false;
  f.backlog = [];
  pollFailed(c, f, r);
}

function pollFailed(c: Core, f: Follow, r: Reply): void {
  const e = r.verb === "error" ? r : null;
  if (e?.code === "not-member" && !f.room.startsWith("@")) {
    // Kicked or banned (its notice, if any, was shown), or the membership was lost: the channel is gone for this client.
    c.state.channels.delete(nameKey(f.room));
    c.push({ tags: {}, source: c.config.serverName, command: "KICK", params: [channelOfRoom(f.room), c.state.nick ?? "*", e.message] });
    return;
  }
  if (e?.code === "no-user") {
    c.state.dms.delete(nameKey(f.room));
    return;
  }
  f.failures++;
  f.retryAt = c.now + Math.min(500 * 2 ** f.failures, 30_000); // tick() asks again
}

/**
 * Shows `entries` of `f` that were not shown before (within the answer to
 * `ctx` when given), then runs `done`. Senders whose accounts the client
 * wants to see are looked up first.
 */
export function deliver(c: Core, f: Follow, entries: PollEntry[], done: () => void, ctx: Ctx | null = null): void {
  const fresh = entries.filter((e) => e.msgId.n > get(f.shown, e.msgId.origin));
  const wantAccounts = c.state.caps.has("account-tag") || c.state.caps.has("extended-join");
  const unknown = wantAccounts ? [...new Set(fresh.map((e) => e.userName))].filter((n) => !knownAccount(c, n)) : [];
  const show = () => {
    for (const e of fresh) {
      if (e.msgId.n <= get(f.shown, e.msgId.origin)) continue;
      f.shown = advance(f.shown, e.msgId.origin, e.msgId.n);
      const echo = f.echoes.get(msgidTag(e.msgId));
      // A message to oneself is delivered as well as echoed: the delivery outside the echo's (labeled) answer.
      const toSelf = f.room.startsWith("@") && nameKey(f.room.slice(1)) === nameKey(c.state.nick ?? "");
      if (echo) {
        f.echoes.delete(msgidTag(e.msgId));
        consumeExpected(f, e);
        sendEcho(c, echo, e);
        if (!toSelf) continue;
      } else if (consumeExpected(f, e) || toSelf) {
        f.ownSeen.set(msgidTag(e.msgId), e); // its echo, should the ack come after it
        if (f.ownSeen.size > 32) f.ownSeen.delete(f.ownSeen.keys().next().value as string);
        if (!toSelf) continue;
      }
      const into = toSelf ? null : ctx;
      for (const line of entryLines(c, f, e)) into ? c.send(into, line) : c.push(line);
    }
    done();
  };
  if (unknown.length === 0) return show();
  let left = unknown.length;
  for (const name of unknown) {
    lookupAccount(c, ctx, name, () => {
      if (--left === 0) show();
    });
  }
}

/** Asks whether `name` is registered (whois) and remembers it; `then` runs either way. */
export function lookupAccount(c: Core, ctx: Ctx | null, name: string, then: () => void): void {
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: name }), (r) => {
    if (r.verb === "ok" && r.kind === "whois") rememberAccount(c, name, r.registered);
    else if (r.verb === "error" && r.code === "no-user") rememberAccount(c, name, false);
    then();
  });
}

/** Remembers whether `name` is registered (a registered name is used only by its account's sessions). */
export function rememberAccount(c: Core, name: string, registered: boolean): void {
  const accounts = c.state.accounts;
  accounts.delete(nameKey(name));
  accounts.set(nameKey(name), { registered, at: c.now });
  if (accounts.size > MAX_ACCOUNTS) accounts.delete(accounts.keys().next().value as string);
}

/** True when whether `name` is registered was learnt recently enough to be taken as known. */
export function knownAccount(c: Core, name: string): boolean {
  const a = c.state.accounts.get(nameKey(name));
  return a !== undefined && c.now - a.at < ACCOUNT_TTL_MS;
}

/** The account `name` is logged in as, as far as known: itself when registered. */
export function accountOf(c: Core, name: string): string | null {
  if (c.state.userName !== null && nameKey(name) === nameKey(c.state.userName)) return c.state.account;
  return c.state.accounts.get(nameKey(name))?.registered ? name : null;
}

/** The lines of a channel message, by entry: a shared stream's entry is rendered once for all its connections. */
const rendered = new WeakMap<PollEntry, { key: string; lines: IrcMessage[] }>();

function channelMessageLines(channel: string, from: string, e: PollEntry, account: string | null): IrcMessage[] {
  const key = `${channel}\n${account ?? ""}`;
  const known = rendered.get(e);
  if (known?.key === key) return known.lines;
  const lines = messageLines(channel, hostmask(from), e, { account });
  rendered.set(e, { key, lines });
  return lines;
}

/** The IRC lines of one entry of `f`. */
export function entryLines(c: Core, f: Follow, e: PollEntry): IrcMessage[] {
  const me = c.state.nick ?? "*";
  const from = e.userName;
  const source = hostmask(from);
  const direct = f.room.startsWith("@");
  // A direct conversation: to me from the other, or from me (another device of my account) to the other.
  const target = !direct ? channelOfRoom(f.room) : nameKey(from) === nameKey(me) ? f.room.slice(1) : me;
  rememberReactions(f, e);
  const acted = actLines(c, f, e, target, direct);
  if (acted !== null) return acted;
  if (direct) {
    const invited = invitedTo(e.msg);
    if (invited === null) return messageLines(target, source, e, { account: accountOf(c, from), direct: true });
    // An invitation (docs/PROTOCOL.md "Moderation"): INVITE to the invitee; the inviter had its 341.
    if (nameKey(from) === nameKey(me)) return [];
    const account = accountOf(c, from);
    const tags: Record<string, string> = { time: timeTag(e.sentAt), msgid: msgidTag(e.msgId), ...(account ? { account } : {}) };
    return [{ tags, source, command: "INVITE", params: [me, channelOfRoom(invited)] }];
  }
  const channel = target;
  const ev = entryEvent(e);
  const isMe = nameKey(from) === nameKey(me);
  const time = { time: timeTag(e.sentAt), msgid: msgidTag(e.msgId) };
  const line = (command: string, params: string[]): IrcMessage => ({ tags: time, source, command, params });
  return eventLines(c, f, ev, channel, isMe, line, e);
}

function eventLines(
  c: Core,
  f: Follow,
  ev: ChatEvent,
  channel: string,
  isMe: boolean,
  line: (command: string, params: string[]) => IrcMessage,
  e: PollEntry,
): IrcMessage[] {
  switch (ev.kind) {
    case "message":
      return channelMessageLines(channel, ev.from, e, accountOf(c, ev.from));
    case "join":
      if (isMe) return []; // another session of my account: this connection's membership is its own
      f.members.set(nameKey(ev.from), ev.from);
      return [c.state.caps.has("extended-join") ? line("JOIN", [channel, accountOf(c, ev.from) ?? "*", ev.from]) : line("JOIN", [channel]), ...awayOnJoin(c, ev.from)];
    case "leave":
      if (isMe) return [];
      f.members.delete(nameKey(ev.from));
      return [line("PART", ev.reason === "" ? [channel] : [channel, ev.reason])];
    case "invite": // invite-notify: the room's members who asked are told (the invitee is told in a direct message)
      return isMe || !c.state.caps.has("invite-notify") ? [] : [line("INVITE", [ev.target, channel])];
    case "quit":
      if (isMe) return [];
      f.members.delete(nameKey(ev.from));
      return firstQuit(c.state, ev.from, e.sentAt) ? [line("QUIT", [ev.reason])] : [];
    case "mode":
      return [line("MODE", ev.arg === null ? [channel, ev.change] : [channel, ev.change, ev.change.endsWith("b") ? banMask(ev.arg) : ev.arg])];
    case "kick":
    case "ban": {
      f.members.delete(nameKey(ev.target));
      const out = ev.kind === "ban" ? [line("MODE", [channel, "+b", banMask(ev.target)])] : [];
      out.push(line("KICK", [channel, ev.target, ev.reason || (ev.kind === "ban" ? "banned" : ev.from)]));
      if (nameKey(ev.target) === nameKey(c.state.nick ?? "")) c.state.channels.delete(nameKey(f.room));
      return out;
    }
    case "topic":
      return [line("TOPIC", [channel, ev.text])];
    case "unknown":
      return [];
  }
}

/**
 * Starts following `room` from a page of its newest entries: shows those
 * after the one `startAfter` picks (its index; -1: all of them, the page's
 * length: none), then long-polls from the page's cursor, so nothing falls
 * between the page and the stream (docs/PROTOCOL.md "History"). The
 * command `ctx` (if any) is answered once the page is shown.
 */
export function followFromHistory(c: Core, ctx: Ctx | null, f: Follow, limit: number, startAfter: (entries: PollEntry[]) => number): void {
  const generation = f.generation;
  c.call(ctx, (tag, token) => ({ verb: "history", tag, token, groupName: f.room, limit, before: null, notices: !f.room.startsWith("@") }), (r) => {
    if (!live(c, f, generation)) return;
    if (r.verb !== "ok" || r.kind !== "history") return pollFollow(c, f); // from where the follow is (its cursor)
    const from = startAfter(r.entries);
    let seen: Vector = f.shown;
    for (const e of r.entries.slice(0, from + 1)) seen = advance(seen, e.msgId.origin, e.msgId.n);
    f.shown = seen;
    deliver(c, f, r.entries.slice(from + 1), () => {
      f.cursor = r.cursor;
      pollFollow(c, f);
    }, ctx);
  });
}

/**
 * Starts following `f` after a reconnection (docs/IRC.md "Failover"): the
 * messages of the room's last `limit` entries that `readPosition` (what the
 * account's previous connection was shown) does not cover are sent once,
 * with their own time and msgid; notices (joins, parts, modes) while away
 * are not replayed. Then the stream, as for any JOIN.
 */
export function followReplaying(c: Core, ctx: Ctx | null, f: Follow, limit: number, readPosition: Vector): void {
  const generation = f.generation;
  c.call(ctx, (tag, token) => ({ verb: "history", tag, token, groupName: f.room, limit, before: null, notices: false }), (r) => {
    if (!live(c, f, generation)) return;
    if (r.verb !== "ok" || r.kind !== "history") return pollFollow(c, f);
    f.shown = merge(f.shown, readPosition);
    deliver(c, f, r.entries, () => {
      f.cursor = r.cursor;
      pollFollow(c, f);
    }, ctx);
  });
}
