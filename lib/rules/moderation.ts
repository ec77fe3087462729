/**
 * The moderation rule, pure (docs/ARCHITECTURE.md "Moderation"): a room's
 * roles, bans, invitations, mode and topic are a fold of its `mod` ops in
 * conflict-key order (lib/rules/conflict.ts `opKey`: the same total order on
 * every server, and one that extends causality). Each op takes effect only if
 * its actor holds the right at its place in that order; otherwise it is void.
 *
 * - The owner is the creator of the room: the user of its first `open`
 *   (the smallest key, the open that names the room).
 * - The owner and operators may `op`, `deop`, `kick`, `ban`, `unban`,
 *   `invite`, set the `topic` and the `mode` ("+i": invite-only, "+s": secret,
 *   "+lN": at most N members, "+kKEY": a key to join, "+m": moderated,
 *   "-t": anyone sets the topic, "-n": non-members may send, "+vNAME": voice;
 *   `parseMode`). No one can kick or ban the owner, nor deop it but the owner
 *   itself (it steps down: `resigned`, until someone ops it again). With "-t", a member
 *   sets the topic too (`mayTopic`).
 * - `kick` and `ban` also take the target's operator status and voice, and a banned
 *   name cannot be made operator. So of a concurrent kick of the kicker,
 *   the smaller key stands and the other is void (its actor was no longer
 *   an operator), and a ban beats a concurrent grant in either order.
 * - Of two topics, or two settings of the same mode (i, s, l, k, m, t, n, or v of one name), the larger key
 *   (the later in the order) stays.
 * - A kick (and a ban) removes the target's memberships joined before it in
 *   the order (`kicks`: the key of the last kick or ban of each name);
 *   joining again is allowed unless banned or the room is invite-only.
 *
 * Names are compared case-folded (lib/wire/names.ts `nameKey`).
 */
import type { ModAction } from "../wire/messages.ts";
import { compareKeys, type Key, keyLess } from "./conflict.ts";
import { nameKey, USER_NAME } from "../wire/names.ts";

/** One `mod` op as the rule reads it. */
export type ModOp = { key: Key; action: ModAction; actor: string; target: string; text: string; at: number };

export type RoomMod = {
  /** The owner's name as the creator wrote it, or null (a room made before moderation existed). */
  owner: string | null;
  /** The owner deopped itself: it moderates again only once opped. */
  resigned: boolean;
  /** Operators, by name key → name. */
  ops: Map<string, string>;
  bans: Map<string, string>;
  invites: Map<string, string>;
  inviteOnly: boolean;
  /** Listed by `rooms` only to its members ("+s"). */
  secret: boolean;
  /** At most this many live members may be in the room ("+lN"), or null: no limit. */
  limit: number | null;
  /** The key `connect` must give ("+kKEY"), or null: none. */
  key: string | null;
  /** Only the owner, operators and voiced names send ("+m"). */
  moderated: boolean;
  /** Voiced names ("+vNAME"), by name key → name. */
  voiced: Map<string, string>;
  /** Any member may set the topic ("-t"; the default "+t": operators only). */
  openTopic: boolean;
  /** Sessions not in the room may send to it ("-n"; the default "+n": members only). */
  external: boolean;
  topic: { text: string; by: string; at: number } | null;
  /** When the room was made (ms, at its origin: the `open` that names it), or null: not known (set by the store, not the fold). */
  created: number | null;
  /** Name key → the last kick (or ban) of that name that took effect: its key, who and why. */
  kicks: Map<string, Removal>;
  /** Name key → who banned it and why. */
  banWhy: Map<string, { by: string; why: string }>;
};

/** A kick or ban as the refusal tells it. */
export type Removal = { key: Key; by: string; why: string; ban: boolean };

export const emptyRoom = (): RoomMod => ({
  owner: null,
  resigned: false,
  ops: new Map(),
  bans: new Map(),
  invites: new Map(),
  inviteOnly: false,
  secret: false,
  limit: null,
  key: null,
  moderated: false,
  voiced: new Map(),
  openTopic: false,
  external: false,
  topic: null,
  created: null,
  kicks: new Map(),
  banWhy: new Map(),
});

/** True when `user` may moderate the room. */
export function canModerate(room: RoomMod, user: string): boolean {
  const k = nameKey(user);
  return (room.owner !== null && !room.resigned && nameKey(room.owner) === k) || room.ops.has(k);
}

/** True when `user` may join the room now (not a ban: that is checked first): it is open, or `user` was invited or moderates it. */
export function mayJoin(room: RoomMod, user: string): boolean {
  return !room.inviteOnly || room.invites.has(nameKey(user)) || canModerate(room, user);
}

