/**
 * IRCv3 CHATHISTORY selections over DistChat's `history` pages (pure).
 * DistChat reads a room backward from its newest message (LATEST, and
 * BEFORE a msgID); the other selections — AFTER, AROUND, BETWEEN, and any
 * selection by timestamp — are found by reading pages back from the newest
 * until the reference is passed. `enough` says when the pages read so far
 * (oldest first) decide the answer; `select` picks it, oldest first.
 *
 * @example
 * ```ts
 * const q = { kind: "AFTER", refs: [{ msgid: "a.7" }], limit: 10 } as const;
 * enough(q, entries, more);   // true once a.7 is among the entries (or nothing older exists)
 * select(q, entries);         // the 10 entries after a.7
 * ```
 */
import type { PollEntry } from "../wire/messages.ts";
import { msgidTag, parseMsgid } from "./render.ts";

/** A message reference: by msgid ("origin.n") or by time (ms). */
export type HistoryRef = { msgid: string } | { time: number };

/** A CHATHISTORY selection; LATEST's ref may be null ("*"). */
export type HistoryQuery =
  | { kind: "LATEST"; refs: [HistoryRef | null]; limit: number }
  | { kind: "BEFORE" | "AFTER" | "AROUND"; refs: [HistoryRef]; limit: number }
  | { kind: "BETWEEN"; refs: [HistoryRef, HistoryRef]; limit: number };

/** Parses `msgid=…`, `timestamp=…` (ISO 8601), or `*` where allowed; undefined when malformed. */
export function parseRef(text: string, star: boolean): HistoryRef | null | undefined {
  if (star && text === "*") return null;
  if (text.startsWith("msgid=")) return parseMsgid(text.slice(6)) ? { msgid: text.slice(6) } : undefined;
  if (text.startsWith("timestamp=")) {
    const t = Date.parse(text.slice(10));
    return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text.slice(10)) && Number.isFinite(t) ? { time: t } : undefined;
  }
  return undefined;
}


/** True when the entries read (the newest ones, oldest first) decide the answer; `more`: older ones exist. */
export function enough(q: HistoryQuery, entries: PollEntry[], more: boolean): boolean {
  if (!more) return true;
  // A reference is passed once it is found (msgid) or the oldest entry read is not after it (time).
  const passed = (ref: HistoryRef) => ("msgid" in ref ? locate(ref, entries) !== null : entries.length > 0 && entries[0].sentAt <= ref.time);
  switch (q.kind) {
    case "LATEST":
      return entries.length >= q.limit || (q.refs[0] !== null && passed(q.refs[0]));
    case "BEFORE":
      return passed(q.refs[0]) && locate(q.refs[0], entries)!.beforeEnd >= q.limit;
    case "AFTER":
      return passed(q.refs[0]);
    case "AROUND": // the window is centred on the reference, or as near as the newest end allows
      return passed(q.refs[0]) && locate(q.refs[0], entries)!.beforeEnd >= Math.floor(q.limit / 2) && entries.length >= q.limit;
    case "BETWEEN":
      return passed(q.refs[0]) && passed(q.refs[1]);
  }
}

/**
 * Where a reference falls among `entries`: entries strictly before it are
 * `[0, beforeEnd)`, strictly after it `[afterStart, length)`; null when a
 * msgid is not among them.
 */
function locate(ref: HistoryRef, entries: PollEntry[]): { beforeEnd: number; afterStart: number } | null {
  if ("msgid" in ref) {
    const i = entries.findIndex((e) => msgidTag(e.msgId) === ref.msgid);
    return i < 0 ? null : { beforeEnd: i, afterStart: i + 1 };
  }
  const first = (pred: (e: PollEntry) => boolean) => {
    const i = entries.findIndex(pred);
    return i < 0 ? entries.length : i;
  };
  return { beforeEnd: first((e) => e.sentAt >= ref.time), afterStart: first((e) => e.sentAt > ref.time) };
}

/** The answer, oldest first, from the entries read (empty when a msgid reference was not found). */
export function select(q: HistoryQuery, entries: PollEntry[]): PollEntry[] {
  const where = (ref: HistoryRef) => locate(ref, entries);
  switch (q.kind) {
    case "LATEST": {
      const at = q.refs[0] === null ? null : where(q.refs[0]);
      return entries.slice(at === null ? 0 : at.afterStart).slice(-q.limit);
    }
    case "BEFORE": {
      const at = where(q.refs[0]);
      return at === null ? [] : entries.slice(0, at.beforeEnd).slice(-q.limit);
    }
    case "AFTER": {
      const at = where(q.refs[0]);
      return at === null ? [] : entries.slice(at.afterStart, at.afterStart + q.limit);
    }
    case "AROUND": {
      const at = where(q.refs[0]);
      if (at === null) return [];
      const start = Math.max(0, Math.min(at.beforeEnd - Math.floor(q.limit / 2), entries.length - q.limit));
      return entries.slice(start, start + q.limit);
    }
    case "BETWEEN": {
      const a = where(q.refs[0]), b = where(q.refs[1]);
      if (a === null || b === null) return [];
      const forward = a.afterStart <= b.afterStart;
      const [older, newer] = forward ? [a, b] : [b, a];
      const between = entries.slice(older.afterStart, Math.max(older.afterStart, newer.beforeEnd));
      return forward ? between.slice(0, q.limit) : between.slice(-q.limit);
    }
  }
}
