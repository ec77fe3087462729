/**
 * The client request handler: a decoded request, the store and the time in;
 * a reply value (or a long poll to hold) out. One small function per verb,
 * each citing the docs/PROTOCOL.md clause it implements. Writes go into the
 * store's open transaction; the group commit commits before replies are
 * sent. Bytes are lib/wire/codec.ts's business, and remembering answers for
 * retransmissions is lib/server/answers.ts's.
 *
 * @example
 * ```ts
 * const chat = new Chat({ store, random: randomBytes });
 * store.begin();
 * const out = chat.handle({ verb: "login", tag: "1", userName: "bob" }, Date.now(), "L 127.0.0.1:5000 1");
 * store.commit();
 * if ("reply" in out) send(encodeReply(out.reply));
 * ```
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type {
  AddRequest,
  HistoryRequest,
  ErrorCode,
  LoginRequest,
  LogoutRequest,
  PollReply,
  PollRequest,
  Reply,
  Request,
  RoomRequest,
  RoomsRequest,
  WhoRequest,
} from "../wire/messages.ts";
import { MAX_DATAGRAM, MAX_WAIT_MS } from "../wire/messages.ts";
import { formatVector } from "../wire/vector.ts";
import { fitHistory, fitNames, fitPoll } from "../wire/fit.ts";
import type { SessionRecord, Store } from "../store/store.ts";
import { isLive } from "../store/rules.ts";
import type { Waiter } from "./held_polls.ts";

/** What to do with a request: send this reply, or hold the poll. */
export type Outcome = { reply: Reply } | { wait: Waiter };

