/**
 * Away and typing over IRC (private to lib/irc; docs/IRC.md "Away and
 * typing"), on DistChat's presence (docs/PROTOCOL.md "Typing and away"):
 * AWAY says `typing … away TEXT` (in every room of the session, on every
 * server; said again every 5 minutes while away, as DistChat asks) and
 * `back`; a TAGMSG's `+typing` is lib/irc/_acts.ts. The listener hands each
 * presence note it hears to its connections (`presenceNote`): others'
 * typing becomes a TAGMSG with `+typing` (message-tags), others going away
 * or coming back an AWAY line (away-notify), in the channels this
 * connection shares with them (or when it monitors them: extended-monitor).
 */
import type { PresenceNote } from "../wire/messages.ts";
import type { Core, Ctx, Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { AWAYLEN } from "./isupport.ts";
import { channelOfRoom, hostmask, nameKey } from "./names.ts";
import { utf8Length } from "../wire/utf8.ts";
import type { IrcMessage } from "./message.ts";
import { extendedMonitors } from "./_monitor.ts";

/** The away message of a user away on another server: DistChat passes the state between servers, not its text. */
const REMOTE_AWAY = "Away";

/** The away message of another user as far as this server knows: its own words on this listener, else "Away", or null. */
export function awayText(c: Core, nick: string): string | null {
  const local = c.config.localUser?.(nick);
  if (local) return local.away;
  return c.config.awayOf?.(nick) ? REMOTE_AWAY : null;
}

/** DistChat forgets an away state after 10 minutes unless said again. */
const AWAY_AGAIN_MS = 5 * 60_000;

function away(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const text = m.params[0] ?? "";
  if (text === "") {
    const was = c.state.away !== null;
    c.state.away = null;
    if (was) sayAway(c);
    return c.numeric(ctx, N.RPL_UNAWAY, "You are no longer marked as being away");
  }
  let cut = text;
  while (utf8Length(cut) > AWAYLEN) cut = cut.slice(0, -1);
  c.state.away = cut;
  sayAway(c);
  c.numeric(ctx, N.RPL_NOWAWAY, "You have been marked as being away");
}

/** Says the session's away state (or that it is back) to DistChat, through one of its channels (none: not yet). */
function sayAway(c: Core): void {
  const f = c.state.channels.values().next().value;
  if (f === undefined || c.state.token === null) return;
  c.state.awaySaid = c.now;
  const state = c.state.away === null ? "back" : "away";
  c.call(null, (tag, token) => ({ verb: "typing", tag, token, groupName: f.room, state, text: c.state.away ?? "" }), () => {});
}

/** Timers: an away state said again before DistChat forgets it (or first said once the session is in a channel). */
export function tickAway(c: Core): void {
  if (c.state.away !== null && c.now - c.state.awaySaid > AWAY_AGAIN_MS) sayAway(c);
}

/**
 * A presence note the server heard (the listener passes away and back only when they change): lines for
 * the channels this connection shares with its user, if its capabilities ask for them.
 */
export function presenceNote(c: Core, note: PresenceNote): void {
  const me = c.state.nick;
  if (me === null || nameKey(me) === nameKey(note.userName)) return;
  const shared = note.rooms.map((r) => c.state.channels.get(r)).filter((f) => f !== undefined);
  const source = hostmask(note.userName);
  if (note.state === "away" || note.state === "back") {
    // extended-monitor: a monitored user's away is told as if it shared a channel with this connection.
    if (shared.length === 0 && !extendedMonitors(c, note.userName)) return;
    if (!c.state.caps.has("away-notify") || !toldAway(c, note.userName, note.state === "away")) return;
    return c.push({ tags: {}, source, command: "AWAY", params: note.state === "away" ? [awayText(c, note.userName) ?? REMOTE_AWAY] : [] });
  }
  if (shared.length === 0 || !c.state.caps.has("message-tags")) return;
  const typing = note.state === "typing" ? "active" : "done";
  for (const f of shared) c.push({ tags: { "+typing": typing }, source, command: "TAGMSG", params: [channelOfRoom(f.room)] });
}

/** After a JOIN of `nick`, its AWAY line when it is away and the client asked for away-notify. */
export function awayOnJoin(c: Core, nick: string): IrcMessage[] {
  const text = c.state.caps.has("away-notify") ? awayText(c, nick) : null;
  return text === null || !toldAway(c, nick, true) ? [] : [{ tags: {}, source: hostmask(nick), command: "AWAY", params: [text] }];
}

/** Users whose away state a connection remembers telling. */
const MAX_AWAY_TOLD = 1000;

/** Notes that the client is told `nick` is away (or back); false when it was told so already. */
function toldAway(c: Core, nick: string, away: boolean): boolean {
  const told = c.state.awayTold, key = nameKey(nick);
  if (told.get(key) === away || (!away && !told.has(key))) return false;
  told.delete(key);
  told.set(key, away);
  if (told.size > MAX_AWAY_TOLD) told.delete(told.keys().next().value as string);
  return true;
}

export const PRESENCE_HANDLERS: Record<string, Handler> = { AWAY: away };
