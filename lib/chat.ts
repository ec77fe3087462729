/**
 * The client request handler: a decoded request, the store and the time in;
 * the reply text (or a long poll to hold) out. One small function per verb,
 * each citing the PROTOCOL.md clause it implements. Writes go into the
 * store's open transaction; the caller commits before sending replies.
 *
 * @example
 * ```ts
 * const chat = new Chat({ store, replyKey });
 * store.begin();
 * const out = chat.handle({ verb: "login", tag: "1", userName: "bob" }, from, Date.now());
 * store.commit();
 * if ("text" in out) send(out.text);
 * ```
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { replyText } from "./codec.ts";
import type {
  AddRequest,
  ErrorCode,
  LoginRequest,
  LogoutRequest,
  PollRequest,
  Reply,
  Request,
  RoomRequest,
  RoomsRequest,
  WhoRequest,
} from "./messages.ts";
import { MAX_WAIT_MS } from "./messages.ts";
import type { Address } from "./servers_file.ts";
import { formatAddress } from "./servers_file.ts";
import type { SessionRecord, Store } from "./store.ts";
import { isLive } from "./store.ts";
import type { Vector } from "./vector.ts";
import { formatVector } from "./vector.ts";
import { ReplyCache } from "./chat/reply_cache.ts";
import { openReply, sealReply } from "./chat/reply_seal.ts";
import { fitNames, fitPoll } from "./chat/fit.ts";

/** A long poll being held: answered when a message arrives or at `deadline`. */
export type Waiter = {
  /** Reply-cache key: session and tag. */
  key: string;
  tag: string;
  session: string;
  groupName: string;
  cursor: Vector;
  deadline: number;
};

/** What to do with a request: send this text, or hold the poll. */
export type Outcome = { text: string } | { wait: Waiter };

export type ChatOptions = {
  store: Store;
  /** Key sealing saved login replies (lib/chat/reply_seal.ts). */
  replyKey: Uint8Array;
  /** Idle lifetime of new sessions, seconds. */
  sessionTtl?: number;
  cache?: ReplyCache;
  /** Recent poll replies (default: at most 4,096 replies and 1 MB of text). */
  pollCache?: ReplyCache;
};

/** The last token hashed and its id: one request asks for its session id up to four times. */
let memoToken = "";
let memoId = "";

/** SHA-256 of a token, hex: the session id (tokens themselves are never stored). */
export function sessionId(token: string): string {
  if (token === memoToken && memoId !== "") return memoId;
  const id = createHash("sha256").update(token).digest("hex");
  memoToken = token;
  memoId = id;
  return id;
}

/** Verbs whose successful replies are saved in the database. */
const SAVED = new Set(["login", "open", "connect", "leave", "logout"]);

/** Page size when reading names to fit into one reply. */
const PAGE = 1200;

class Refusal extends Error {
  code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const refuse = (code: ErrorCode, message: string): never => {
  throw new Refusal(code, message);
};

export class Chat {
  readonly store: Store;
  readonly sessionTtl: number;
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
  #replyKey: Uint8Array;

  constructor(options: ChatOptions) {
    this.store = options.store;
    this.sessionTtl = options.sessionTtl ?? 300;
    this.cache = options.cache ?? new ReplyCache();
    this.pollCache = options.pollCache ?? new ReplyCache(4096, 1 << 20);
    this.#replyKey = options.replyKey;
  }

  /** Cache key of a request: (source, tag) for login, (session, tag) otherwise. */
  static key(req: Request, from: Address): string {
    return req.verb === "login" ? `L ${formatAddress(from)} ${req.tag}` : `${sessionId(req.token)} ${req.tag}`;
  }

