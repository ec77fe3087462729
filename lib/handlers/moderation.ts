/**
 * Moderation (docs/PROTOCOL.md "Moderation"): a room's topic, mode and
 * roles (`room`), and the `mod` actions, checked against the room's state
 * here and settled everywhere by lib/rules/moderation.ts.
 */
import type { ModRequest, Reply, RoomInfoRequest } from "../wire/messages.ts";
import { USER_NAME } from "../wire/names.ts";
import { BAD_MODE, modeWord, parseMode, refusal } from "../rules/moderation.ts";
import { type Context, refuse } from "./context.ts";
import { auth, existingRoom } from "./_access.ts";

/** [PROTOCOL "room"] topic, mode and roles, as many roles as fit. */
export function roomInfo(c: Context, req: RoomInfoRequest): Reply {
  auth(c);
  const name = existingRoom(c, req.groupName);
  const m = c.store.moderation.get(name);
  const roles = [
    ...(m.owner === null ? [] : [`~${m.owner}`]),
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
  const why = refusal(c.store.moderation.get(name), s.user, a, req.target);
  if (why !== null) refuse("not-allowed", why);
  c.store.appendLocal({ kind: "mod", action: a, session: s.id, groupName: name, userName: s.user, target: req.target, text: req.text }, c.now);
  return { verb: "ok", tag: req.tag, kind: "mod", groupName: name, action: a, target: req.target };
}
