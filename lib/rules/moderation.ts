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
 *   "+lN": at most N members, `parseMode`). No one can deop, kick or ban the owner.
 * - `kick` and `ban` also take the target's operator status, and a banned
 *   name cannot be made operator. So of a concurrent kick of the kicker,
 *   the smaller key stands and the other is void (its actor was no longer
 *   an operator), and a ban beats a concurrent grant in either order.
 * - Of two topics, or two settings of the same mode (i, s or l), the larger key
 *   (the later in the order) stays.
 * - A kick (and a ban) removes the target's memberships joined before it in
 *   the order (`kicks`: the key of the last kick or ban of each name);
 *   joining again is allowed unless banned or the room is invite-only.
 *
 * Names are compared case-folded (lib/wire/names.ts `nameKey`).
 */
import type { ModAction } from "../wire/messages.ts";
import { compareKeys, type Key, keyLess } from "./conflict.ts";
import { nameKey } from "../wire/names.ts";

/** One `mod` op as the rule reads it. */
export type ModOp = { key: Key; action: ModAction; actor: string; target: string; text: string; at: number };

export type RoomMod = {
  /** The owner's name as the creator wrote it, or null (a room made before moderation existed). */
  owner: string | null;
  /** Operators, by name key → name. */
  ops: Map<string, string>;
  bans: Map<string, string>;
  invites: Map<string, string>;
  inviteOnly: boolean;
  /** Listed by `rooms` only to its members ("+s"). */
  secret: boolean;
  /** At most this many live members may be in the room ("+lN"), or null: no limit. */
  limit: number | null;
  topic: { text: string; by: string; at: number } | null;
  /** Name key → the last kick (or ban) of that name that took effect: its key, who and why. */
  kicks: Map<string, Removal>;
  /** Name key → who banned it and why. */
  banWhy: Map<string, { by: string; why: string }>;
};

/** A kick or ban as the refusal tells it. */
export type Removal = { key: Key; by: string; why: string; ban: boolean };

export const emptyRoom = (): RoomMod => ({
  owner: null,
  ops: new Map(),
  bans: new Map(),
  invites: new Map(),
  inviteOnly: false,
  secret: false,
  limit: null,
  topic: null,
  kicks: new Map(),
  banWhy: new Map(),
});

/** True when `user` may moderate the room. */
export function canModerate(room: RoomMod, user: string): boolean {
  const k = nameKey(user);
  return (room.owner !== null && nameKey(room.owner) === k) || room.ops.has(k);
}

/** True when `user` may join the room now (not a ban: that is checked first): it is open, or `user` was invited or moderates it. */
export function mayJoin(room: RoomMod, user: string): boolean {
  return !room.inviteOnly || room.invites.has(nameKey(user)) || canModerate(room, user);
}

/** The largest member limit a room may have (`mode +lN`). */
export const MAX_ROOM_LIMIT = 10_000;

/** A mode change a `mod … mode TARGET` names. */
export type ModeChange = { inviteOnly: boolean } | { secret: boolean } | { limit: number | null };

/** What mode target `t` sets ("+i", "-i", "+s", "-s", "+lN" with N in 1..MAX_ROOM_LIMIT, "-l"), or null when it is malformed. */
export function parseMode(t: string): ModeChange | null {
  if (t === "+i" || t === "-i") return { inviteOnly: t === "+i" };
  if (t === "+s" || t === "-s") return { secret: t === "+s" };
  if (t === "-l") return { limit: null };
  const m = /^\+l([1-9][0-9]{0,5})$/.exec(t);
  return m !== null && Number(m[1]) <= MAX_ROOM_LIMIT ? { limit: Number(m[1]) } : null;
}

/** The refusal of a malformed mode target. */
export const BAD_MODE = `mode is "+i", "-i", "+s", "-s", "+lN" (N from 1 to ${MAX_ROOM_LIMIT}) or "-l"`;

/** The room's modes as the `room` reply shows them: "+i", "+s", "+l5", "+isl5", or "-" for none. */
export function modeWord(room: RoomMod): string {
  const flags = (room.inviteOnly ? "i" : "") + (room.secret ? "s" : "") + (room.limit === null ? "" : `l${room.limit}`);
  return flags === "" ? "-" : `+${flags}`;
}

/** True when the room is full for `user` with `live` members: a limit stands and is reached, and `user` was not invited and does not moderate it. */
export function isFull(room: RoomMod, user: string, live: number): boolean {
  return room.limit !== null && live >= room.limit && !room.invites.has(nameKey(user)) && !canModerate(room, user);
}

export const isOwner = (room: RoomMod, user: string): boolean => room.owner !== null && nameKey(room.owner) === nameKey(user);

/** Why `actor` may not take `action` on `target` now, or null when it may (the same test the fold applies). */
export function refusal(room: RoomMod, actor: string, action: ModAction, target: string): string | null {
  if (!canModerate(room, actor)) return "only the room's owner and operators may do that";
  if ((action === "deop" || action === "kick" || action === "ban") && isOwner(room, target)) return "the room's owner cannot be deopped, kicked or banned";
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
      room.ops.set(t, op.target);
      break;
    case "deop":
      room.ops.delete(t);
      break;
    case "kick":
      room.ops.delete(t);
      room.kicks.set(t, { key: op.key, by: op.actor, why: op.text, ban: false });
      break;
    case "ban":
      room.ops.delete(t);
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
      if ("inviteOnly" in m) room.inviteOnly = m.inviteOnly;
      else if ("secret" in m) room.secret = m.secret;
      else room.limit = m.limit;
      break;
    }
  }
  return room;
}

/** True when a membership that joined with key `joined` was removed by a kick of `user`. */
export function kickedSince(room: RoomMod, user: string, joined: Key): boolean {
  const k = room.kicks.get(nameKey(user));
  return k !== undefined && keyLess(joined, k.key);
}

/** " by NAME (REASON)" of a removal, for refusals. */
export const byWhom = (r: { by: string; why: string } | undefined): string => (r === undefined ? "" : ` by ${r.by}${r.why === "" ? "" : ` (${r.why})`}`);