  /**
   * Answers one request. A request answered before (same key) gets the same
   * text and changes nothing. Throws only on unexpected faults.
   */
  handle(req: Request, from: Address, now: number): Outcome {
    const key = Chat.key(req, from);
    const seen = this.#answered(req, key);
    if (seen !== null) return { text: seen };
    let outcome: Outcome;
    try {
      outcome = this.#dispatch(req, key, now);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      outcome = { text: replyText({ verb: "error", tag: req.tag, code: e.code, message: e.message }) };
    }
    if ("text" in outcome) {
      if (req.verb === "request") this.pollCache.set(key, outcome.text);
      else this.cache.set(key, outcome.text);
      if (SAVED.has(req.verb) && outcome.text.startsWith("ok\n")) {
        const body = req.verb === "login" ? sealReply(this.#replyKey, outcome.text) : outcome.text;
        this.store.saveReply(key, body, now);
      }
    }
    return outcome;
  }

  /** The reply already given to this request, if any. */
  #answered(req: Request, key: string): string | null {
    const cached = req.verb === "request" ? this.pollCache.get(key) : this.cache.get(key);
    if (cached !== undefined) return cached;
    if (req.verb === "add") {
      const stored = this.store.addByTag(sessionId(req.token), req.tag);
      if (!stored) return null;
      const groupName = this.store.roomName(stored.rkey) ?? req.groupName;
      const text = replyText({
        verb: "ok",
        tag: req.tag,
        kind: "add",
        msg: stored.msg,
        groupName,
        msgId: { origin: stored.origin, n: stored.seq },
      });
      this.cache.set(key, text);
      return text;
    }
    if (!SAVED.has(req.verb)) return null;
    const saved = this.store.savedReply(key);
    if (saved === null) return null;
    const text = req.verb === "login" ? openReply(this.#replyKey, saved) : saved;
    if (text !== null) this.cache.set(key, text);
    return text;
  }

  #dispatch(req: Request, key: string, now: number): Outcome {
    switch (req.verb) {
      case "login":
        return this.#reply(this.#login(req, now));
      case "open":
        return this.#reply(this.#open(req, now));
      case "connect":
        return this.#reply(this.#connect(req, now));
      case "leave":
        return this.#reply(this.#leave(req, now));
      case "rooms":
        return this.#reply(this.#rooms(req, now));
      case "who":
        return this.#reply(this.#who(req, now));
      case "logout":
        return this.#reply(this.#logout(req, now));
      case "add":
        return this.#reply(this.#add(req, now));
      case "request":
        return this.#request(req, key, now);
    }
  }

  #reply(r: Reply): Outcome {
    return { text: replyText(r) };
  }

