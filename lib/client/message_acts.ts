/**
 * What the client does with messages after they are sent (docs/PROTOCOL.md
 * "Message actions", "Search", "Read state", "Typing and away"): edit,
 * delete, react, reply, search, mentions, read markers, typing and away,
 * for both faces. It remembers the recent messages of each room it showed
 * (to quote them and to find "your last message"), turns the act notices of
 * a room's stream into changes for the UI, and seals an edit's text in a
 * sealed room or conversation as a message is sealed.
 *
 * @example
 * ```ts
 * const acts = new MessageActions({ call, ui, seal, userName: "bob" });
 * acts.seen("lobby", entry, "hello");            // each message shown
 * await acts.edit("lobby", null, "hello, world"); // your last message in lobby
 * acts.change("lobby", notice);                   // an act notice: { kind: "edit", … } to the UI
 * ```
 */
import type { MsgId, PollEntry, PresenceEntry, Reply, Request, SearchHit, UnreadEntry } from "../wire/messages.ts";
import { isClientText } from "../wire/message_text.ts";
import { nameKey, REACTION } from "../wire/names.ts";
import { describeError } from "./wording.ts";

/** How a message changed, as an act notice tells it. */
export type MessageChange =
  | { kind: "deleted"; target: MsgId; by: string }
  | { kind: "edited"; target: MsgId; by: string; text: string }
  | { kind: "reactions"; target: MsgId; by: string; reactions: [string, number][] };

/** What the UI is told (each optional: without it, a line of text). */
export type ActsUi = {
  output(line: string): void;
  error(text: string): void;
  notice(text: string): void;
  /** A message shown changed (edited, deleted, reacted to). */
  changed?(room: string, change: MessageChange): void;
  /** Search hits, best first (or mentions, newest first). */
  hits?(what: "search" | "mentions", hits: SearchHit[], more: boolean): void;
  /** Read markers and unread counts of the session's rooms. */
  unread?(entries: UnreadEntry[]): void;
  /** Who is typing or away in a room. */
  presence?(room: string, states: PresenceEntry[]): void;
};

export type ActsOptions = {
  call(build: (tag: string, token: string) => Request): Promise<Reply | null>;
  ui: ActsUi;
  userName: string;
  /** The text to send for `text` in `room` (sealed where messages are), or why not. */
  seal(room: string, text: string): Promise<{ ok: true; text: string } | { ok: false; message: string }>;
};

/** Messages remembered per room (for quotes and "the last one"). */
const KEEP = 500;

/** A room's read marker follows what is shown at most this often (each move is an op every server stores). */
const MARK_READ_MS = 3000;

/** "a.17" → { origin: "a", n: 17 }, or null. */
export function parseMsgId(text: string): MsgId | null {
  const m = /^([a-z0-9][a-z0-9_-]{0,15}(?:~[0-9a-z]{1,12})?)\.(\d{1,15})$/.exec(text);
  return m ? { origin: m[1], n: Number(m[2]) } : null;
}

export const msgIdText = (id: MsgId): string => `${id.origin}.${id.n}`;

/**
 * An act notice's change (docs/PROTOCOL.md "Message actions": "del T",
 * "edit T TEXT", "react T R=N,…"), or null for any other entry.
 */
export function changeOf(entry: PollEntry): MessageChange | null {
  const m = /^\u0001(del|edit|react|unreact) (\S+)(?: ([\s\S]*))?$/.exec(entry.msg);
  const target = m ? parseMsgId(m[2]) : null;
  if (!m || !target) return null;
  const by = entry.userName;
  if (m[1] === "del") return { kind: "deleted", target, by };
  if (m[1] === "edit") return { kind: "edited", target, by, text: m[3] ?? "" };
  const reactions = (m[3] ?? "").split(",").filter((x) => x !== "").map((x): [string, number] => {
    const eq = x.lastIndexOf("=");
    return [x.slice(0, eq), Number(x.slice(eq + 1))];
  });
  return { kind: "reactions", target, by, reactions };
}

