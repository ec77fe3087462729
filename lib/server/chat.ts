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
  AccountRequest,
  AddRequest,
  AuthRequest,
  DmsRequest,
  ErrorCode,
  HistoryRequest,
  LoginRequest,
  LogoutRequest,
  ModRequest,
  PollReply,
  PollRequest,
  PublicKeyRequest,
  RegisterRequest,
  Reply,
  Request,
  RoomInfoRequest,
  RoomRequest,
  RoomsRequest,
  WhoisRequest,
  WhoRequest,
} from "../wire/messages.ts";
import { USER_NAME } from "../wire/names.ts";
import { regData, verifierData } from "../accounts/ledger.ts";
import { mayJoin, refusal as modRefusal } from "../moderation/rules.ts";
import { AccountDesk } from "./account_desk.ts";
import { banned, conversation, conversationsOf, roomAccess } from "./direct.ts";
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
  /** Secret for the made-up salts of names that are not registered (the cluster key; default: random per process). */
  secret?: Uint8Array;
};

/** The session id of account ops made without a session (`password`, `drop`). */
const NO_SESSION = "0".repeat(64);

/** Notices in a room's stream are entries whose text starts with this (docs/PROTOCOL.md "Notices"); clients may send only "\u0001me ". */
export const NOTICE = "\u0001";

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
  /** SCRAM challenges and the guessing guard. */
  readonly accounts: AccountDesk;
  #random: (n: number) => Uint8Array;
  #confirmer: () => string | undefined;

  constructor(options: ChatOptions) {
    this.store = options.store;
    this.sessionTtl = options.sessionTtl ?? 300;
    this.#random = options.random;
    this.#confirmer = options.confirmer ?? (() => undefined);
    this.accounts = new AccountDesk({ secret: options.secret ?? options.random(32), random: options.random });
  }

  /**
   * Answers one request that was not answered before (lib/server/answers.ts
   * checks that); `key` is its retransmission key, which a held poll keeps.
   * Throws only on unexpected faults.
   */
  handle(req: Request, now: number, key: string, maxBytes = MAX_DATAGRAM, source = ""): Outcome {
    try {
      return this.#dispatch(req, now, key, Math.min(maxBytes, MAX_DATAGRAM), source);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      return { reply: { verb: "error", tag: req.tag, code: e.code, message: e.message } };
    }
  }

  /** `max`: the longest reply this requester may get (lib/server/address_budget.ts); lists and polls shrink to it. */
  #dispatch(req: Request, now: number, key: string, max: number, source: string): Outcome {
    switch (req.verb) {
      case "login":
        return { reply: req.proof === undefined ? this.#login(req, now) : this.#passwordLogin(req, now, source) };
      case "auth":
        return { reply: this.#authChallenge(req, now, source) };
      case "register":
        return { reply: this.#register(req, now) };
      case "password":
      case "drop":
        return { reply: this.#account(req, now, source) };
      case "pubkey":
        return { reply: this.#pubkey(req, now) };
      case "whois":
        return { reply: this.#whois(req, now) };
      case "dms":
        return { reply: this.#dms(req, now, max) };
      case "room":
        return { reply: this.#roomInfo(req, now, max) };
      case "mod":
        return { reply: this.#mod(req, now) };
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
    if (!this.store.accounts.mayUse(s.id, s.user)) {
      // The name was registered by someone else (ARCHITECTURE.md "Accounts"): this session ends on every server.
      this.store.appendLocal({ kind: "logout", session: s.id }, now);
      return refuse("bad-token", `the name ${s.user} is registered and you did not log in with its password: you are logged out; log in with another name`);
    }
    this.store.refresh(s, now);
    return s;
  }

  /** [PROTOCOL "login"] claims a name held by no live session; token = 32 random bytes. */
  #login(req: LoginRequest, now: number): Reply {
    if (this.store.accounts.get(req.userName) !== null) {
      refuse("name-taken", `user name ${req.userName} is registered: log in with its password`);
    }
    if (this.store.sessions.liveHolder(req.userName, now)) {
      refuse("name-taken", `user name ${req.userName} is in use`);
    }
    return this.#newSession(req.tag, req.userName, now);
  }

  #newSession(tag: string, userName: string, now: number, account?: string, serverFinal?: string): Reply {
    const token = Buffer.from(this.#random(32)).toString("base64url");
    const ttl = this.sessionTtl;
    const login = { kind: "login" as const, session: sessionId(token), userName, ttl };
    this.store.appendLocal(account === undefined ? login : { ...login, account }, now);
    const reply = { verb: "ok" as const, tag, kind: "login" as const, userName, token, ttl };
    return serverFinal === undefined ? reply : { ...reply, serverFinal };
  }

  // --- Accounts: docs/PROTOCOL.md "Accounts" -----------------------------------

  /** [PROTOCOL "auth"] SCRAM server-first; a name that is not registered gets a made-up salt, so nothing tells it apart. */
  #authChallenge(req: AuthRequest, now: number, source: string): Reply {
    const r = this.accounts.challenge(req, this.store.accounts.get(req.userName), source, now);
    if ("code" in r) return refuse(r.code, r.message);
    return { verb: "ok", tag: req.tag, kind: "auth", userName: req.userName, serverFirst: r.serverFirst };
  }

  /** The account of `userName` when `proof` proves its password; the refusal otherwise. */
  #prove(userName: string, proof: string, now: number, source: string) {
    const acct = this.store.accounts.get(userName);
    const r = this.accounts.verify(userName, proof, acct, source, now);
    if ("code" in r) return refuse(r.code, r.message);
    return { acct: acct!, serverFinal: r.serverFinal };
  }

  /** [PROTOCOL "login" with a proof] a new session bound to the account; other sessions of the name go on. */
  #passwordLogin(req: LoginRequest, now: number, source: string): Reply {
    const { acct, serverFinal } = this.#prove(req.userName, req.proof!, now, source);
    return this.#newSession(req.tag, acct.name, now, acct.reg, serverFinal);
  }

  /** [PROTOCOL "register"] registers the name the session holds. */
  #register(req: RegisterRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    if (this.store.accounts.get(s.user) !== null) refuse("name-taken", `user name ${s.user} is registered already`);
    this.store.appendLocal({ kind: "acct", action: "reg", session: s.id, userName: s.user, data: regData(req.verifier, req.publicKey) }, now);
    return { verb: "ok", tag: req.tag, kind: "register", userName: s.user };
  }

  /** [PROTOCOL "password", "drop"] proven by a fresh SCRAM exchange. */
  #account(req: AccountRequest, now: number, source: string): Reply {
    const { acct, serverFinal } = this.#prove(req.userName, req.proof, now, source);
    const data = req.verb === "password" ? `${acct.reg} ${verifierData(req.verifier!)}` : acct.reg;
    this.store.appendLocal({ kind: "acct", action: req.verb === "password" ? "pass" : "drop", session: NO_SESSION, userName: acct.name, data }, now);
    return { verb: "ok", tag: req.tag, kind: req.verb, userName: acct.name, serverFinal };
  }

  /** [PROTOCOL "pubkey"] publishes the DM key of the session's account. */
  #pubkey(req: PublicKeyRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const acct = this.store.accounts.get(s.user) ?? refuse("not-allowed", "only a registered name publishes a key: /register first");
    this.store.appendLocal({ kind: "acct", action: "key", session: s.id, userName: s.user, data: `${acct.reg} ${req.publicKey}` }, now);
    return { verb: "ok", tag: req.tag, kind: "pubkey", userName: s.user };
  }

  /** [PROTOCOL "whois"] registered or not, idle time of a live session, public key, rooms in common. */
  #whois(req: WhoisRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const acct = this.store.accounts.get(req.userName);
    const holder = this.store.sessions.liveHolder(req.userName, now);
    if (acct === null && holder === null) refuse("no-user", `no user ${req.userName} is logged in or registered`);
    const mine = new Set(this.store.rooms.ofSession(s.id));
    const rooms = holder === null ? [] : this.store.rooms.ofSession(holder.id).filter((r) => mine.has(r)).map((r) => this.store.rooms.name(r) ?? r);
    const userName = acct?.name ?? holder!.user;
    const idle = holder === null ? null : Math.max(0, Math.floor((now - holder.lastActive) / 1000));
    return { verb: "ok", tag: req.tag, kind: "whois", userName, registered: acct !== null, idle, publicKey: acct?.publicKey ?? "-", rooms: rooms.slice(0, 50) };
  }

  /** [PROTOCOL "dms"] the session's direct conversations and their newest message. */
  #dms(req: DmsRequest, now: number, max: number): Reply {
    const s = this.#auth(req.token, now);
    const entries = [];
    let bytes = 40;
    for (const { rkey, address } of conversationsOf(this.store, s, now, 200)) {
      const newest = this.store.messages.newest(rkey, null, 1);
      const last = newest && newest.length > 0 ? { origin: newest[0].origin, n: newest[0].seq } : null;
      const e = { groupName: address, last };
      bytes += e.groupName.length + 40;
      if (bytes > max) break;
      entries.push(e);
    }
    return { verb: "ok", tag: req.tag, kind: "dms", entries };
  }

  // --- Moderation: docs/PROTOCOL.md "Moderation" -------------------------------

  /** [PROTOCOL "room"] topic, mode and roles. */
  #roomInfo(req: RoomInfoRequest, now: number, max: number): Reply {
    this.#auth(req.token, now);
    const name = this.store.rooms.name(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    const m = this.store.moderation.get(name);
    const roles = [
      ...(m.owner === null ? [] : [`~${m.owner}`]),
      ...[...m.ops.values()].map((n) => `@${n}`),
      ...[...m.bans.values()].map((n) => `!${n}`),
      ...[...m.invites.values()].map((n) => `+${n}`),
    ];
    const topic = m.topic?.text ?? "";
    let bytes = 120 + topic.length * 2;
    const fit = roles.filter((r) => (bytes += r.length + 1) <= max);
    return {
      verb: "ok", tag: req.tag, kind: "room", groupName: name, mode: m.inviteOnly ? "+i" : "-",
      topicBy: m.topic?.by ?? "-", topicAt: m.topic?.at ?? 0, topic, roles: fit,
    };
  }

  /** [PROTOCOL "mod"] checked against the room's state here, then settled everywhere by lib/moderation/rules.ts. */
  #mod(req: ModRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.store.rooms.name(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    const a = req.action;
    if (a === "topic" ? req.target !== "-" : a === "mode" ? req.target !== "+i" && req.target !== "-i" : !USER_NAME.test(req.target)) {
      refuse("bad-request", a === "topic" ? 'a topic\'s target is "-"' : a === "mode" ? 'mode is "+i" or "-i"' : `"${req.target}" is not a user name`);
    }
    const why = modRefusal(this.store.moderation.get(name), s.user, a, req.target);
    if (why !== null) refuse("not-allowed", why);
    this.store.appendLocal({ kind: "mod", action: a, session: s.id, groupName: name, userName: s.user, target: req.target, text: req.text }, now);
    return { verb: "ok", tag: req.tag, kind: "mod", groupName: name, action: a, target: req.target };
  }

  /** [PROTOCOL "open"] creates a room and joins it; `room-exists` if it exists. */
  #open(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    if (this.store.rooms.name(req.groupName) !== null) refuse("room-exists", `room ${req.groupName} exists`);
    // Its creator owns the room (lib/moderation/rules.ts): of two concurrent opens, the one that names the room.
    this.store.appendLocal({ kind: "open", session: s.id, groupName: req.groupName }, now);
    return { verb: "ok", tag: req.tag, kind: "open", groupName: req.groupName };
  }

  /** [PROTOCOL "connect"] joins an existing room; joining twice is not an error. */
  #connect(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.store.rooms.name(req.groupName) ?? refuse("no-room", `no room ${req.groupName}`);
    const ban = banned(this.store, name, s);
    if (ban !== null) refuse("not-member", ban);
    if ("refused" in roomAccess(this.store, name, s)) {
      // Not a member, or kicked since joining: join (again).
      if (!mayJoin(this.store.moderation.get(name), s.user)) refuse("not-member", `${name} is invite-only: ask one of its operators to /invite you`);
      this.store.appendLocal({ kind: "join", session: s.id, groupName: name }, now);
    }
    return { verb: "ok", tag: req.tag, kind: "connect", groupName: name };
  }

  /** [PROTOCOL "leave"] ends membership; `not-member` without it. */
  #leave(req: RoomRequest, now: number): Reply {
    const s = this.#auth(req.token, now);
    const name = this.#memberRoom(req.groupName, s, now).name;
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
    // Members kicked or banned since they joined are not listed (checked only in rooms that had a kick or ban).
    const removed = this.store.moderation.get(name).kicks.size > 0;
    const live: string[] = [];
    let after = req.after;
    let exhausted = false;
    while (live.length < PAGE) {
      const page = this.store.membersAfter(name, after, PAGE, now);
      for (const m of page) if (isLive(m, now) && (!removed || "name" in roomAccess(this.store, name, m))) live.push(m.user);
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
      const groupName = stored.rkey.startsWith("@") ? req.groupName : this.store.rooms.name(stored.rkey) ?? req.groupName;
      const msgId = { origin: stored.origin, n: stored.seq };
      return { verb: "ok", tag: req.tag, kind: "add", msg: stored.msg, groupName, msgId };
    }
    const s = this.#auth(req.token, now);
    const { name, label } = this.#memberRoom(req.groupName, s, now);
    if (req.msg.startsWith(NOTICE) && !req.msg.startsWith(NOTICE + "me ")) refuse("bad-request", 'message text may start with U+0001 only as "\\u0001me " (an action)');
    const conf = this.#confirmer();
    const msg = { kind: "msg" as const, session: s.id, tag: req.tag, groupName: name, userName: s.user, msg: req.msg };
    const op = this.store.appendLocal(
      conf === undefined ? msg : { ...msg, conf },
      now,
      true, // byTag above found no visible message of this (session, tag)
    );
    return { verb: "ok", tag: req.tag, kind: "add", msg: req.msg, groupName: label, msgId: { origin: op.origin, n: op.seq } };
  }

  /** [PROTOCOL "request"] messages the cursor does not cover; held up to waitMs when none. */
  #request(req: PollRequest, key: string, now: number, max: number): Outcome {
    const s = this.#auth(req.token, now);
    const { name, label } = this.#memberRoom(req.groupName, s, now);
    const waiter: Waiter = {
      key,
      tag: req.tag,
      session: s.id,
      groupName: name,
      ...(label === name ? {} : { label }),
      ...(req.notices ? { notices: true } : {}),
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
    const { name, label } = this.#memberRoom(req.groupName, s, now);
    const before = req.before && { origin: req.before.origin, seq: req.before.n };
    const page = this.store.messages.newest(name, before, req.limit + 1, req.notices === true);
    if (page === null) return refuse("no-message", `message ${req.before!.origin}.${req.before!.n} is not on this server (yet)`);
    const cursor = this.store.messages.tail(name, this.store.vector().keys());
    const fit = fitHistory(req.tag, label, cursor, page.slice(0, req.limit), page.length > req.limit, max);
    return { verb: "ok", tag: req.tag, kind: "history", groupName: label, cursor, more: fit.more, entries: fit.entries };
  }

  /**
   * The room as stored and as the reply names it, when `s` may read and
   * write it: a member not banned or kicked since joining, or a party of the
   * direct conversation "@name"; `not-member` (or `no-user`) otherwise.
   */
  #memberRoom(groupName: string, s: SessionRecord, now: number): { name: string; label: string } {
    if (groupName.startsWith("@")) {
      const c = conversation(this.store, s, groupName, now);
      if ("problem" in c) {
        return c.problem === "self"
          ? refuse("bad-request", "a direct conversation needs another user")
          : refuse("no-user", `no user ${groupName.slice(1)} is registered or logged in`);
      }
      return { name: c.room, label: groupName };
    }
    const a = roomAccess(this.store, groupName, s);
    if ("refused" in a) return refuse("not-member", a.refused);
    return { name: a.name, label: a.name };
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
    ws: readonly { tag: string; groupName: string; label?: string; notices?: boolean; cursor: Waiter["cursor"]; maxBytes?: number }[],
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
      const fit = fitPoll(first.tag, label, first.cursor, this.store.uncovered(first.groupName, first.cursor, first.notices === true), max);
      if (fit.entries.length === 0 && !orEmpty) continue;
      const shared = { verb: "poll" as const, groupName: label, cursor: fit.cursor, more: fit.more, entries: fit.entries };
      for (const i of idx) out[i] = { ...shared, tag: ws[i].tag };
    }
    return out;
  }
}
