/**
 * CHATHISTORY (private to lib/irc; IRCv3 draft/chathistory) over DistChat's
 * `history` verb (docs/PROTOCOL.md "History"): pages are read from the
 * newest end until lib/irc/history_select.ts says they decide the answer,
 * at most MAX_SCAN entries back; the answer is a `chathistory` batch.
 * Targets: a channel this connection is in, or a nick (the direct
 * conversation). TARGETS lists the channels and conversations this
 * connection knows with a message in the time range.
 */
import type { MsgId, PollEntry } from "../wire/messages.ts";
import { type Core, type Ctx, fromServer, type Handler } from "./_core.ts";
import { MAX_CHATHISTORY } from "./isupport.ts";
import { channelOfRoom, hostmask, isChannel, isNick, nameKey, roomOfChannel } from "./names.ts";
import { accountOf, lookupAccount } from "./_deliver.ts";
import { enough, type HistoryQuery, parseRef, select } from "./history_select.ts";
import { messageLines, parseMsgid, timeTag } from "./render.ts";

/** Entries read back at most to answer one CHATHISTORY. */
const MAX_SCAN = 5000;
/** Entries asked per `history` page. */
const PAGE = 200;

const SUBCOMMANDS = ["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"];

function chathistory(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const sub = (m.params[0] ?? "").toUpperCase();
  const invalid = (text: string) => c.fail(ctx, "CHATHISTORY", "INVALID_PARAMS", sub || "*", text);
  if (!SUBCOMMANDS.includes(sub)) return c.fail(ctx, "CHATHISTORY", "UNKNOWN_COMMAND", sub || "*", "Unknown CHATHISTORY subcommand");
  if (sub === "TARGETS") return targets(c, m.params, ctx, invalid);
  const between = sub === "BETWEEN";
  if (m.params.length < (between ? 5 : 4)) return invalid("Not enough parameters");
  const target = m.params[1];
  const limitText = m.params[between ? 4 : 3];
  const limit = Number(limitText);
  if (!/^[0-9]{1,6}$/.test(limitText) || limit < 1) return invalid("The limit must be a positive integer");
  const r1 = parseRef(m.params[2], sub === "LATEST");
  const r2 = between ? parseRef(m.params[3], false) : null;
  if (r1 === undefined || r2 === undefined) return invalid("References are msgid=… or timestamp=… (ISO 8601, UTC)");
  const query = { kind: sub, refs: between ? [r1, r2] : [r1], limit: Math.min(limit, MAX_CHATHISTORY) } as HistoryQuery;
  const room = historyRoom(target);
  if (room === null || (isChannel(target) && !c.state.channels.has(nameKey(room)))) {
    return c.fail(ctx, "CHATHISTORY", "INVALID_TARGET", sub, target, "You cannot read the history of that target");
  }
  const first = sub === "BEFORE" && r1 !== null && "msgid" in r1 ? parseMsgid(r1.msgid) : null;
  const q: HistoryQuery = first ? { kind: "LATEST", refs: [null], limit: query.limit } : query;
  scan(c, ctx, room, first, q, (entries) => {
    if (entries === null) return c.fail(ctx, "CHATHISTORY", "INVALID_TARGET", sub, target, "You cannot read the history of that target");
    sendBatch(c, ctx, target, room, select(q, entries));
  });
}

/** The DistChat room (or "@nick") of a CHATHISTORY target, or null. */
function historyRoom(target: string): string | null {
  if (isChannel(target)) return roomOfChannel(target);
  return isNick(target) ? "@" + target : null;
}

/** Reads pages back from `before` (null: the newest) until `q` is decided; `done` gets them oldest first, or null when refused. */
export function scan(c: Core, ctx: Ctx, room: string, before: MsgId | null, q: HistoryQuery, done: (entries: PollEntry[] | null) => void): void {
  let all: PollEntry[] = [];
  const page = (from: MsgId | null) => {
    c.call(ctx, (tag, token) => ({ verb: "history", tag, token, groupName: room, limit: PAGE, before: from }), (r) => {
      if (r.verb === "error" && r.code === "no-message") return done(all); // a msgid this server does not have
      if (r.verb !== "ok" || r.kind !== "history") return done(all.length > 0 ? all : null);
      all = [...r.entries, ...all];
      const more = r.more && r.entries.length > 0 && all.length < MAX_SCAN;
      if (!more || enough(q, all, true)) return done(all);
      page(r.entries[0].msgId);
    });
  };
  page(before);
}

