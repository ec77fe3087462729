/**
 * What a server remembers of its answers, so that a retransmitted request
 * is answered exactly as before and changes nothing (docs/PROTOCOL.md
 * "Retransmission"): recent reply texts in memory, and the replies of
 * state-changing verbs in the database (a login's sealed, as it carries the
 * session token), which survive a restart.
 *
 * @example
 * ```ts
 * const key = Answers.key(req, from);
 * const answer = answers.find(req, key, now) ?? answerOf(handle(req));
 * answers.remember(req, key, answer, now);
 * ```
 */
import { type Reply, type Request, tokenOf } from "../wire/messages.ts";
import { replyText } from "../wire/codec.ts";
import type { Address } from "../wire/address.ts";
import { type ClientChannel, sourceKey } from "./channel.ts";
import type { SavedReplies } from "../store/replies.ts";
import { type Answer, ReplyCache } from "./reply_cache.ts";
import { openReply, sealReply } from "./reply_seal.ts";
import { sessionId } from "../rules/session_id.ts";
import { nameKey } from "../wire/names.ts";

export type { Answer } from "./reply_cache.ts";

/** A reply as it is sent and remembered: its text (made once, by the codec) beside what it was. */
export function answerOf(reply: Reply): Answer {
  return { text: replyText(reply), error: reply.verb === "error" ? reply.code : null };
}

/** A saved reply read back: only `ok` replies are saved. */
const saved = (text: string): Answer => ({ text, error: null });

/** Verbs whose successful replies are saved in the database (when the request changed something). */
const SAVED = new Set(["login", "open", "connect", "leave", "logout"]);

/** How long a login's reply (it holds the token) is kept for retransmissions, ms; other saved replies: an hour. */
export const LOGIN_REPLY_MS = 60_000;
export const SAVED_REPLY_MS = 3_600_000;

export type AnswersOptions = {
  replies: SavedReplies;
  /** Key sealing saved login replies (lib/server/reply_seal.ts). */
  replyKey: Uint8Array;
  cache?: ReplyCache;
  /** Recent poll replies (default: at most 4,096 replies and 1 MB of text). */
  pollCache?: ReplyCache;
};

export class Answers {
  readonly cache: ReplyCache;
  /**
   * Poll replies, kept apart and small: a poll reply is up to 8 KB and every
   * session polls all the time, so caching them all would hold ~8 KB per
   * session. A retransmitted `request` whose reply was evicted is answered
   * afresh from the same cursor: the same messages from the same start, plus
   * any that arrived since (a cursor-based reply never loses or repeats a
   * message, so the client ends up in the same state).
   */
  readonly pollCache: ReplyCache;
  #replies: SavedReplies;
  #replyKey: Uint8Array;

  constructor(o: AnswersOptions) {
    this.#replies = o.replies;
    this.#replyKey = o.replyKey;
    this.cache = o.cache ?? new ReplyCache();
    this.pollCache = o.pollCache ?? new ReplyCache(4096, 1 << 20);
  }

  /**
   * Retransmission key of a request: (session, tag); for a login, which has
   * no session yet, (source — its channel, address and port —, tag, user name) — so a login
   * of another name from the same port and tag is a new request, never
   * answered with someone else's token.
   */
  static key(req: Request, from: Address, session?: string, via: Pick<ClientChannel, "name"> = { name: "" }): string {
    const token = tokenOf(req);
    if (token !== null) return `${session ?? sessionId(token)} ${req.tag}`;
    const name = "userName" in req ? nameKey(req.userName) : "";
    return `${req.verb === "login" ? "L" : req.verb} ${sourceKey(via, from)} ${req.tag} ${name}`;
  }

  /** The answer already given to this request, or null. Login replies come from the database only, for LOGIN_REPLY_MS. */
  find(req: Request, key: string, now: number): Answer | null {
    if (req.verb === "login") {
      const sealed = this.#replies.get(key, now - LOGIN_REPLY_MS);
      const text = sealed === null ? null : openReply(this.#replyKey, sealed);
      return text === null ? null : saved(text);
    }
    const cached = req.verb === "request" ? this.pollCache.get(key) : this.cache.get(key);
    if (cached !== undefined) return cached;
    if (!SAVED.has(req.verb)) return null;
    const text = this.#replies.get(key);
    if (text === null) return null;
    this.cache.set(key, saved(text));
    return saved(text);
  }

  /** The text of the answer already given to this request, or null (`find`). */
  lookup(req: Request, key: string, now: number): string | null {
    return this.find(req, key, now)?.text ?? null;
  }

  /** Remembers the answer of a held poll answered later (a message arrived, or its deadline passed). */
  rememberPoll(key: string, answer: Answer): void {
    this.pollCache.set(key, answer);
  }

  /**
   * Remembers the answer to a request; `ok` replies of state-changing
   * verbs are saved in the open transaction — unless the request changed
   * nothing (`changed` false: a `connect` to a room the session is in), whose
   * answer, asked again, is the same without a row per resend.
   */
  remember(req: Request, key: string, answer: Answer, now: number, changed = true): void {
    if (req.verb === "request") this.pollCache.set(key, answer);
    else if (req.verb !== "login") this.cache.set(key, answer);
    if (answer.error === null && changed && SAVED.has(req.verb)) {
      this.#replies.save(key, req.verb === "login" ? sealReply(this.#replyKey, answer.text) : answer.text, now);
    }
  }
}
