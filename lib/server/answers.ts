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
 * const text = answers.lookup(req, key) ?? encodeNew();
 * answers.remember(req, key, text, ok, now);
 * ```
 */
import { type Request, tokenOf } from "../wire/messages.ts";
import type { Address } from "../net/address.ts";
import { formatAddress } from "../net/address.ts";
import type { SavedReplies } from "../store/replies.ts";
import { ReplyCache } from "./reply_cache.ts";
import { openReply, sealReply } from "./reply_seal.ts";
import { sessionId } from "./chat.ts";
import { nameKey } from "../wire/names.ts";

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
   * no session yet, (source address and port, tag, user name) — so a login
   * of another name from the same port and tag is a new request, never
   * answered with someone else's token.
   */
  static key(req: Request, from: Address): string {
    const token = tokenOf(req);
    if (token !== null) return `${sessionId(token)} ${req.tag}`;
    const name = "userName" in req ? nameKey(req.userName) : "";
    return `${req.verb === "login" ? "L" : req.verb} ${formatAddress(from)} ${req.tag} ${name}`;
  }

  /** The reply text already given to this request, or null. Login replies come from the database only, for LOGIN_REPLY_MS. */
  lookup(req: Request, key: string, now: number): string | null {
    if (req.verb === "login") {
      const saved = this.#replies.get(key, now - LOGIN_REPLY_MS);
      return saved === null ? null : openReply(this.#replyKey, saved);
    }
    const cached = req.verb === "request" ? this.pollCache.get(key) : this.cache.get(key);
    if (cached !== undefined) return cached;
    if (!SAVED.has(req.verb)) return null;
    const saved = this.#replies.get(key);
    if (saved !== null) this.cache.set(key, saved);
    return saved;
  }

  /** Remembers the reply text of a held poll answered later (a message arrived, or its deadline passed). */
  rememberPoll(key: string, text: string): void {
    this.pollCache.set(key, text);
  }

  /**
   * Remembers the reply text of a request; `ok` replies of state-changing
   * verbs are saved in the open transaction — unless the request changed
   * nothing (`changed` false: a `connect` to a room the session is in), whose
   * answer, asked again, is the same without a row per resend.
   */
  remember(req: Request, key: string, text: string, ok: boolean, now: number, changed = true): void {
    if (req.verb === "request") this.pollCache.set(key, text);
    else if (req.verb !== "login") this.cache.set(key, text);
    if (ok && changed && SAVED.has(req.verb)) {
      this.#replies.save(key, req.verb === "login" ? sealReply(this.#replyKey, text) : text, now);
    }
  }
}