/** Why `user` may not join a room with key `given` (absent: none given), or null: no key is set, it is right, or `user` was invited or moderates it. */
export function keyRefusal(room: RoomMod, user: string, given: string | undefined): string | null {
  if (room.key === null || given === room.key || room.invites.has(nameKey(user)) || canModerate(room, user)) return null;
  return given === undefined ? "has a key (+k): give it to join" : "has another key (+k)";
}

/** The largest member limit a room may have (`mode +lN`). */
export const MAX_ROOM_LIMIT = 10_000;

/** A mode change a `mod … mode TARGET` names. */
export type ModeChange =
  | { inviteOnly: boolean }
  | { secret: boolean }
  | { limit: number | null }
  | { key: string | null }
  | { moderated: boolean }
  | { openTopic: boolean }
  | { external: boolean }
  | { voice: string; on: boolean };

/** A room key: 1 to 23 printable ASCII characters, no space or comma (RFC 2812 "key", and a comma would split JOIN's list). */
export const ROOM_KEY = /^[\x21-\x2b\x2d-\x7e]{1,23}$/;

/** The flag modes: letter → the change "+x" / "-x" makes (t and n name what "-" turns on). */
const FLAGS: Record<string, (on: boolean) => ModeChange> = {
  i: (on) => ({ inviteOnly: on }),
  s: (on) => ({ secret: on }),
  m: (on) => ({ moderated: on }),
  t: (on) => ({ openTopic: !on }),
  n: (on) => ({ external: !on }),
};

/**
 * What mode target `t` sets, or null when it is malformed: "+i"/"-i", "+s"/"-s", "+m"/"-m",
 * "+t"/"-t", "+n"/"-n", "+lN" (N in 1..MAX_ROOM_LIMIT)/"-l", "+kKEY" (`ROOM_KEY`)/"-k",
 * "+vNAME"/"-vNAME" (NAME a user name).
 */
export function parseMode(t: string): ModeChange | null {
  const on = t[0] === "+";
  if (!on && t[0] !== "-") return null;
  const letter = t[1] ?? "";
  const rest = t.slice(2);
  if (letter in FLAGS) return rest === "" ? FLAGS[letter](on) : null;
  if (letter === "v") return USER_NAME.test(rest) ? { voice: rest, on } : null;
  if (!on) return rest === "" && (letter === "l" || letter === "k") ? (letter === "l" ? { limit: null } : { key: null }) : null;
  if (letter === "k") return ROOM_KEY.test(rest) ? { key: rest } : null;
  const m = letter === "l" ? /^([1-9][0-9]{0,5})$/.exec(rest) : null;
  return m !== null && Number(m[1]) <= MAX_ROOM_LIMIT ? { limit: Number(m[1]) } : null;
}

/** The refusal of a malformed mode target. */
export const BAD_MODE = `mode is "+i", "-i", "+s", "-s", "+m", "-m", "+t", "-t", "+n", "-n", "+lN" (N from 1 to ${MAX_ROOM_LIMIT}), "-l", ` +
  '"+kKEY" (KEY 1 to 23 printable ASCII characters, no space or comma), "-k", or "+vNAME" / "-vNAME"';

/** The room's modes as the `room` reply's mode word shows them: "+i", "+s", "+l5", "+isl5", or "-" for none (the others are `settingRoles`). */
export function modeWord(room: RoomMod): string {
  const flags = (room.inviteOnly ? "i" : "") + (room.secret ? "s" : "") + (room.limit === null ? "" : `l${room.limit}`);
  return flags === "" ? "-" : `+${flags}`;
}

/**
 * The settings the mode word has no room for, as `room` reply role lines (docs/PROTOCOL.md "Moderation"):
 * "*m" moderated, "*-t", "*-n", "*k" keyed ("*k=KEY" when `showKey`: to members), "*created=MS"
 * (when the room was made), "%NAME" voiced.
 */
export function settingRoles(room: RoomMod, showKey: boolean): string[] {
  const out: string[] = room.created === null ? [] : [`*created=${room.created}`];
  if (room.moderated) out.push("*m");
  if (room.openTopic) out.push("*-t");
  if (room.external) out.push("*-n");
  if (room.key !== null) out.push(showKey ? `*k=${room.key}` : "*k");
  for (const name of room.voiced.values()) out.push(`%${name}`);
  return out;
}

/** True when `user` may send to the room now: it is not moderated, or `user` is voiced or moderates it. */
export const maySpeak = (room: RoomMod, user: string): boolean => !room.moderated || room.voiced.has(nameKey(user)) || canModerate(room, user);

