/**
 * One room's view of its message stream: the cursor to send in the next
 * `request` (echoed from the last poll reply, never computed), and the ids
 * already shown, so each message is shown exactly once even when a poll
 * reply is repeated or a server after failover lists a message again. Pure.
 *
 * Messages of one origin reach a room in the order of their `n` (docs/PROTOCOL.md
 * "msgID": n only grows for one serverId; delivery is causal and FIFO per
 * origin), so "shown" is a vector: the highest n shown per origin.
 *
 * @example
 * ```ts
 * const feed = new RoomFeed();
 * feed.accept(pollReply);  // the entries not shown before
 * feed.cursor;             // what to send in the next request
 * ```
 */
import type { PollEntry, PollReply } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { advance, EMPTY, get } from "../wire/vector.ts";

export class RoomFeed {
  /** The cursor for the next request: the last poll reply's, as sent. */
  cursor: Vector = EMPTY;
  /** Highest n shown, per origin. */
  shown: Vector = EMPTY;

  /** Takes a poll reply; returns its entries not shown before, in order. */
  accept(reply: Pick<PollReply, "cursor" | "entries">): PollEntry[] {
    const fresh: PollEntry[] = [];
    for (const e of reply.entries) {
      if (e.msgId.n <= get(this.shown, e.msgId.origin)) continue;
      this.shown = advance(this.shown, e.msgId.origin, e.msgId.n);
      fresh.push(e);
    }
    this.cursor = reply.cursor;
    return fresh;
  }
}
