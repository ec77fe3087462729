/**
 * IRC names ⇄ DistChat names (docs/IRC.md "Names"). A channel `#name` is the
 * DistChat room `name`; every DistChat room name (letters, digits, `.`, `_`,
 * `-`) is a valid IRC channel name after `#`, so every room has a channel.
 * The other way round is narrower: a channel whose name after `#` is not a
 * room name (`#é`, `##x`, `&local`, 65 characters…) has no room and is
 * refused with ERR_BADCHANNAME (479). A nick is a DistChat user name
 * (lib/wire/names.ts: the one home of the patterns); both compare
 * case-insensitively in ASCII (ISUPPORT CASEMAPPING=ascii).
 *
 * @example
 * ```ts
 * roomOfChannel("#Lobby");   // "Lobby"
 * roomOfChannel("##x");      // null
 * banName("bob!*@*");        // "bob"
 * ```
 */
import { nameKey, ROOM_NAME, roomNameProblem, USER_NAME, userNameProblem } from "../wire/names.ts";

export { nameKey };

/** Host part of every user's mask: DistChat has no per-user hosts to show (nor to hide). */
export const USER_HOST = "distchat";

/** The room a channel name stands for, or null when it stands for none. */
export function roomOfChannel(channel: string): string | null {
  if (!channel.startsWith("#")) return null;
  const room = channel.slice(1);
  return ROOM_NAME.test(room) ? room : null;
}

/** The channel of a room. */
export function channelOfRoom(room: string): string {
  return "#" + room;
}

/** Why `channel` has no room (text for ERR_BADCHANNAME), or null. */
export function channelProblem(channel: string): string | null {
  if (!channel.startsWith("#")) return `"${channel}" is not a channel here: channels start with #`;
  const p = roomNameProblem(channel.slice(1));
  return p === null ? null : `channel names are # and a DistChat room name: ${p.replace(/^"[^"]*" is not a valid room name: /, "")}`;
}

/** True when `target` names a channel (starts with a channel type), valid or not. */
export function isChannel(target: string): boolean {
  return target.startsWith("#") || target.startsWith("&");
}

/** Why `nick` cannot be a nick (text for ERR_ERRONEUSNICKNAME), or null. */
export function nickProblem(nick: string): string | null {
  return userNameProblem(nick);
}

/** True when `nick` is a DistChat user name. */
export function isNick(nick: string): boolean {
  return USER_NAME.test(nick);
}

/** A user's full source, `nick!nick@distchat`. */
export function hostmask(nick: string): string {
  return `${nick}!${nick}@${USER_HOST}`;
}

/** The ban mask shown for a banned DistChat name. */
export function banMask(name: string): string {
  return `${name}!*@*`;
}

/**
 * The user name an IRC ban mask bans, or null: DistChat bans names, so only
 * masks that name one nick are taken (`bob`, `bob!*@*`, `bob!*@distchat`,
 * `bob!bob@distchat`); a wildcard in the nick, or a user or host that could
 * exclude someone, has no DistChat meaning.
 */
export function banName(mask: string): string | null {
  const m = /^([^!@]+)(?:!([^@]*))?(?:@(.*))?$/.exec(mask);
  if (!m || !USER_NAME.test(m[1])) return null;
  const user = m[2] ?? "*", host = m[3] ?? "*";
  if (user !== "*" && nameKey(user) !== nameKey(m[1])) return null;
  if (host !== "*" && host !== USER_HOST) return null;
  return m[1];
}
