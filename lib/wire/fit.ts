/**
 * Fitting lists and poll entries into one datagram (docs/PROTOCOL.md: replies
 * are at most 8192 bytes; "as many as fit", `more` = 1 when more are ready).
 *
 * @example
 * ```ts
 * fitNames(["ok", "1", "rooms"], ["lobby", "dev"], 8192); // { names: ["lobby", "dev"], more: false }
 * ```
 */
import { pollEntryText, utf8Length } from "./codec.ts";
import { MAX_DATAGRAM, type PollEntry } from "./messages.ts";
import type { Vector } from "./vector.ts";
import { advance, formatVector } from "./vector.ts";

/** Bytes of `fields` as lines. */
function linesBytes(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) n += utf8Length(f) + 1;
  return n;
}

/**
 * Takes names while `head` + more + count + names fits in `max` bytes.
 * `more` is true when a name was left out or `hasMore` says more exist.
 */
export function fitNames(
  head: readonly string[],
  names: readonly string[],
  hasMore: boolean,
  max = MAX_DATAGRAM,
): { names: string[]; more: boolean } {
  let bytes = linesBytes(head) + 2;
  const out: string[] = [];
  for (const name of names) {
    const next = bytes + utf8Length(name) + 1;
    if (next + String(out.length + 1).length + 1 > max) return { names: out, more: true };
    out.push(name);
    bytes = next;
  }
  return { names: out, more: hasMore };
}

/** An entry as the store yields it. */
export type Uncovered = { origin: string; seq: number; user: string; at: number; msg: string; meta?: Pick<PollEntry, "edited" | "re" | "reactions"> };

/** The poll entry of a stored message. */
export const pollEntry = (u: Uncovered): PollEntry => ({ msgId: { origin: u.origin, n: u.seq }, userName: u.user, sentAt: u.at, msg: u.msg, ...u.meta });

/**
 * History entries that fit after the history head: `newestFirst` is read
 * from the newest; the page keeps the newest that fit and lists them oldest
 * first. `more`: older ones exist (`olderExist`) or one did not fit.
 */
export function fitHistory(
  tag: string,
  groupName: string,
  cursor: Vector,
  newestFirst: readonly Uncovered[],
  olderExist: boolean,
  max = MAX_DATAGRAM,
): { entries: PollEntry[]; more: boolean } {
  const kept: PollEntry[] = [];
  let bytes = linesBytes(["ok", tag, "history", groupName, formatVector(cursor), "1"]);
  for (const u of newestFirst) {
    const entry = pollEntry(u);
    const size = utf8Length(pollEntryText(entry));
    if (bytes + size + String(kept.length + 1).length + 1 > max) return { entries: kept.reverse(), more: true };
    kept.push(entry);
    bytes += size;
  }
  return { entries: kept.reverse(), more: olderExist };
}

/** Poll entries that fit after the poll head, the cursor past them, and whether more are ready. */
export function fitPoll(
  tag: string,
  groupName: string,
  cursor: Vector,
  source: Iterable<Uncovered>,
  max = MAX_DATAGRAM,
): { entries: PollEntry[]; cursor: Vector; more: boolean } {
  const entries: PollEntry[] = [];
  let body = 0;
  let cur = cursor;
  const fixed = linesBytes(["poll", tag, groupName, "1"]);
  for (const u of source) {
    const entry = pollEntry(u);
    const size = utf8Length(pollEntryText(entry));
    const next = advance(cur, u.origin, u.seq);
    const head = fixed + formatVector(next).length + 1 + String(entries.length + 1).length + 1;
    if (head + body + size > max) return { entries, cursor: cur, more: true };
    entries.push(entry);
    body += size;
    cur = next;
  }
  return { entries, cursor: cur, more: false };
}