export type ChatOptions = {
  store: Store;
  /** `n` random bytes (node:crypto randomBytes in production): session tokens. */
  random: (n: number) => Uint8Array;
  /** Idle lifetime of new sessions, seconds. */
  sessionTtl?: number;
  /** The server a new message names as its confirmer (two-disk acks), or undefined for none. */
  confirmer?: () => string | undefined;
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
  #random: (n: number) => Uint8Array;
  #confirmer: () => string | undefined;

  constructor(options: ChatOptions) {
    this.store = options.store;
    this.sessionTtl = options.sessionTtl ?? 300;
    this.#random = options.random;
    this.#confirmer = options.confirmer ?? (() => undefined);
  }

  /**
   * Answers one request that was not answered before (lib/server/answers.ts
   * checks that); `key` is its retransmission key, which a held poll keeps.
   * Throws only on unexpected faults.
   */
  handle(req: Request, now: number, key: string, maxBytes = MAX_DATAGRAM): Outcome {
    try {
      return this.#dispatch(req, now, key, Math.min(maxBytes, MAX_DATAGRAM));
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      return { reply: { verb: "error", tag: req.tag, code: e.code, message: e.message } };
    }
  }

  /** `max`: the longest reply this requester may get (lib/server/address_budget.ts); lists and polls shrink to it. */
  #dispatch(req: Request, now: number, key: string, max: number): Outcome {
    switch (req.verb) {
      case "login":
        return { reply: this.#login(req, now) };
      case "open":
        return { reply: this.#open(req, now) };
      case "connect":
        return { reply: this.#connect(req, now) };
      case "leave":
        return { reply: this.#leave(req, now) };
      case "rooms":
        return { reply: this.#rooms(req, now, max) };
      case "who":
        return { reply: this.#who(req, now, max) };
      case "logout":
        return { reply: this.#logout(req, now) };
      case "add":
        return { reply: this.#add(req, now) };
      case "request":
        return this.#request(req, key, now, max);
      case "history":
        return { reply: this.#history(req, now, max) };
    }
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
    if (this.store.sessions.liveHolder(req.userName, now)) {
      refuse("name-taken", `user name ${req.userName} is in use`);
    }
    const token = Buffer.from(this.#random(32)).toString("base64url");
    const ttl = this.sessionTtl;
    this.store.appendLocal({ kind: "login", session: sessionId(token), userName: req.userName, ttl }, now);
    return { verb: "ok", tag: req.tag, kind: "login", userName: req.userName, token, ttl };
  }

  /** [PROTOCOL "open"] creates a room and joins it; `room-exists` if it exists. */
  #open(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    if (this.store.rooms.name(req.groupName) !== null) refuse("room-exists", `room ${req.groupName} exists`);
    this.store.appendLocal({ kind: "open", session: s.id, groupName: req.groupName }, now);
    return { verb: "ok", tag: req.tag, kind: "open", groupName: req.groupName };
  }

  /** [PROTOCOL "connect"] joins an existing room; joining twice is not an error. */
  #connect(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.store.rooms.name(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    if (!this.store.rooms.isMember(name, s.id)) {
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
  #rooms(req: RoomsRequest, now: number, max: number): Reply {
    this.#auth(req.token, now);
    const names = this.store.rooms.after(req.after, PAGE);
    const fit = fitNames(["ok", req.tag, "rooms"], names, names.length === PAGE, max);
    return { verb: "ok", tag: req.tag, kind: "rooms", more: fit.more, names: fit.names };
  }

  /** [PROTOCOL "who"] live members sorted case-insensitively, after `after`, as many as fit. */
  #who(req: WhoRequest, now: number, max: number): Reply {
    this.#auth(req.token, now);
    const name = this.store.rooms.name(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    const live: string[] = [];
    let after = req.after;
    let exhausted = false;
    while (live.length < PAGE) {
      const page = this.store.membersAfter(name, after, PAGE, now);
      for (const m of page) if (isLive(m, now)) live.push(m.user);
      if (page.length < PAGE) {
        exhausted = true;
        break;
      }
      after = page[page.length - 1].user;
    }
    const fit = fitNames(["ok", req.tag, "who", name], live, !exhausted, max);
    return { verb: "ok", tag: req.tag, kind: "who", groupName: name, more: fit.more, names: fit.names };
  }

  /** [PROTOCOL "logout"] ends the session and its memberships. */
  #logout(req: LogoutRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    this.store.appendLocal({ kind: "logout", session: s.id }, now);
    return { verb: "ok", tag: req.tag, kind: "logout" };
  }

  /**
   * [PROTOCOL "add"] appends to a room the session is a member of; acked
   * after commit. An add whose (session, tag) is already stored — a
   * retransmission that reached this server after another stored it, or
   * after its reply was forgotten — is answered with the stored message.
   */
  #add(req: AddRequest, now: number): Reply {
    const stored = this.store.messages.byTag(sessionId(req.token), req.tag);
    if (stored) {
      const groupName = this.store.rooms.name(stored.rkey) ?? req.groupName;
      const msgId = { origin: stored.origin, n: stored.seq };
      return { verb: "ok", tag: req.tag, kind: "add", msg: stored.msg, groupName, msgId };
    }
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    const conf = this.#confirmer();
    const msg = { kind: "msg" as const, session: s.id, tag: req.tag, groupName: name, userName: s.user, msg: req.msg };
    const op = this.store.appendLocal(
      conf === undefined ? msg : { ...msg, conf },
      now,
      true, // byTag above found no visible message of this (session, tag)
    );
    return { verb: "ok", tag: req.tag, kind: "add", msg: req.msg, groupName: name, msgId: { origin: op.origin, n: op.seq } };
  }

  /** [PROTOCOL "request"] messages the cursor does not cover; held up to waitMs when none. */
  #request(req: PollRequest, key: string, now: number, max: number): Outcome {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    const waiter: Waiter = {
      key,
      tag: req.tag,
      session: s.id,
      groupName: name,
      cursor: req.cursor,
      deadline: now + Math.min(req.waitMs, MAX_WAIT_MS),
      maxBytes: max,
    };
    const reply = this.pollMany([waiter], req.waitMs <= 0)[0];
    return reply === null ? { wait: waiter } : { reply };
  }

  /**
   * [PROTOCOL "History"] the newest `limit` visible messages (before
   * `before`), as many as fit, oldest first, with the live-tail cursor: per
   * origin, the last message of the room stored here.
   */
  #history(req: HistoryRequest, now: number, max: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s);
    const before = req.before && { origin: req.before.origin, seq: req.before.n };
    const page = this.store.messages.newest(name, before, req.limit + 1);
    if (page === null) return refuse("no-message", `message ${req.before!.origin}.${req.before!.n} is not on this server (yet)`);
    const cursor = this.store.messages.tail(name, this.store.vector().keys());
    const fit = fitHistory(req.tag, name, cursor, page.slice(0, req.limit), page.length > req.limit, max);
    return { verb: "ok", tag: req.tag, kind: "history", groupName: name, cursor, more: fit.more, entries: fit.entries };
  }

  /** The room's display name when `s` is a member; `not-member` otherwise. */
  #memberRoom(groupName: string, s: SessionRecord): string {
    const name = this.store.rooms.memberRoom(groupName, s.id);
    if (name === null) {
      refuse("not-member", `not a member of ${groupName}`);
    }
    return name as string;
  }

  /**
   * Poll replies for several waiters, in order (null: nothing new and not
   * `orEmpty`). Waiters of the same room with the same cursor and tag length
   * get the same entries, so those are read (one SQLite range scan per
   * origin) once per distinct cursor, and their replies share one entries
   * array, which the codec formats once (lib/wire/codec.ts `replyText`).
   * A fan-out to 1,000 polls of one cursor is one read.
   */
  pollMany(
    ws: readonly { tag: string; groupName: string; cursor: Waiter["cursor"]; maxBytes?: number }[],
    orEmpty: boolean,
  ): (PollReply | null)[] {
    const out: (PollReply | null)[] = new Array(ws.length).fill(null);
    const groups = new Map<string, number[]>();
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i];
      const k = `${w.groupName.length}:${w.groupName} ${w.tag.length} ${w.maxBytes ?? MAX_DATAGRAM} ${formatVector(w.cursor)}`;
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    }
    for (const idx of groups.values()) {
      const first = ws[idx[0]];
      const max = Math.min(first.maxBytes ?? MAX_DATAGRAM, MAX_DATAGRAM);
      const fit = fitPoll(first.tag, first.groupName, first.cursor, this.store.uncovered(first.groupName, first.cursor), max);
      if (fit.entries.length === 0 && !orEmpty) continue;
      const shared = { verb: "poll" as const, groupName: first.groupName, cursor: fit.cursor, more: fit.more, entries: fit.entries };
      for (const i of idx) out[i] = { ...shared, tag: ws[i].tag };
    }
    return out;
  }
}
