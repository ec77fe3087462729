/**
 * Direct conversations (docs/PROTOCOL.md "Direct messages"): a client names
 * one "@" + the other user's name; the server stores it as a room whose key
 * is "@" PART "@" PART, sorted (lib/wire/names.ts DM_ROOM). A PART is a
 * registered name's key — the conversation then outlives sessions — or an
 * unregistered name's key with "~" and 12 hex digits of its session id: a
 * DM to an unregistered name reaches its current session only, and a later
 * holder of that name cannot read it. No third session can name a
 * conversation it is not part of: its own part is always one of the two.
 */
import type { SessionRecord, Store } from "../store/store.ts";
import { nameKey } from "../wire/names.ts";
import { parts } from "../store/conversations.ts";
import { byWhom, kickedSince } from "../moderation/rules.ts";

/**
 * Whether session `s` may read and write room `groupName` (not a direct
 * conversation): its display name, or why not. A member whose name is banned,
 * or who was kicked after joining, is refused on every server that has the
 * ban or kick (docs/PROTOCOL.md "Moderation").
 */
export function roomAccess(store: Store, groupName: string, s: SessionRecord): { name: string } | { refused: string } {
  const m = store.rooms.membership(groupName, s.id);
  if (m === null) return { refused: `not a member of ${groupName}` };
  const ban = banned(store, m.name, s);
  if (ban !== null) return { refused: ban };
  const mod = store.moderation.get(m.name);
  if (kickedSince(mod, s.user, m.joined)) return { refused: `you were kicked from ${m.name}${byWhom(mod.kicks.get(s.ukey))}; /join it again` };
  return { name: m.name };
}

/** Why session `s` may not enter room `name` (its display name) because its name is banned there, or null. */
export function banned(store: Store, name: string, s: SessionRecord): string | null {
  const mod = store.moderation.get(name);
  return mod.bans.has(s.ukey) ? `you are banned from ${name}${byWhom(mod.banWhy.get(s.ukey))}` : null;
}

/** A session's part of the conversations it is in (its name must be usable by it: Chat checks that first). */
export function partOf(store: Store, s: SessionRecord): string {
  return store.accounts.get(s.user) !== null ? s.ukey : `${s.ukey}~${s.id.slice(0, 12)}`;
}

/** The conversation of session `s` with the user `address` names ("@bob"), or why there is none. */
export function conversation(store: Store, s: SessionRecord, address: string, now: number): { room: string } | { problem: "self" | "no-user" } {
  const peer = address.slice(1);
  if (nameKey(peer) === s.ukey) return { problem: "self" };
  let peerPart: string;
  if (store.accounts.get(peer) !== null) peerPart = nameKey(peer);
  else {
    const holder = store.sessions.liveHolder(peer, now);
    if (holder === null) return { problem: "no-user" };
    peerPart = `${holder.ukey}~${holder.id.slice(0, 12)}`;
  }
  return { room: "@" + [partOf(store, s), peerPart].sort().join("@") };
}

/** How the party `mine` addresses conversation `rkey`: "@" and the other party's name. */
export function addressFor(rkey: string, mine: string): string {
  const [x, y] = parts(rkey);
  const other = x === mine ? y : x;
  const tilde = other.indexOf("~");
  return "@" + (tilde < 0 ? other : other.slice(0, tilde));
}
