/**
 * Typing and away (docs/PROTOCOL.md "Typing and away"): ephemeral states on
 * the server's presence board (lib/rules/presence.ts), never stored; the
 * reply lists who is typing or away in the room. `typing`/`idle` are said
 * in one room; `away`/`back` in every room the session is in.
 */
import type { Reply, TypingRequest } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { PRESENCE_TTL_MS } from "../rules/presence.ts";
import { type Context, refuse } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";

/** [PROTOCOL "typing"] says the session user's state, and lists the room's. */
export function typing(c: Context, req: TypingRequest): Reply {
  const s = auth(c);
  const { name, label } = memberRoom(c, req.groupName, s);
  const rkey = nameKey(name);
  const rooms = req.state === "away" || req.state === "back" ? c.store.rooms.ofSession(s.id) : [rkey];
  const mine = (p: { userName: string }) => nameKey(p.userName) === s.ukey;
  const had = c.presence.list(rkey, c.now).some(mine);
  if (!c.presence.set(rooms, s.user, req.state, c.now)) refuse("rate-limited", "this server holds as many typing and away states as it keeps; try again later");
  // Peers hear what changes a state: idle and back only from a user who had one (asking who types costs no datagram).
  if (req.state === "typing" || req.state === "away" || had) c.presenceSaid?.({ rooms, userName: s.user, state: req.state, ttlMs: PRESENCE_TTL_MS[req.state === "typing" || req.state === "idle" ? "typing" : "away"] });
  return { verb: "ok", tag: req.tag, kind: "typing", groupName: label, states: c.presence.list(rkey, c.now).filter((p) => !mine(p)) };
}
