/**
 * Long polls (docs/PROTOCOL.md "request"): the messages of a room a cursor
 * does not cover, now, or a poll for the client port to hold until a
 * commit brings the room a message or its deadline passes
 * (lib/server/held_polls.ts). `pollMany` answers many polls at once: the
 * held ones a commit wakes.
 */
import type { PollReply, PollRequest } from "../wire/messages.ts";
import { MAX_DATAGRAM, MAX_WAIT_MS } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { formatVector } from "../wire/vector.ts";
import { fitPoll } from "../wire/fit.ts";
import type { Context, HandlerStore, Outcome } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";

/** A long poll to hold: answered when a message arrives or at `deadline`. */
export type Waiter = {
  /** Retransmission key: session and tag. */
  key: string;
  tag: string;
  session: string;
  /** The room as stored (a direct conversation: "@x@y"). */
  groupName: string;
  /** The name the reply gives the room when it differs (a direct conversation: "@" + the other user). */
  label?: string;
  /** The client asked for notices (docs/PROTOCOL.md "Notices"). */
  notices?: boolean;
  cursor: Vector;
  deadline: number;
  /** Longest reply the requester may get (lib/server/address_budget.ts); default 8192. */
  maxBytes?: number;
};

/** [PROTOCOL "request"] messages the cursor does not cover; held up to waitMs when none. */
export function request(c: Context, req: PollRequest): Outcome {
  const s = auth(c);
  const { name, label } = memberRoom(c, req.groupName, s);
  const waiter: Waiter = {
    key: c.key,
    tag: req.tag,
    session: s.id,
    groupName: name,
    ...(label === name ? {} : { label }),
    ...(req.notices ? { notices: true } : {}),
    cursor: req.cursor,
    deadline: c.now + Math.min(req.waitMs, MAX_WAIT_MS),
    maxBytes: c.max,
  };
  const reply = pollMany(c.store, [waiter], req.waitMs <= 0)[0];
  return reply === null ? { wait: waiter } : { reply };
}

/** What a poll reads: a room's messages the cursor does not cover. */
type PollStore = Pick<HandlerStore, "uncovered">;

/**
 * Poll replies for several waiters, in order (null: nothing new and not
 * `orEmpty`). Waiters of the same room with the same cursor and tag length
 * get the same entries, so those are read (one SQLite range scan per
 * origin) once per distinct cursor, and their replies share one entries
 * array, which the codec formats once (lib/wire/codec.ts `replyText`).
 * A fan-out to 1,000 polls of one cursor is one read.
 */
export function pollMany(
  store: PollStore,
  ws: readonly Pick<Waiter, "tag" | "groupName" | "label" | "notices" | "cursor" | "maxBytes">[],
  orEmpty: boolean,
): (PollReply | null)[] {
  const out: (PollReply | null)[] = new Array(ws.length).fill(null);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i];
    const k = `${w.groupName.length}:${w.groupName} ${w.label ?? ""} ${w.notices ? 1 : 0} ${w.tag.length} ${w.maxBytes ?? MAX_DATAGRAM} ${formatVector(w.cursor)}`;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  for (const idx of groups.values()) {
    const first = ws[idx[0]];
    const max = Math.min(first.maxBytes ?? MAX_DATAGRAM, MAX_DATAGRAM);
    const label = first.label ?? first.groupName;
    const fit = fitPoll(first.tag, label, first.cursor, store.uncovered(first.groupName, first.cursor, first.notices === true), max);
    if (fit.entries.length === 0 && !orEmpty) continue;
    const shared = { verb: "poll" as const, groupName: label, cursor: fit.cursor, more: fit.more, entries: fit.entries };
    for (const i of idx) out[i] = { ...shared, tag: ws[i].tag };
  }
  return out;
}