function sendBatch(c: Core, ctx: Ctx, target: string, room: string, entries: PollEntry[]): void {
  const names = [...new Set(entries.map((e) => e.userName))];
  const wanted = c.state.caps.has("account-tag") ? names.filter((n) => !c.state.accounts.has(nameKey(n))) : [];
  let left = wanted.length;
  const me = c.state.nick ?? "*";
  // My lines in a conversation go to the other party, named as it names itself (its own lines, else `whois`), not as typed here.
  let peer = entries.find((e) => nameKey(e.userName) === nameKey(target))?.userName ?? target;
  const askPeer = room.startsWith("@") && peer === target && entries.some((e) => nameKey(e.userName) === nameKey(me));
  const send = () => {
    const id = c.batchId();
    c.send(ctx, fromServer(c, "BATCH", [`+${id}`, "chathistory", target]));
    for (const e of entries) {
      const to = room.startsWith("@") ? (nameKey(e.userName) === nameKey(me) ? peer : me) : channelOfRoom(room);
      for (const line of messageLines(to, hostmask(e.userName), e, { account: accountOf(c, e.userName), direct: room.startsWith("@") })) {
        c.send(ctx, { ...line, tags: { ...line.tags, batch: id } });
      }
    }
    c.send(ctx, fromServer(c, "BATCH", [`-${id}`]));
  };
  const accounts = () => (left === 0 ? send() : wanted.forEach((n) => lookupAccount(c, ctx, n, () => --left === 0 && send())));
  if (!askPeer) return accounts();
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: target }), (r) => {
    if (r.verb === "ok" && r.kind === "whois") peer = r.userName;
    accounts();
  });
}

/** TARGETS ts1 ts2 limit: the known channels and conversations whose newest message is between the times. */
function targets(c: Core, params: string[], ctx: Ctx, invalid: (t: string) => void): void {
  const a = parseRef(params[1] ?? "", false), b = parseRef(params[2] ?? "", false);
  const limit = Number(params[3]);
  if (!a || !b || !("time" in a) || !("time" in b) || !Number.isInteger(limit) || limit < 1) return invalid("TARGETS timestamp=… timestamp=… limit");
  const [lo, hi] = a.time <= b.time ? [a.time, b.time] : [b.time, a.time];
  const rooms = [...c.state.channels.values()].map((f) => f.room);
  for (const k of c.state.dmLast.keys()) rooms.push(c.state.dms.get(k)?.room ?? k);
  const found: { target: string; at: number }[] = [];
  let left = rooms.length;
  const finish = () => {
    const id = c.batchId();
    c.send(ctx, fromServer(c, "BATCH", [`+${id}`, "draft/chathistory-targets"]));
    for (const t of found.sort((x, y) => x.at - y.at).slice(0, limit)) {
      c.send(ctx, { ...fromServer(c, "CHATHISTORY", ["TARGETS", t.target, timeTag(t.at)]), tags: { batch: id } });
    }
    c.send(ctx, fromServer(c, "BATCH", [`-${id}`]));
  };
  if (left === 0) return finish();
  for (const room of rooms) {
    c.call(ctx, (tag, token) => ({ verb: "history", tag, token, groupName: room, limit: 1, before: null }), (r) => {
      const e = r.verb === "ok" && r.kind === "history" ? r.entries.at(-1) : undefined;
      if (e && e.sentAt > lo && e.sentAt < hi) found.push({ target: room.startsWith("@") ? room.slice(1) : channelOfRoom(room), at: e.sentAt });
      if (--left === 0) finish();
    });
  }
}

export const CHATHISTORY_HANDLERS: Record<string, Handler> = { CHATHISTORY: chathistory };
