/**
 * Message actions (docs/PROTOCOL.md "Message actions"): delete, edit, react
 * and read, checked here against what this server knows now and then
 * applied as they are on every server (lib/rules/message_acts.ts):
 *
 * - `del`: by the author, or in a room (not a direct conversation) by its
 *   owner or an operator;
 * - `edit`: by the author only, with new text (sealed rooms send sealed text);
 * - `react`: toggles the session user's reaction (the op says on or off);
 * - `read`: moves the account's read marker of the room to the message
 *   (an unregistered session keeps one of its own).
 *
 * The author is the session that sent the message, or any session bound to
 * the same registered account (another device of the same user).
 */
import type { ActRequest, Reply } from "../wire/messages.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { isClientText } from "../wire/message_text.ts";
import { nameKey, REACTION } from "../wire/names.ts";
import { utf8Length } from "../wire/utf8.ts";
import { canModerate } from "../rules/moderation.ts";
import type { SessionRecord } from "../store/store.ts";
import { type Context, refuse } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";

/** [PROTOCOL "act"] one action on one message of a room the session may read and write. */
export function act(c: Context, req: ActRequest): Reply {
  const s = auth(c);
  const { name, label } = memberRoom(c, req.groupName, s);
  const { origin, n } = req.target;
  const target = `${origin}.${n}`;
  const row = c.store.messages.row(origin, n);
  if (row === null || row.rkey !== nameKey(name) || row.hidden) {
    if (req.action === "del" && c.store.acts.redacted(origin, n)) return ok(req, label); // deleted already: the same outcome
    return refuse("no-message", c.store.acts.redacted(origin, n) ? `message ${target} was deleted` : `no message ${target} in ${label} on this server`);
  }
  let action: "del" | "edit" | "react" | "unreact" | "read" = req.action;
  let text = "";
  switch (req.action) {
    case "del":
      if (req.text !== "") refuse("bad-request", "a deletion carries no text");
      if (!isAuthor(c, s, row) && (name.startsWith("@") || !canModerate(c.store.moderation.get(name), s.user))) {
        refuse("not-allowed", "only its author, or the room's owner and operators, may delete a message");
      }
      break;
    case "edit":
      if (!isAuthor(c, s, row)) refuse("not-allowed", "only its author may edit a message");
      if (utf8Length(req.text) < 1 || utf8Length(req.text) > MAX_MSG_BYTES) refuse("bad-request", `the new text must be 1 to ${MAX_MSG_BYTES} bytes`);
      if (!isClientText(req.text)) refuse("bad-request", 'text may start with U+0001 only as "\\u0001me " (an action) or "\\u0001notice " (a notice)');
      text = req.text;
      break;
    case "react":
      if (!REACTION.test(req.text)) refuse("bad-request", "a reaction is 1 to 32 characters without spaces, commas or =");
      text = req.text;
      if (c.store.acts.hasReaction(target, s.user, text)) action = "unreact";
      break;
    case "read":
      if (req.text !== "") refuse("bad-request", "a read marker carries no text");
      text = c.store.accounts.get(s.user)?.reg ?? `~${s.id}`;
      break;
  }
  c.store.appendLocal({ kind: "act", action, session: s.id, groupName: name, userName: s.user, target, text }, c.now);
  return ok(req, label);
}

const ok = (req: ActRequest, groupName: string): Reply => ({ verb: "ok", tag: req.tag, kind: "act", groupName, action: req.action, target: req.target });

/** Whether session `s` wrote the message of `row`: the same session, or one bound to the same registered account. */
function isAuthor(c: Context, s: SessionRecord, row: { session: string; user: string }): boolean {
  if (row.session === s.id) return true;
  if (nameKey(row.user) !== s.ukey) return false;
  const acct = c.store.accounts.get(s.user);
  return acct !== null && c.store.accounts.bound(row.session, acct.reg) && c.store.accounts.bound(s.id, acct.reg);
}
