/**
 * The `add` verb (docs/PROTOCOL.md "add"): a message appended to a room the
 * session is a member of, or to a direct conversation; acked after the
 * commit (and, with two-disk acks, once a second disk has it:
 * lib/server/ack_gate.ts). An add whose (session, tag) is already stored —
 * a retransmission that reached this server after another stored it, or
 * after its reply was forgotten — is answered with the stored message.
 */
import type { AddRequest } from "../wire/messages.ts";
import { NOTICE } from "../wire/messages.ts";
import { type Context, type Outcome, refuse } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";

/** [PROTOCOL "add"] the stored message of this (session, tag), or a new one; with the copy the reply names. */
export function add(c: Context, req: AddRequest): Outcome {
  const stored = c.store.messages.byTag(c.session, req.tag);
  if (stored) {
    const groupName = stored.rkey.startsWith("@") ? req.groupName : c.store.rooms.name(stored.rkey) ?? req.groupName;
    const msgId = { origin: stored.origin, n: stored.seq };
    return { reply: { verb: "ok", tag: req.tag, kind: "add", msg: stored.msg, groupName, msgId }, copy: stored };
  }
  const s = auth(c);
  const { name, label } = memberRoom(c, req.groupName, s);
  if (req.msg.startsWith(NOTICE) && !req.msg.startsWith(NOTICE + "me ")) refuse("bad-request", 'message text may start with U+0001 only as "\\u0001me " (an action)');
  const conf = c.confirmer();
  const msg = { kind: "msg" as const, session: s.id, tag: req.tag, groupName: name, userName: s.user, msg: req.msg };
  const op = c.store.appendLocal(
    conf === undefined ? msg : { ...msg, conf },
    c.now,
    true, // byTag above found no visible message of this (session, tag)
  );
  const copy = { origin: op.origin, seq: op.seq, msg: req.msg, conf: conf ?? "" };
  return { reply: { verb: "ok", tag: req.tag, kind: "add", msg: req.msg, groupName: label, msgId: { origin: op.origin, n: op.seq } }, copy };
}
