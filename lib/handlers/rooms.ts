/**
 * Rooms (docs/PROTOCOL.md "open", "connect", "leave", "rooms", "who"):
 * creating and joining them, leaving, and listing rooms and live members.
 */
import type { Reply, RoomRequest, RoomsRequest, WhoRequest } from "../wire/messages.ts";
import { fitNames } from "../wire/fit.ts";
import { isLive } from "../rules/conflict.ts";
import { isFull, keyRefusal, mayJoin } from "../rules/moderation.ts";
import { type Context, refuse } from "./context.ts";
import { auth, existingRoom, memberRoom } from "./_access.ts";
import { banned, roomAccess } from "./direct.ts";

/** Page size when reading names to fit into one reply. */
const PAGE = 1200;

/** [PROTOCOL "open"] creates a room and joins it; `room-exists` if it exists. */
export function open(c: Context, req: RoomRequest): Reply {
  const s = auth(c);
  if (c.store.rooms.name(req.groupName) !== null) refuse("room-exists", `room ${req.groupName} exists`);
  // Its creator owns the room (lib/rules/moderation.ts): of two concurrent opens, the one that names the room.
  c.store.appendLocal({ kind: "open", session: s.id, groupName: req.groupName }, c.now);
  return { verb: "ok", tag: req.tag, kind: "open", groupName: req.groupName };
}

/** [PROTOCOL "connect"] joins an existing room; joining twice is not an error. */
export function connect(c: Context, req: RoomRequest): Reply {
  const s = auth(c);
  const name = existingRoom(c, req.groupName);
  const ban = banned(c.store, name, s);
  if (ban !== null) refuse("not-member", ban);
  if ("refused" in roomAccess(c.store, name, s)) {
    // Not a member, or kicked since joining: join (again).
    const m = c.store.moderation.get(name);
    if (!mayJoin(m, s.user)) refuse("not-member", `${name} is invite-only: ask one of its operators to /invite you`);
    const keyProblem = keyRefusal(m, s.user, req.key);
    if (keyProblem !== null) refuse("not-member", `${name} ${keyProblem}`);
    if (m.limit !== null && isFull(m, s.user, liveMembers(c, name, null, m.limit).live.length)) {
      refuse("not-member", `${name} is full (at most ${m.limit} members): ask one of its operators to /invite you`);
    }
    c.store.appendLocal({ kind: "join", session: s.id, groupName: name }, c.now);
  }
  return { verb: "ok", tag: req.tag, kind: "connect", groupName: name };
}

/** [PROTOCOL "leave"] ends membership, with the reason (if any) in the leave notice; `not-member` without it. */
export function leave(c: Context, req: RoomRequest): Reply {
  const s = auth(c);
  const name = memberRoom(c, req.groupName, s).name;
  const reason = c.leaveReasons() ? req.reason ?? "" : ""; // a peer older than version 3 could not read it
  c.store.appendLocal(reason === "" ? { kind: "leave", session: s.id, groupName: name } : { kind: "leave", session: s.id, groupName: name, reason }, c.now);
  return { verb: "ok", tag: req.tag, kind: "leave", groupName: name };
}

/** [PROTOCOL "rooms"] rooms sorted case-insensitively, after `after`, as many as fit; a secret room ("+s") only to its members. */
export function rooms(c: Context, req: RoomsRequest): Reply {
  const s = auth(c);
  const visible = (n: string) => !c.store.moderation.get(n).secret || c.store.rooms.isMember(n, s.id);
  let page = c.store.rooms.after(req.after, PAGE);
  let names = page.filter(visible);
  // A page of secret rooms only: read on, so that a client paging by the last name shown is never stuck.
  while (names.length === 0 && page.length === PAGE) {
    page = c.store.rooms.after(page[page.length - 1], PAGE);
    names = page.filter(visible);
  }
  const fit = fitNames(["ok", req.tag, "rooms"], names, page.length === PAGE, c.max);
  return { verb: "ok", tag: req.tag, kind: "rooms", more: fit.more, names: fit.names };
}

/** [PROTOCOL "who"] live members sorted case-insensitively, after `after`, as many as fit. */
export function who(c: Context, req: WhoRequest): Reply {
  auth(c);
  const name = existingRoom(c, req.groupName);
  const { live, exhausted } = liveMembers(c, name, req.after, PAGE);
  const fit = fitNames(["ok", req.tag, "who", name], live, !exhausted, c.max);
  return { verb: "ok", tag: req.tag, kind: "who", groupName: name, more: fit.more, names: fit.names };
}

/** Up to `max` live members of room `name` after `after` (sorted case-insensitively), and whether there are no more. */
function liveMembers(c: Context, name: string, after: string | null, max: number): { live: string[]; exhausted: boolean } {
  const { store, now } = c;
  // Members kicked or banned since they joined are not listed (checked only in rooms that had a kick or ban).
  const removed = store.moderation.get(name).kicks.size > 0;
  const live: string[] = [];
  let exhausted = false;
  while (live.length < max) {
    const page = store.membersAfter(name, after, PAGE, now);
    for (const m of page) if (isLive(m, now) && (!removed || "name" in roomAccess(store, name, m))) live.push(m.user);
    if (page.length < PAGE) {
      exhausted = true;
      break;
    }
    after = page[page.length - 1].user;
  }
  return { live, exhausted };
}
