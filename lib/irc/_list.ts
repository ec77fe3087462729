/**
 * LIST with ELIST conditions (private to lib/irc; Modern IRC "ELIST",
 * docs/IRC.md "LIST"): `LIST [cond,…]` lists DistChat rooms (`rooms`,
 * paged; secret rooms only to their members), each with its member count
 * (`who`) and topic (`room`). Conditions, comma-separated, all must hold:
 * `#name` (that channel), a mask with `*`/`?` (M), `!mask` (N), `<n`/`>n`
 * members (U), `T<n`/`T>n` (topic set less/more than n minutes ago, T).
 * DistChat keeps no room creation time, so `C` is not offered (ISUPPORT
 * `ELIST=MNTU`, lib/irc/isupport.ts).
 */
import type { Reply } from "../wire/messages.ts";
import { type Core, type Ctx, fromServer, type Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { channelOfRoom, roomOfChannel } from "./names.ts";
import { globRegExp, pageNames } from "./_queries.ts";

/** Rooms one LIST describes (two requests each: members and topic); past it, a notice says how many more exist. */
const LIST_DETAILED = 100;

/** A LIST's conditions. */
export type ListFilter = {
  /** Channels named exactly (null: all rooms). */
  names: string[] | null;
  masks: RegExp[];
  notMasks: RegExp[];
  /** Member counts: more than `moreThan`, fewer than `fewerThan`. */
  moreThan: number;
  fewerThan: number;
  /** Topic set less than / more than this many minutes ago (null: any). */
  topicWithin: number | null;
  topicBefore: number | null;
};

/** The conditions of LIST's parameter ("" for none); conditions it does not know are left out. */
export function parseListFilter(param: string): ListFilter {
  const f: ListFilter = { names: null, masks: [], notMasks: [], moreThan: -1, fewerThan: Infinity, topicWithin: null, topicBefore: null };
  for (const cond of param.split(",").filter((x) => x !== "")) {
    const num = /^(T?)([<>])(\d{1,9})$/.exec(cond);
    if (num !== null) {
      const n = Number(num[3]);
      if (num[1] === "T") f[num[2] === "<" ? "topicWithin" : "topicBefore"] = n;
      else if (num[2] === "<") f.fewerThan = Math.min(f.fewerThan, n);
      else f.moreThan = Math.max(f.moreThan, n);
    } else if (cond.startsWith("!")) f.notMasks.push(globRegExp(cond.slice(1)));
    else if (/[*?]/.test(cond)) f.masks.push(globRegExp(cond));
    else if (cond.startsWith("#")) (f.names ??= []).push(cond);
  }
  return f;
}

/** Whether room `room` passes the name conditions of `f`. */
function nameMatches(f: ListFilter, room: string): boolean {
  const channel = channelOfRoom(room);
  return f.masks.every((re) => re.test(channel)) && !f.notMasks.some((re) => re.test(channel));
}

/** Whether a room of `members` members and topic time `topicAt` (ms; 0: none) passes `f` at `now`. */
export function rowMatches(f: ListFilter, members: number, topicAt: number, now: number): boolean {
  if (members <= f.moreThan || members >= f.fewerThan) return false;
  const ago = (now - topicAt) / 60_000;
  if (f.topicWithin !== null && (topicAt === 0 || ago >= f.topicWithin)) return false;
  if (f.topicBefore !== null && (topicAt === 0 || ago <= f.topicBefore)) return false;
  return true;
}

function list(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const f = parseListFilter(m.params[0] ?? "");
  c.numeric(ctx, N.RPL_LISTSTART, "Channel", "Users  Name");
  const end = () => c.numeric(ctx, N.RPL_LISTEND, "End of /LIST");
  const describe = (all: string[]) => {
    const rooms = all.filter((r) => nameMatches(f, r));
    const detailed = rooms.slice(0, LIST_DETAILED);
    let left = detailed.length;
    if (left === 0) return end();
    const rows = new Map<string, string[]>();
    for (const room of detailed) {
      c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (info: Reply) => {
        pageNames(c, ctx, room, (who) => {
          const known = info.verb === "ok" && info.kind === "room" ? info : null;
          if ("names" in who && rowMatches(f, who.names.length, known?.topicAt ?? 0, c.now)) {
            rows.set(room, [channelOfRoom(who.shown ?? room), String(who.names.length), known?.topic ?? ""]);
          }
          if (--left > 0) return;
          for (const r of detailed) if (rows.has(r)) c.numeric(ctx, N.RPL_LIST, ...rows.get(r)!);
          const more = rooms.length - detailed.length;
          if (more > 0) c.send(ctx, fromServer(c, "NOTICE", [c.state.nick ?? "*", `${more} more channels not listed: LIST #name for one`]));
          end();
        });
      });
    }
  };
  if (f.names !== null) return describe(f.names.map(roomOfChannel).filter((r): r is string => r !== null));
  pageNames(c, ctx, null, (r) => ("names" in r ? describe(r.names) : end()));
}

/** LIST. */
export const LIST_HANDLERS: Record<string, Handler> = { LIST: list };