  /** The live session of a token, refreshed; `bad-token` otherwise. [PROTOCOL "login": every request but login refreshes] */
  #auth(token: string, now: number): SessionRecord {
    const id = sessionId(token);
    const s = this.store.session(id);
    if (!s || !timingSafeEqual(Buffer.from(s.id), Buffer.from(id)) || !isLive(s, now)) {
      return refuse("bad-token", "unknown, ended or expired session; log in again");
    }
    this.store.refresh(s, now);
    return s;
  }

  /** [PROTOCOL "login"] claims a name held by no live session; token = 32 random bytes. */
  #login(req: LoginRequest, now: number): Reply {
    if (this.store.liveHolder(req.userName, now)) {
      refuse("name-taken", `user name ${req.userName} is in use`);
    }
    const token = randomBytes(32).toString("base64url");
    const ttl = this.sessionTtl;
    this.store.appendLocal({ kind: "login", session: sessionId(token), userName: req.userName, ttl }, now);
    return { verb: "ok", tag: req.tag, kind: "login", userName: req.userName, token, ttl };
  }

  /** [PROTOCOL "open"] creates a room and joins it; `room-exists` if it exists. */
  #open(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    if (this.store.roomName(req.groupName) !== null) refuse("room-exists", `room ${req.groupName} exists`);
    this.store.appendLocal({ kind: "open", session: s.id, groupName: req.groupName }, now);
    return { verb: "ok", tag: req.tag, kind: "open", groupName: req.groupName };
  }

  /** [PROTOCOL "connect"] joins an existing room; joining twice is not an error. */
  #connect(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.store.roomName(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    if (!this.store.isMember(name, s.id)) {
      this.store.appendLocal({ kind: "join", session: s.id, groupName: name }, now);
    }
    return { verb: "ok", tag: req.tag, kind: "connect", groupName: name };
  }

  /** [PROTOCOL "leave"] ends membership; `not-member` without it. */
  #leave(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    this.store.appendLocal({ kind: "leave", session: s.id, groupName: name }, now);
    return { verb: "ok", tag: req.tag, kind: "leave", groupName: name };
  }

  /** [PROTOCOL "rooms"] rooms sorted case-insensitively, after `after`, as many as fit. */
  #rooms(req: RoomsRequest, now: number): Reply {
    this.#auth(req.token, now);
    const names = this.store.roomsAfter(req.after, PAGE);
    const fit = fitNames(["ok", req.tag, "rooms"], names, names.length === PAGE);
    return { verb: "ok", tag: req.tag, kind: "rooms", more: fit.more, names: fit.names };
  }

  /** [PROTOCOL "who"] live members sorted case-insensitively, after `after`, as many as fit. */
  #who(req: WhoRequest, now: number): Reply {
    this.#auth(req.token, now);
    const name = this.store.roomName(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    const live: string[] = [];
    let after = req.after;
    let exhausted = false;
    while (live.length < PAGE) {
      const page = this.store.membersAfter(name, after, PAGE);
      for (const m of page) if (isLive(m, now)) live.push(m.user);
      if (page.length < PAGE) {
        exhausted = true;
        break;
      }
      after = page[page.length - 1].user;
    }
    const fit = fitNames(["ok", req.tag, "who", name], live, !exhausted);
    return { verb: "ok", tag: req.tag, kind: "who", groupName: name, more: fit.more, names: fit.names };
  }

  /** [PROTOCOL "logout"] ends the session and its memberships. */
  #logout(req: LogoutRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    this.store.appendLocal({ kind: "logout", session: s.id }, now);
    return { verb: "ok", tag: req.tag, kind: "logout" };
  }

  /** [PROTOCOL "add"] appends to a room the session is a member of; acked after commit. */
  #add(req: AddRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    const op = this.store.appendLocal(
      { kind: "msg", session: s.id, tag: req.tag, groupName: name, userName: s.user, msg: req.msg },
      now,
    );
    return { verb: "ok", tag: req.tag, kind: "add", msg: req.msg, groupName: name, msgId: { origin: op.origin, n: op.seq } };
  }

  /** [PROTOCOL "request"] messages the cursor does not cover; held up to waitMs when none. */
  #request(req: PollRequest, key: string, now: number): Outcome {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    const waiter: Waiter = {
      key,
      tag: req.tag,
      session: s.id,
      groupName: name,
      cursor: req.cursor,
      deadline: now + Math.min(req.waitMs, MAX_WAIT_MS),
    };
    const text = this.poll(waiter, req.waitMs <= 0);
    return text === null ? { wait: waiter } : { text };
  }

  /** The room's display name when `s` is a member; `not-member` otherwise. */
  #memberRoom(groupName: string, s: SessionRecord): string {
    const name = this.store.memberRoom(groupName, s.id);
    if (name === null) {
      refuse("not-member", `not a member of ${groupName}`);
    }
    return name as string;
  }

  /**
   * The poll reply for a held or new request: null when nothing is new and
   * `orEmpty` is false. A reply is remembered (briefly: `pollCache`) for retransmissions.
   */
  poll(w: Waiter, orEmpty: boolean): string | null {
    return this.pollMany([w], orEmpty)[0];
  }

  /**
   * Poll replies for several waiters, in order (null: nothing new and not
   * `orEmpty`). Waiters of the same room with the same cursor and tag length
   * get the same entries, so those are read (one SQLite range scan per
   * origin) and formatted once per distinct cursor; the texts differ only in
   * the tag line. A fan-out to 1,000 polls of one cursor is one read.
   */
  pollMany(ws: readonly Waiter[], orEmpty: boolean): (string | null)[] {
    const out: (string | null)[] = new Array(ws.length).fill(null);
    const groups = new Map<string, number[]>();
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i];
      const k = `${w.groupName.length}:${w.groupName} ${w.tag.length} ${formatVector(w.cursor)}`;
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    }
    for (const idx of groups.values()) {
      const first = ws[idx[0]];
      const fit = fitPoll(first.tag, first.groupName, first.cursor, this.store.uncovered(first.groupName, first.cursor));
      if (fit.entries.length === 0 && !orEmpty) continue;
      const text = replyText({
        verb: "poll",
        tag: first.tag,
        groupName: first.groupName,
        cursor: fit.cursor,
        more: fit.more,
        entries: fit.entries,
      });
      // "poll\n<tag>\n<rest>": the rest is the same for every waiter of the group.
      const rest = text.slice(6 + first.tag.length);
      for (const i of idx) {
        const w = ws[i];
        const t = i === idx[0] ? text : `poll\n${w.tag}\n${rest}`;
        this.pollCache.set(w.key, t);
        out[i] = t;
      }
    }
    return out;
  }
}
