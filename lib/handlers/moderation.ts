/**
 * Moderation (docs/PROTOCOL.md "Moderation"): a room's topic, mode and
 * roles (`room`), and the `mod` actions, checked against the room's state
 * here and settled everywhere by lib/rules/moderation.ts.
 */
import type { ModRequest, Reply, RoomInfoRequest } from "../wire/messages.ts";
import { USER_NAME } from "../wire/names.ts";
import { BAD_MODE, canModerate, modeWord, parseMode, refusal, settingRoles } from "../rules/moderation.ts";
import { conversation, roomAccess } from "./direct.ts";
import type { SessionRecord } from "../store/store.ts";
import { INVITE_NOTE } from "../wire/message_text.ts";
import { type Context, refuse } from "./context.ts";
import { auth, existingRoom } from "./_access.ts";

/** [PROTOCOL "room"] topic, mode and roles, as many roles as fit. */
export function roomInfo(c: Context, req: RoomInfoRequest): Reply {
  const s = auth(c);
  const name = existingRoom(c, req.groupName);
  const m = c.store.moderation.get(name);
  const member = "name" in roomAccess(c.store, name, s);
  const roles = [
    ...settingRoles(m, member), // first: they fit, whatever the number of names
    ...(m.owner === null || m.resigned ? [] : [`~${m.owner}`]), // an owner who stepped down is listed once opped again
    ...[...m.ops.values()].map((n) => `@${n}`),
    ...[...m.bans.values()].map((n) => `!${n}`),
    ...[...m.invites.values()].map((n) => `+${n}`),
  ];
  const topic = m.topic?.text ?? "";
  let bytes = 120 + topic.length * 2;
  const fit = roles.filter((r) => (bytes += r.length + 1) <= c.max);
  return {
    verb: "ok", tag: req.tag, kind: "room", groupName: name, mode: modeWord(m),
    topicBy: m.topic?.by ?? "-", topicAt: m.topic?.at ?? 0, topic, roles: fit,
  };
}

/** [PROTOCOL "mod"] checked against the room's state here, then settled everywhere by lib/rules/moderation.ts. */
export function mod(c: Context, req: ModRequest): Reply {
  const s = auth(c);
  const name = existingRoom(c, req.groupName);
  const a = req.action;
  if (a === "topic" ? req.target !== "-" : a === "mode" ? parseMode(req.target) === null : !USER_NAME.test(req.target)) {
    refuse("bad-request", a === "topic" ? 'a topic\'s target is "-"' : a === "mode" ? BAD_MODE : `"${req.target}" is not a user name`);
  }
  const room = c.store.moderation.get(name);
  // With "-t" a member sets the topic: one not in the room is told so first.
  if (a === "topic" && !canModerate(room, s.user) && "refused" in roomAccess(c.store, name, s)) refuse("not-member", `not a member of ${name}`);
  const why = refusal(room, s.user, a, req.target);
  if (why !== null) refuse("not-allowed", why);
  c.store.appendLocal({ kind: "mod", action: a, session: s.id, groupName: name, userName: s.user, target: req.target, text: req.text }, c.now);
  if (a === "invite") tellInvitee(c, s, name, req);
  return { verb: "ok", tag: req.tag, kind: "mod", groupName: name, action: a, target: req.target };
}

/**
 * [PROTOCOL "Moderation": invitations] the invitee is told in the direct conversation with the inviter:
 * a message "\u0001invite-to ROOM" (with the mod's tag, so a resent mod stores none again), which its
 * sessions on every server see as any direct message. None when the name is neither registered nor logged in.
 */
function tellInvitee(c: Context, s: SessionRecord, room: string, req: ModRequest): void {
  const dm = conversation(c.store, s, `@${req.target}`, c.now);
  if (!("room" in dm) || c.store.messages.byTag(s.id, req.tag)) return;
  c.store.appendLocal({ kind: "msg", session: s.id, tag: req.tag, groupName: dm.room, userName: s.user, msg: `${INVITE_NOTE}${room}` }, c.now);
}
