/**
 * Who may do what, as every handler checks it (private to lib/handlers/):
 * the live session of a token, and the room a session may read and write.
 */
import type { SessionRecord } from "../store/store.ts";
import { isLive } from "../rules/conflict.ts";
import { type Context, refuse } from "./context.ts";
import { maySpeak } from "../rules/moderation.ts";
import { banned, conversation, roomAccess } from "./direct.ts";

/**
 * Whether ids `a` and `b` are the same text, in a time that depends on their
 * length only, with nothing allocated: `timingSafeEqual` over two new
 * Buffers cost 3–4 µs a request under Deno (docs/PERFORMANCE_NOTES.md §2, "addcpu").
 */
function sameId(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** The live session of the request's token (`c.session`), refreshed; `bad-token` otherwise. [PROTOCOL "login": every request but login refreshes] */
export function auth(c: Context): SessionRecord {
  const id = c.session;
  const s = c.store.session(id);
  if (!s || !sameId(s.id, id) || !isLive(s, c.now)) {
    return refuse("bad-token", "unknown, ended or expired session; log in again");
  }
  if (!c.store.accounts.mayUse(s.id, s.user)) {
    // The name was registered by someone else (ARCHITECTURE.md "Accounts"): this session ends on every server.
    c.store.appendLocal({ kind: "logout", session: s.id }, c.now);
    return refuse("bad-token", `the name ${s.user} is registered and you did not log in with its password: you are logged out; log in with another name`);
  }
  c.store.refresh(s, c.now);
  return s;
}

/**
 * The room as stored and as the reply names it, when `s` may read and
 * write it: a member not banned or kicked since joining, or a party of the
 * direct conversation "@name"; `not-member` (or `no-user`) otherwise.
 */
export function memberRoom(c: Context, groupName: string, s: SessionRecord): { name: string; label: string } {
  if (groupName.startsWith("@")) {
    const dm = conversation(c.store, s, groupName, c.now);
    if ("problem" in dm) return refuse("no-user", `no user ${groupName.slice(1)} is registered or logged in`);
    return { name: dm.room, label: groupName };
  }
  const a = roomAccess(c.store, groupName, s);
  if ("refused" in a) return refuse("not-member", a.refused);
  return { name: a.name, label: a.name };
}

/**
 * The room `s` may send to (`add`), as `memberRoom` tells, and further: a
 * room that allows messages from outside ("-n") takes them from a session
 * not in it (not banned); a moderated room ("+m") only from its owner,
 * operators and voiced names (`not-allowed` otherwise; docs/PROTOCOL.md "Moderation").
 */
export function sendingRoom(c: Context, groupName: string, s: SessionRecord): { name: string; label: string } {
  if (groupName.startsWith("@")) return memberRoom(c, groupName, s);
  const a = roomAccess(c.store, groupName, s);
  let name: string;
  if ("name" in a) name = a.name;
  else {
    const room = c.store.rooms.name(groupName);
    if (room === null || !c.store.moderation.get(room).external || banned(c.store, room, s) !== null) return refuse("not-member", a.refused);
    name = room;
  }
  if (!maySpeak(c.store.moderation.get(name), s.user)) refuse("not-allowed", `${name} is moderated (+m): only its operators and voiced names may send`);
  return { name, label: name };
}

/** The display name of room `groupName`, or `no-room`. */
export function existingRoom(c: Context, groupName: string): string {
  return c.store.rooms.name(groupName) ?? refuse("no-room", `no room ${groupName}`);
}