/** True when `text` mentions `@user` (case-insensitive, a whole name). */
export function mentions(text: string, user: string): boolean {
  const esc = user.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  return new RegExp(`(^|[^A-Za-z0-9_.-])@${esc}(?![A-Za-z0-9_-])`, "i").test(text);
}

export class MessageActions {
  #o: ActsOptions;
  #marks = new Map<string, { id: MsgId; timer: ReturnType<typeof setTimeout> | null }>();
  /** Room key → msgID text → sender and shown text (insertion order: oldest first). */
  #recent = new Map<string, Map<string, { user: string; text: string }>>();
  /** Room key → who else was typing or away there, as last told. */
  #presence = new Map<string, PresenceEntry[]>();
  /** Room key → this user's newest message acknowledged there and not shown yet (its origin may list it after the ack). */
  #sentUnshown = new Map<string, { id: MsgId; text: string }>();
  /** Outbox id → room and text as typed, of this user's messages not yet acknowledged. */
  #sending = new Map<number, { room: string; text: string }>();

  constructor(o: ActsOptions) {
    this.#o = o;
  }

  /** A message of `room` was shown with `text` (opened when sealed); its sender is no longer typing there. */
  seen(room: string, e: PollEntry, text: string): void {
    if (!isClientText(e.msg)) return;
    const states = this.#presence.get(nameKey(room));
    if (states?.some((p) => p.state === "typing" && nameKey(p.userName) === nameKey(e.userName))) {
      this.#tell(room, states.filter((p) => p.state !== "typing" || nameKey(p.userName) !== nameKey(e.userName)));
    }
    let m = this.#recent.get(nameKey(room));
    if (!m) this.#recent.set(nameKey(room), m = new Map());
    if (this.#sentUnshown.has(nameKey(room)) && msgIdText(this.#sentUnshown.get(nameKey(room))!.id) === msgIdText(e.msgId)) this.#sentUnshown.delete(nameKey(room));
    m.set(msgIdText(e.msgId), { user: e.userName, text });
    if (m.size > KEEP) m.delete(m.keys().next().value!);
  }

  /** Message `outboxId` (lib/client/outbox.ts) to `room` is being sent, `text` as typed. */
  sending(outboxId: number, room: string, text: string): void {
    this.#sending.set(outboxId, { room, text });
  }

  /** Message `outboxId` was acknowledged as `msgId` (null: given up): see `sent`. */
  settled(outboxId: number, msgId: MsgId | null): void {
    const m = this.#sending.get(outboxId);
    this.#sending.delete(outboxId);
    if (m && msgId) this.sent(m.room, msgId, m.text);
  }

  /**
   * This user's message to `room` was acknowledged as `id` (`text` as typed):
   * until it is shown it is "your last message" there. The stream can list it
   * after the ack reaches the client (stable delivery at its origin waits for
   * the confirmer's `got`; a reader at the confirmer may see it first).
   */
  sent(room: string, id: MsgId, text: string): void {
    if (this.#recent.get(nameKey(room))?.has(msgIdText(id))) return; // shown already
    this.#sentUnshown.set(nameKey(room), { id, text });
  }

  /** The sender and text of a message shown in `room`, or null (not seen here). */
  quoteOf(room: string, id: MsgId): { user: string; text: string } | null {
    const unshown = this.#sentUnshown.get(nameKey(room));
    if (unshown && msgIdText(unshown.id) === msgIdText(id)) return { user: this.#o.userName, text: unshown.text };
    return this.#recent.get(nameKey(room))?.get(msgIdText(id)) ?? null;
  }

  /** An act notice of `room` as a change (the recent text is updated, a deleted message forgotten), or null for another entry. */
  change(room: string, entry: PollEntry, openedText?: string): MessageChange | null {
    const c = changeOf(entry);
    if (c === null) return null;
    const m = this.#recent.get(nameKey(room));
    const k = msgIdText(c.target);
    const unshown = this.#sentUnshown.get(nameKey(room));
    if (unshown && msgIdText(unshown.id) === k) {
      if (c.kind === "deleted") this.#sentUnshown.delete(nameKey(room));
      if (c.kind === "edited") unshown.text = openedText ?? c.text;
    }
    if (c.kind === "deleted") m?.delete(k);
    if (c.kind === "edited") {
      const was = m?.get(k);
      if (was) m!.set(k, { ...was, text: openedText ?? c.text });
      return { ...c, text: openedText ?? c.text };
    }
    return c;
  }

  /** The message an act names: `id`, or the newest shown in `room` (`own`: sent by this user). */
  #target(room: string, id: MsgId | null, own: boolean): MsgId | null {
    if (id !== null) return id;
    const unshown = own ? this.#sentUnshown.get(nameKey(room)) : undefined;
    if (unshown) return unshown.id; // sent after everything shown of ours
    const m = [...(this.#recent.get(nameKey(room)) ?? new Map()).entries()].reverse();
    const hit = m.find(([, v]) => !own || nameKey(v.user) === nameKey(this.#o.userName));
    if (!hit) this.#o.ui.error(own ? "you have sent no message here yet; give a message id (/search shows them)" : "no message here yet");
    return hit ? parseMsgId(hit[0]) : null;
  }

  async #act(room: string, action: "del" | "edit" | "react" | "read", target: MsgId, text: string, quiet = false): Promise<boolean> {
    const r = await this.#o.call((tag, token) => ({ verb: "act", tag, token, groupName: room, action, target, text }));
    if (r === null) return false;
    if (r.verb === "error") {
      if (!quiet) this.#o.ui.error(`cannot ${action === "del" ? "delete" : action} ${msgIdText(target)}: ${describeError(r.code, r.message)}`);
      return false;
    }
    return true;
  }

  /** /edit [ID] TEXT: your message (default: your last in `room`) gets new text, sealed where messages are. */
  async edit(room: string, id: MsgId | null, text: string): Promise<boolean> {
    const target = this.#target(room, id, true);
    if (target === null) return false;
    const out = await this.#o.seal(room, text);
    if (!out.ok) return (this.#o.ui.error(out.message), false);
    return this.#act(room, "edit", target, out.text);
  }

  /** /delete [ID]: your message (default: your last), or any in a room you moderate. */
  async del(room: string, id: MsgId | null): Promise<boolean> {
    const target = this.#target(room, id, true);
    return target !== null && await this.#act(room, "del", target, "");
  }

  /** /react [ID] REACTION: toggles your reaction (default: on the newest message). */
  async react(room: string, id: MsgId | null, reaction: string): Promise<boolean> {
    if (!REACTION.test(reaction)) return (this.#o.ui.error("a reaction is an emoji or a short word: no spaces, commas or ="), false);
    const target = this.#target(room, id, false);
    return target !== null && await this.#act(room, "react", target, reaction);
  }

  /** The message a reply answers: `id`, or the newest message of someone else in `room`. */
  replyTarget(room: string, id: MsgId | null): MsgId | null {
    if (id !== null) return id;
    const m = [...(this.#recent.get(nameKey(room)) ?? new Map()).entries()].reverse();
    const hit = m.find(([, v]) => nameKey(v.user) !== nameKey(this.#o.userName)) ?? m[0];
    if (!hit) this.#o.ui.error("no message here to reply to yet");
    return hit ? parseMsgId(hit[0]) : null;
  }

  /** Moves `room`'s read marker to `id` a few seconds later (the newest by then: one act, not one per message). */
  markReadSoon(room: string, id: MsgId): void {
    const k = nameKey(room);
    const m = this.#marks.get(k);
    if (m) return void (m.id = id);
    const entry: { id: MsgId; timer: ReturnType<typeof setTimeout> | null } = { id, timer: null };
    entry.timer = setTimeout(() => {
      this.#marks.delete(k);
      void this.markRead(room, entry.id);
    }, MARK_READ_MS);
    (entry.timer as { unref?: () => void }).unref?.();
    this.#marks.set(k, entry);
  }

  /** Moves the read marker of `room` to `id` (quietly: a failure costs only an unread count). */
  markRead(room: string, id: MsgId): Promise<boolean> {
    return this.#act(room, "read", id, "", true);
  }

  /** /search WORDS (in `room`, or "*": every room), best first; /mentions is a search for "@you" everywhere, newest first. */
  async search(query: string, room: string, what: "search" | "mentions" = "search"): Promise<SearchHit[]> {
    const order = what === "mentions" ? { order: "newest" as const } : {};
    const r = await this.#o.call((tag, token) => ({ verb: "search", tag, token, groupName: room, query, limit: 20, before: null, ...order }));
    if (r === null) return [];
    if (r.verb === "error") return (this.#o.ui.error(`cannot search: ${describeError(r.code, r.message)}`), []);
    if (r.verb !== "ok" || r.kind !== "search") return [];
    if (this.#o.ui.hits) this.#o.ui.hits(what, r.hits, r.more);
    else {
      this.#o.ui.output(r.hits.length === 0 ? `no ${what === "mentions" ? "mentions" : "messages"} found` : `${r.hits.length}${r.more ? "+" : ""} found, ${what === "mentions" ? "newest" : "best"} first:`);
      for (const h of r.hits) this.#o.ui.output(`  [${h.groupName}] ${msgIdText(h.msgId)} ${h.userName}: ${h.msg.replace(/\s+/g, " ").slice(0, 200)}`);
    }
    return r.hits;
  }

  /**
   * Search of what this client has opened of a sealed room or conversation
   * (the server cannot read it): every word of `query`, case-folded, in the
   * messages shown here, newest first.
   */
  searchShown(query: string, room: string): SearchHit[] {
    const words = query.toLowerCase().split(/\s+/).filter((w) => w !== "");
    const hits: SearchHit[] = [];
    for (const [id, m] of [...(this.#recent.get(nameKey(room)) ?? new Map()).entries()].reverse()) {
      const text = m.text.toLowerCase();
      if (words.every((w) => text.includes(w.replace(/\*$/, "")))) hits.push({ groupName: room, msgId: parseMsgId(id)!, userName: m.user, sentAt: 0, msg: m.text });
      if (hits.length >= 20) break;
    }
    if (this.#o.ui.hits) this.#o.ui.hits("search", hits, false);
    else {
      this.#o.ui.output(`${hits.length} found among the messages opened here (sealed: the server cannot search them), newest first:`);
      for (const h of hits) this.#o.ui.output(`  [${room}] ${msgIdText(h.msgId)} ${h.userName}: ${h.msg.replace(/\s+/g, " ").slice(0, 200)}`);
    }
    return hits;
  }

  /** /mentions: the newest messages naming you, across your rooms. */
  mentionsList(): Promise<SearchHit[]> {
    return this.search(`@${this.#o.userName}`, "*", "mentions");
  }

  /** /unread: each room's unread count. */
  async unread(quiet = false): Promise<UnreadEntry[]> {
    const r = await this.#o.call((tag, token) => ({ verb: "unread", tag, token }));
    if (r === null || r.verb !== "ok" || r.kind !== "unread") {
      if (!quiet && r?.verb === "error") this.#o.ui.error(`cannot read unread counts: ${describeError(r.code, r.message)}`);
      return [];
    }
    if (this.#o.ui.unread) this.#o.ui.unread(r.entries);
    else if (!quiet) this.#o.ui.output(`unread: ${r.entries.map((e) => `${e.groupName} ${e.unread}`).join(", ") || "no rooms"}`);
    return r.entries;
  }

  /** Says typing / idle in `room`, or away / back (`text`: the away message); tells the UI who else is. */
  async presence(room: string, state: "typing" | "idle" | "away" | "back", text = ""): Promise<PresenceEntry[]> {
    const r = await this.#o.call((tag, token) => ({ verb: "typing", tag, token, groupName: room, state, text }));
    if (r === null || r.verb !== "ok" || r.kind !== "typing") return [];
    this.#tell(room, r.states);
    return r.states;
  }

  #tell(room: string, states: PresenceEntry[]): void {
    this.#presence.set(nameKey(room), states);
    if (this.#presence.size > KEEP) this.#presence.delete(this.#presence.keys().next().value!);
    this.#o.ui.presence?.(room, states);
  }
}
