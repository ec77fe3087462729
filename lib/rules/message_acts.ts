/**
 * The message rules, pure (docs/ARCHITECTURE.md "Message acts"): what
 * deletions, edits, reactions and read markers — `act` ops — make of a
 * message, settled the same way on every server whatever order the ops
 * arrive in. Each rule is a join (commutative, associative, idempotent), so
 * no fold has to be redone when an op lands in the past of the order:
 *
 * - **Delete wins.** A `del` makes the message deleted for good: its text,
 *   its edits and its reactions go, and a copy of it (or an edit of it)
 *   that arrives later is stored without text (the tombstone keeps its id).
 * - **Edit: the largest key wins.** Of a message's edits the one with the
 *   largest conflict key (lib/rules/conflict.ts `opKey`: later in the order)
 *   gives its current text — unless it is deleted.
 * - **Reactions: per (user, text), the largest key wins.** `react` puts a
 *   user's reaction on, `unreact` takes it off; counts are the users on.
 * - **Read markers: the largest message wins.** A per-account marker per
 *   room names the newest message read; of two markers the one whose
 *   message has the larger key stays (so a device that read less never
 *   moves it back).
 *
 * Who may act is checked where the op is made (lib/handlers/act.ts: the
 * author, or for `del` a room owner or operator at that moment); every
 * server then applies the op as it is, so a deletion by an operator deopped
 * concurrently stands everywhere (a deletion cannot be undone anyway).
 *
 * @example
 * ```ts
 * let m = emptyMessage();
 * m = stepMessage(m, { key: [5, "a"], action: "edit", actor: "bob", text: "fixed" });
 * m = stepMessage(m, { key: [4, "b"], action: "edit", actor: "bob", text: "older" });
 * m.edit?.text; // "fixed": the larger key
 * ```
 */
import { compareKeys, type Key, keyLess } from "./conflict.ts";
import { nameKey } from "../wire/names.ts";

import type { ActAction } from "../wire/messages.ts";

/** One act on a message as the rule reads it (`read` is not one: see `laterMark`). */
export type MessageAct = { key: Key; action: Exclude<ActAction, "read">; actor: string; text: string };

/** What the acts made of a message. */
export type MessageState = {
  deleted: boolean;
  /** The winning edit, or null (the text as sent). */
  edit: { key: Key; text: string } | null;
  /** Reaction text → user key → the last react/unreact of that user: on or off, and its key. */
  reactions: Map<string, Map<string, { on: boolean; key: Key }>>;
};

/** A message no act has touched. */
export const emptyMessage = (): MessageState => ({ deleted: false, edit: null, reactions: new Map() });

/** Whether an edit with key `next` replaces the current one (`current` null: none yet): the larger key wins. */
export function editWins(current: Key | null, next: Key): boolean {
  return current === null || keyLess(current, next);
}

/** Whether a react/unreact with key `next` replaces a user's current one for the same text: the larger key wins. */
export const reactionWins = editWins;

/** Whether a read marker at a message of key `next` replaces one at `current`: the larger message wins. */
export const laterMark = editWins;

/**
 * Folds one more act into `m` (returns `m`, changed). Acts may come in any
 * order: the result is the same (tests/message_acts_test.ts).
 */
export function stepMessage(m: MessageState, act: MessageAct): MessageState {
  if (m.deleted) return m;
  switch (act.action) {
    case "del":
      m.deleted = true;
      m.edit = null;
      m.reactions.clear();
      return m;
    case "edit":
      if (editWins(m.edit?.key ?? null, act.key)) m.edit = { key: act.key, text: act.text };
      return m;
    case "react":
    case "unreact": {
      const who = nameKey(act.actor);
      let users = m.reactions.get(act.text);
      if (!users) m.reactions.set(act.text, users = new Map());
      const cur = users.get(who);
      if (reactionWins(cur?.key ?? null, act.key)) users.set(who, { on: act.action === "react", key: act.key });
      return m;
    }
  }
}

/** The state of a message after all of `acts` (in any order). */
export function foldMessage(acts: Iterable<MessageAct>): MessageState {
  let m = emptyMessage();
  for (const a of acts) m = stepMessage(m, a);
  return m;
}

/** Reaction counts of a message, as listed: [text, users on], texts in code-point order, none at 0. */
export function reactionCounts(m: MessageState): [string, number][] {
  const out: [string, number][] = [];
  for (const [text, users] of m.reactions) {
    let n = 0;
    for (const u of users.values()) if (u.on) n++;
    if (n > 0) out.push([text, n]);
  }
  return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** The newest of read markers given as message keys (null: none). */
export function newestMark(marks: Iterable<Key>): Key | null {
  let best: Key | null = null;
  for (const k of marks) if (laterMark(best, k)) best = k;
  return best;
}

/** How many of a room's messages (by key) come after a read marker (null: nothing read yet: all). */
export function unreadAfter(mark: Key | null, messages: Iterable<Key>): number {
  let n = 0;
  for (const k of messages) if (mark === null || compareKeys(mark, k) < 0) n++;
  return n;
}

