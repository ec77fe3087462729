/**
 * The `add` verb (docs/PROTOCOL.md "add"): a message appended to a room the
 * session is a member of, or to a direct conversation; acked after the
 * commit (and, with two-disk acks, once a second disk has it:
 * lib/server/ack_gate.ts). An add whose (session, tag) is already stored —
 * a retransmission that reached this server after another stored it, or
 * after its reply was forgotten — is answered with the stored message.
 */
import type { AddRequest } from "../wire/messages.ts";
import { isClientText } from "../wire/message_text.ts";
import { nameKey } from "../wire/names.ts";
import type { OpInput } from "../store/store.ts";
import { type Context, type Outcome, refuse } from "./context.ts";
import { auth, sendingRoom } from "./_access.ts";

/** [PROTOCOL "add"] the stored message of this (session, tag), or a new one; with the copy the reply names. */
export function add(c: Context, req: AddRequest): Outcome {
  const stored = c.store.messages.byTag(c.session, req.tag);
  if (stored) {
    const groupName = stored.rkey.startsWith("@") ? req.groupName : c.store.rooms.name(stored.rkey) ?? req.groupName;
    const msgId = { origin: stored.origin, n: stored.seq };
    return { reply: { verb: "ok", tag: req.tag, kind: "add", msg: stored.msg, groupName, msgId }, copy: stored };
  }
  const s = auth(c);
  const { name, label } = sendingRoom(c, req.groupName, s);
  if (!isClientText(req.msg)) refuse("bad-request", 'message text may start with U+0001 only as "\\u0001me " (an action) or "\\u0001notice " (a notice)');
  const conf = c.confirmer();
  const msg: OpInput & { kind: "msg" } = { kind: "msg", session: s.id, tag: req.tag, groupName: name, userName: s.user, msg: req.msg };
  if (req.re !== undefined) {
    // [PROTOCOL "Replies to a message"] the message answered is in the same room and listed here.
    const row = c.store.messages.row(req.re.origin, req.re.n);
    if (row === null || row.rkey !== nameKey(name) || row.hidden) refuse("no-message", `no message ${req.re.origin}.${req.re.n} in ${label} on this server`);
    msg.re = `${req.re.origin}.${req.re.n}`;
  }
  const op = c.store.appendLocal(
    conf === undefined ? msg : { ...msg, conf },
    c.now,
    true, // byTag above found no visible message of this (session, tag)
  );
  const copy = { origin: op.origin, seq: op.seq, msg: req.msg, conf: conf ?? "" };
  return { reply: { verb: "ok", tag: req.tag, kind: "add", msg: req.msg, groupName: label, msgId: { origin: op.origin, n: op.seq } }, copy };
}
