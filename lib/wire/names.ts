/**
 * The one place for name rules (docs/PROTOCOL.md "Names and values"): what
 * user, room and server names may be, and how they compare. Names are
 * ASCII, so case folding is `toLowerCase()`; two names that fold alike name
 * the same user or room everywhere (server, client, sealed-message binding).
 *
 * @example
 * ```ts
 * nameKey("Lobby") === nameKey("LOBBY"); // true
 * userNameProblem("bob");                // null
 * ```
 */

/** 1–32 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** 1–64 of the same. */
export const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A direct conversation as a client names it: "@" and the other user's name (docs/PROTOCOL.md "Direct messages"). */
export const DM_ADDRESS = /^@[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/**
 * A direct conversation as servers store it: "@" PART "@" PART, sorted, where
 * a PART is a registered name's key, or an unregistered name's key, "~" and
 * 12 hex digits of its session (lib/handlers/direct.ts).
 */
export const DM_ROOM = /^@[a-z0-9][a-z0-9_.-]{0,31}(~[0-9a-f]{12})?@[a-z0-9][a-z0-9_.-]{0,31}(~[0-9a-f]{12})?$/;
/** A server id of servers.txt: 1–16 lower-case letters, digits, `_`, `-`. */
export const SERVER_ID = /^[a-z0-9][a-z0-9_-]{0,15}$/;

/** The case-folded key of a user or room name. */
export function nameKey(name: string): string {
  // Only ASCII letters fold (valid names are ASCII; the sealed format binds folded names, docs/SEALED_FORMAT.md).
  return /[^\x00-\x7f]/.test(name) ? name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : name.toLowerCase();
}

/** Why `room` is not a room name, or null. */
export function roomNameProblem(room: string): string | null {
  if (ROOM_NAME.test(room)) return null;
  return `"${room}" is not a valid room name: 1 to 64 letters, digits, . _ - starting with a letter or digit`;
}

/** Why `name` is not a user name, or null. */
export function userNameProblem(name: string): string | null {
  if (USER_NAME.test(name)) return null;
  return `"${name}" is not a valid user name: 1 to 32 letters, digits, . _ - starting with a letter or digit`;
}

/** What a server id must be, in words. */
export const SERVER_ID_RULE = "1 to 16 lower-case letters, digits, _ - starting with a letter or digit";

/** Why `id` is not a server id, or null. */
export function serverIdProblem(id: string): string | null {
  return SERVER_ID.test(id) ? null : `"${id}" is not a server id: ${SERVER_ID_RULE}`;
}