/** True when `user` may set the room's topic: it is "-t", or `user` moderates it. */
export const mayTopic = (room: RoomMod, user: string): boolean => room.openTopic || canModerate(room, user);

/** True when the room is full for `user` with `live` members: a limit stands and is reached, and `user` was not invited and does not moderate it. */
export function isFull(room: RoomMod, user: string, live: number): boolean {
  return room.limit !== null && live >= room.limit && !room.invites.has(nameKey(user)) && !canModerate(room, user);
}

export const isOwner = (room: RoomMod, user: string): boolean => room.owner !== null && nameKey(room.owner) === nameKey(user);

/** Why `actor` may not take `action` on `target` now, or null when it may (the same test the fold applies). */
export function refusal(room: RoomMod, actor: string, action: ModAction, target: string): string | null {
  if (action === "topic" ? !mayTopic(room, actor) : !canModerate(room, actor)) return "only the room's owner and operators may do that";
  if ((action === "kick" || action === "ban") && isOwner(room, target)) return "the room's owner cannot be kicked or banned";
  if (action === "deop" && isOwner(room, target) && !isOwner(room, actor)) return "only the room's owner may deop itself";
  if (action === "op" && room.bans.has(nameKey(target))) return `${target} is banned; unban first`;
  if (action === "mode" && parseMode(target) === null) return BAD_MODE;
  return null;
}

/** The state a room's mod ops settle to (in any order given), `owner` the creator's name. */
export function settleRoom(ops: readonly ModOp[], owner: string | null): RoomMod {
  const room = { ...emptyRoom(), owner };
  for (const op of [...ops].sort((x, y) => compareKeys(x.key, y.key))) foldMod(room, op);
  return room;
}

/**
 * One step of the fold: applies `op`, which sorts after every op already in
 * `room`, if its actor may take it there (else it is void). Changes `room`
 * in place and returns it; `settleRoom` is these steps in key order
 * (lib/rules/fold_cache.ts takes them one new op at a time).
 */
export function foldMod(room: RoomMod, op: ModOp): RoomMod {
  if (refusal(room, op.actor, op.action, op.target) !== null) return room;
  const t = nameKey(op.target);
  switch (op.action) {
    case "op":
      if (isOwner(room, op.target)) room.resigned = false;
      else room.ops.set(t, op.target);
      break;
    case "deop":
      room.ops.delete(t);
      if (isOwner(room, op.target)) room.resigned = true;
      break;
    case "kick":
      room.ops.delete(t);
      room.voiced.delete(t);
      room.kicks.set(t, { key: op.key, by: op.actor, why: op.text, ban: false });
      break;
    case "ban":
      room.ops.delete(t);
      room.voiced.delete(t);
      room.invites.delete(t);
      room.bans.set(t, op.target);
      room.banWhy.set(t, { by: op.actor, why: op.text });
      room.kicks.set(t, { key: op.key, by: op.actor, why: op.text, ban: true }); // after an unban, the name joins again like anyone
      break;
    case "unban":
      room.bans.delete(t);
      room.banWhy.delete(t);
      break;
    case "invite":
      room.invites.set(t, op.target);
      break;
    case "topic":
      room.topic = op.text === "" ? null : { text: op.text, by: op.actor, at: op.at };
      break;
    case "mode": {
      const m = parseMode(op.target)!; // refusal above: well-formed
      setMode(room, m);
      break;
    }
  }
  return room;
}

/** Applies a well-formed mode change to `room`. */
function setMode(room: RoomMod, m: ModeChange): void {
  if ("inviteOnly" in m) room.inviteOnly = m.inviteOnly;
  else if ("secret" in m) room.secret = m.secret;
  else if ("limit" in m) room.limit = m.limit;
  else if ("key" in m) room.key = m.key;
  else if ("moderated" in m) room.moderated = m.moderated;
  else if ("openTopic" in m) room.openTopic = m.openTopic;
  else if ("external" in m) room.external = m.external;
  else if (m.on) room.voiced.set(nameKey(m.voice), m.voice);
  else room.voiced.delete(nameKey(m.voice));
}

/** True when a membership that joined with key `joined` was removed by a kick of `user`. */
export function kickedSince(room: RoomMod, user: string, joined: Key): boolean {
  const k = room.kicks.get(nameKey(user));
  return k !== undefined && keyLess(joined, k.key);
}

/** " by NAME (REASON)" of a removal, for refusals. */
export const byWhom = (r: { by: string; why: string } | undefined): string => (r === undefined ? "" : ` by ${r.by}${r.why === "" ? "" : ` (${r.why})`}`);
