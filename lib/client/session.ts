/**
 * A chat session over a Connection: login (and login again when a server
 * answers `bad-token`), rooms and their long-polls, the queue of messages
 * to send (lib/client/outbox.ts) and the paged lists (lib/client/lists.ts).
 * What it shows goes through a `SessionUi` (lib/client/session_ui.ts).
 *
 * @example
 * ```ts
 * const s = new Session(conn, ui, { userName: "bob", waitMs: 25000 });
 * await s.login();
 * await s.join("lobby", { create: true });
 * s.say("hi");
 * ```
 */
import { nameKey } from "../wire/names.ts";
import type { MsgId, Reply, Request } from "../wire/messages.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";
import type { Connection } from "./connection.ts";
import { describeError } from "./display.ts";
import { RoomFeed } from "./feed.ts";
import { LoginError, type SessionOptions, type SessionUi } from "./session_ui.ts";

export { LoginError, type SessionOptions, type SessionUi };
import { pageNames } from "./lists.ts";
import { clientFinal } from "../accounts/scram.ts";
import { randomBytes } from "node:crypto";
import { Outbox, TRANSIENT } from "./outbox.ts";

/**
 * A joined room: its feed (cursor, what was shown), the poll in flight, and
 * for /history the oldest message shown, whether older ones exist, and the
 * older ones shown (a page read from another server may repeat one).
 */
type Room = {
  name: string;
  feed: RoomFeed;
  pollTag: string | null;
  oldest: MsgId | null;
  olderExist: boolean;
  olderShown: Set<string>;
};
type ErrorReply = Extract<Reply, { verb: "error" }>;

const key = nameKey;
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** The largest room name: a `rooms` page after it is empty (or nearly). */
const PROBE_AFTER = "z".repeat(64);

export class Session {
  readonly userName: string;
  #conn: Connection;
  #ui: SessionUi;
  #waitMs: number;
  #historyLines: number;
  #sleep: (ms: number) => Promise<void>;
  #token: string | null = null;
  #loggingIn: Promise<void> | null = null;
  #rooms = new Map<string, Room>();
  #current: string | null = null;
  #outbox: Outbox;
  #closed = false;
  /** The registered name's password (null: an unregistered name). */
  password: string | null;
  #onSalted: (salted: Uint8Array) => void;
  #dmsEveryMs: number;
  #dmLoop = false;
  #hooks: Pick<SessionOptions, "beforeConversation" | "afterJoin">;
  #ended: (why: string) => void;

  constructor(conn: Connection, ui: SessionUi, o: SessionOptions) {
    this.#conn = conn;
    this.#ui = ui;
    this.userName = o.userName;
    this.password = o.password ?? null;
    this.#onSalted = o.onSalted ?? (() => {});
    this.#dmsEveryMs = o.dmsEveryMs ?? 3000;
    this.#hooks = { beforeConversation: o.beforeConversation, afterJoin: o.afterJoin };
    this.#ended = o.onEnded ?? ((why) => ui.error(why));
    this.#waitMs = o.waitMs;
    this.#historyLines = o.historyLines ?? 20;
    this.#sleep = o.sleep ?? realSleep;
    this.#outbox = new Outbox({
      send: (room, text) => this.#call((tag, token) => ({ verb: "add", tag, token, msg: text, groupName: room })),
      ui: {
        notice: (t) => ui.notice(t),
        error: (t) => ui.error(t),
        pending: (id, room, shown) => ui.pending?.(id, room, shown),
        settled: (id, msgId) => ui.settled?.(id, msgId),
      },
      sleep: (ms) => this.#sleep(ms),
      closed: () => this.#closed,
    });
  }

  /** The room plain lines go to, as the server names it. */
  get currentRoom(): string | null {
    return this.#current === null ? null : this.#rooms.get(this.#current)?.name ?? null;
  }

  /** Names of the joined rooms. */
  get joinedRooms(): string[] {
    return [...this.#rooms.values()].map((r) => r.name);
  }

  /** Messages accepted by say() and not yet acknowledged. */
  get unsent(): number {
    return this.#outbox.size;
  }

  // --- Login -------------------------------------------------------------------

  /** First login; throws LoginError when the name is refused. */
  async login(): Promise<void> {
    this.#loggingIn ??= this.#login(false).finally(() => (this.#loggingIn = null));
    await this.#loggingIn;
  }

  /** Logs in again after `bad-token` (once for all requests that got it). */
  #relogin(stale: string | null): Promise<void> {
    if (this.#token !== stale) return Promise.resolve(); // someone already did
    this.#loggingIn ??= this.#login(true).finally(() => (this.#loggingIn = null));
    return this.#loggingIn;
  }

  async #login(again: boolean): Promise<void> {
    this.#token = null;
    for (let attempt = 0; !this.#closed; attempt++) {
      let reply = this.password === null ? await this.#plainLogin() : await this.#passwordLogin(this.password);
      if (this.password !== null && reply?.verb === "error" && reply.code === "bad-password") {
        // A password for a name not registered (yet): an ordinary login; the password waits for /register.
        const plain = await this.#plainLogin();
        if (plain?.verb === "ok") reply = plain;
      }
      if (reply === null) return;
      if (reply.verb === "ok" && reply.kind === "login") {
        this.#token = reply.token;
        const token = reply.token;
        // The probe: a `rooms` page past the last possible name — tiny, and it refreshes the session.
        this.#conn.setProbe((tag) => ({ verb: "rooms", tag, token, after: PROBE_AFTER }));
        // Keep the session alive: a poll refreshes it well within its ttl.
        if (reply.ttl > 0) this.#waitMs = Math.min(this.#waitMs, Math.max(1000, (reply.ttl * 1000) / 3));
        break;
      }
      const e = reply as ErrorReply;
      if (!again && (e.code === "name-taken" || e.code === "bad-name" || e.code === "bad-request" || e.code === "bad-password")) {
        throw new LoginError(`cannot log in as ${this.userName}: ${describeError(e.code, e.message)}`, e.code);
      }
      if (again && ((e.code === "name-taken" && /registered/.test(e.message)) || e.code === "bad-password")) {
        // The name was registered by its owner (or the password changed): this session cannot go on.
        this.#closed = true;
        this.#ended(`logged out: ${this.userName} ${e.code === "bad-password" ? "no longer takes this password" : "was registered by its owner"}; start again with another name`);
        return;
      }
      if (attempt === 0 || attempt % 10 === 0) {
        this.#ui.notice(`cannot log in as ${this.userName} on server ${this.#conn.server.id}: ${describeError(e.code, e.message)}; retrying`);
      }
      await this.#sleep(Math.min(500 * 2 ** attempt, 5000));
    }
    if (this.#token !== null && !this.#dmLoop && this.#dmsEveryMs > 0) void this.#dmsLoop();
    if (!again || this.#token === null) return;
    const rejoined: string[] = [];
    for (const room of this.#rooms.values()) {
      if (room.name.startsWith("@")) continue; // a direct conversation has no membership
      if (await this.#enter(room.name, true)) rejoined.push(room.name);
    }
    const rooms = rejoined.length ? `; rejoined ${rejoined.join(", ")}` : "";
    this.#ui.notice(`session unknown to server ${this.#conn.server.id}; logged in again as ${this.userName}${rooms}`);
  }

  /**
   * SCRAM (docs/PROTOCOL.md "Accounts"): `auth`, then the proof; returns the
   * last reply (an `ok login` when the password was right). The server's
   * signature is checked: a server that does not know the verifier is refused.
   */
  async #passwordLogin(password: string): Promise<Reply | null> {
    const proof = await this.prove(this.userName, password);
    if (proof === null || "verb" in proof) return proof;
    const reply = await this.send((tag) => ({ verb: "login", tag, userName: this.userName, proof: proof.message }));
    if (reply?.verb === "ok" && reply.kind === "login") {
      if (reply.serverFinal !== proof.serverSignature) {
        return { verb: "error", tag: reply.tag, code: "bad-password", message: "the server could not prove it knows this account (wrong server signature)" };
      }
      this.#onSalted(proof.salted);
    }
    return reply;
  }

  #plainLogin(): Promise<Reply | null> {
    return this.send((tag) => ({ verb: "login", tag, userName: this.userName }));
  }

  /** SCRAM step 1 and the client's proof for `password`; or the error reply. */
  async prove(userName: string, password: string): Promise<{ message: string; serverSignature: string; salted: Uint8Array } | Reply | null> {
    const nonce = randomBytes(18).toString("base64url");
    const first = await this.send((tag) => ({ verb: "auth", tag, userName, nonce }));
    if (first === null || first.verb !== "ok" || first.kind !== "auth") return first;
    // A proof of work (w=): the name is being guessed at and this address never logged in to it here.
    if (/(?:^|,)w=\d/.test(first.serverFirst)) this.#ui.notice(`${userName} is being guessed at: solving a puzzle before the proof (a second or two)`);
    const final = clientFinal(password, `n=${userName},r=${nonce}`, first.serverFirst);
    if (final === null) return { verb: "error", tag: first.tag, code: "bad-password", message: "the server's challenge is malformed" };
    return final;
  }

  /** Sends a request without a token (login, auth, password, drop). */
  send(build: (tag: string) => Request): Promise<Reply | null> {
    return this.#conn.request(build).reply;
  }

  /** A request with the session's token, logging in again on `bad-token`. */
  call(build: (tag: string, token: string) => Request): Promise<Reply | null> {
    return this.#call(build);
  }

  /** Asks for new direct conversations every few seconds and opens them. */
  async #dmsLoop(): Promise<void> {
    this.#dmLoop = true;
    while (!this.#closed) {
      const r = await this.#call((tag, token) => ({ verb: "dms", tag, token }));
      if (r === null) break;
      if (r.verb === "error" && r.code === "bad-request") break; // a server without direct messages
      if (r.verb === "ok" && r.kind === "dms") {
        for (const e of r.entries) {
          if (e.last !== null && !this.#rooms.has(key(e.groupName))) {
            this.#ui.notice(`direct message from ${e.groupName.slice(1)}: /query ${e.groupName.slice(1)} to answer`);
            await this.conversation(e.groupName, false);
          }
        }
      }
      await this.#sleep(this.#dmsEveryMs);
    }
    this.#dmLoop = false;
  }

  /** Opens the direct conversation "@name" (its history, then its long poll); `focus`: type into it. */
  async conversation(address: string, focus: boolean): Promise<void> {
    const k = key(address);
    if (!this.#rooms.has(k)) {
      await this.#hooks.beforeConversation?.(address);
      if (this.#rooms.has(k)) return this.conversation(address, focus);
      const r: Room = { name: address, feed: new RoomFeed(), pollTag: null, oldest: null, olderExist: false, olderShown: new Set() };
      this.#rooms.set(k, r);
      if (focus) this.#setCurrent(k);
      await this.#latest(r);
      void this.#pollLoop(r);
    } else if (focus) this.#setCurrent(k);
    if (focus) this.#ui.notice(`you are typing to ${address.slice(1)} (a direct conversation)`);
  }

  /** Queues `text` (shown as `shown`) to a room or conversation that need not be the current one. */
  sayTo(room: string, text: string, shown = text): boolean {
    const bytes = utf8Length(text);
    if (bytes > MAX_MSG_BYTES) {
      this.#ui.error(`message not sent: it is ${bytes} bytes; the limit is ${MAX_MSG_BYTES}`);
      return false;
    }
    this.#outbox.push(room, text, shown);
    return true;
  }

  /** connect, or open when the room does not exist; true when a member. */
  async #enter(room: string, createIfMissing: boolean): Promise<boolean> {
    for (let i = 0; i < 3; i++) {
      const token = this.#token;
      if (token === null) return false;
      const r = await this.#conn.request((tag) => ({ verb: "connect", tag, token, groupName: room })).reply;
      if (r === null) return false;
      if (r.verb === "ok") return true;
      if (r.verb !== "error" || r.code !== "no-room" || !createIfMissing) return false;
      const o = await this.#conn.request((tag) => ({ verb: "open", tag, token, groupName: room })).reply;
      if (o === null) return false;
      if (o.verb === "ok") return true;
      if (o.verb !== "error" || o.code !== "room-exists") return false; // else someone created it meanwhile: connect again
    }
    return false;
  }

  /**
   * Sends a request built with the session's token; on `bad-token` logs in
   * again and sends it anew. Null when the session is closing.
   */
  async #call(build: (tag: string, token: string) => Request): Promise<Reply | null> {
    let reply: Reply | null = null;
    for (let attempt = 0; attempt < 5 && !this.#closed; attempt++) {
      if (this.#loggingIn) await this.#loggingIn;
      const token = this.#token;
      if (token === null) return null; // closing, or the first login failed
      reply = await this.#conn.request((tag) => build(tag, token)).reply;
      if (reply?.verb !== "error" || reply.code !== "bad-token") return reply;
      await this.#relogin(token);
    }
    return reply;
  }

  // --- Rooms -----------------------------------------------------------------

  /** /join (or /create with `open`); with `create`, opens a missing room. */
  async join(room: string, o: { open?: boolean; create?: boolean } = {}): Promise<boolean> {
    let reply = await this.#call((tag, token) => ({ verb: o.open ? "open" : "connect", tag, token, groupName: room }));
    if (reply?.verb === "error" && reply.code === "no-room" && o.create) {
      reply = await this.#call((tag, token) => ({ verb: "open", tag, token, groupName: room }));
      if (reply?.verb === "error" && reply.code === "room-exists") {
        reply = await this.#call((tag, token) => ({ verb: "connect", tag, token, groupName: room }));
      }
    }
    if (reply === null) return false;
    if (reply.verb !== "ok" || !("groupName" in reply)) {
      const e = reply as ErrorReply;
      const hint = e.code === "no-room" ? `; create it with /create ${room}` : e.code === "room-exists" ? `; join it with /join ${room}` : "";
      this.#ui.error(`cannot ${o.open ? "create" : "join"} ${room}: ${describeError(e.code, e.message)}${hint}`);
      return false;
    }
    const name = reply.groupName;
    const k = key(name);
    const known = this.#rooms.get(k);
    if (known) known.name = name;
    else {
      const r: Room = { name, feed: new RoomFeed(), pollTag: null, oldest: null, olderExist: false, olderShown: new Set() };
      this.#rooms.set(k, r);
      this.#setCurrent(k);
      this.#ui.notice(`${reply.kind === "open" ? "created" : "joined"} ${name}; you are typing into ${name}`);
      await this.#latest(r);
      await this.#hooks.afterJoin?.(name);
      void this.#pollLoop(r);
      return true;
    }
    this.#setCurrent(k);
    this.#ui.notice(`joined ${name} (already a member); you are typing into ${name}`);
    return true;
  }

  /**
   * Shows the newest messages of a room just joined and starts its feed at
   * the live tail (docs/PROTOCOL.md "History"). A server that does not know
   * `history` (an older one) answers bad-request: the feed then starts at 0.
   */
  async #latest(room: Room): Promise<void> {
    const reply = await this.#call((tag, token) => ({ verb: "history", tag, token, groupName: room.name, limit: this.#historyLines, before: null, notices: true }));
    if (reply?.verb !== "ok" || reply.kind !== "history") return;
    for (const e of room.feed.accept(reply)) this.#ui.message(room.name, e);
    room.oldest = reply.entries[0]?.msgId ?? null;
    room.olderExist = reply.more;
    if (reply.more) this.#ui.notice(`older messages of ${room.name}: /history [N]`);
  }

  /** /history [N]: the N messages of the current room before the oldest shown, as a block. */
  async history(n: number): Promise<void> {
    const room = this.#current === null ? undefined : this.#rooms.get(this.#current);
    if (!room) return this.#ui.error("you are in no room: /join ROOM first");
    if (!room.olderExist || room.oldest === null) return this.#ui.notice(`no older messages in ${room.name}`);
    const before = room.oldest;
    const reply = await this.#call((tag, token) => ({ verb: "history", tag, token, groupName: room.name, limit: n, before, notices: true }));
    if (reply === null) return;
    if (reply.verb !== "ok" || reply.kind !== "history") {
      const e = reply as ErrorReply;
      return this.#ui.error(`cannot read older messages of ${room.name}: ${describeError(e.code, e.message)}`);
    }
    const fresh = reply.entries.filter((e) => !room.olderShown.has(`${e.msgId.origin}.${e.msgId.n}`));
    this.#ui.notice(`--- ${fresh.length} older message(s) of ${room.name} ---`);
    for (const e of fresh) {
      room.olderShown.add(`${e.msgId.origin}.${e.msgId.n}`);
      this.#ui.message(room.name, e);
    }
    room.oldest = reply.entries[0]?.msgId ?? room.oldest;
    room.olderExist = reply.more && reply.entries.length > 0;
    this.#ui.notice(`--- end of older messages of ${room.name}${room.olderExist ? "; /history for more" : ""} ---`);
  }

  /** /leave [ROOM]. */
  async leave(room: string | null): Promise<void> {
    const target = room ?? this.currentRoom;
    if (target === null) return this.#ui.error("you are in no room; /leave ROOM");
    if (target.startsWith("@")) {
      this.#forget(key(target));
      return this.#ui.notice(`closed the conversation with ${target.slice(1)}`);
    }
    const reply = await this.#call((tag, token) => ({ verb: "leave", tag, token, groupName: target }));
    if (reply === null) return;
    if (reply.verb === "error" && reply.code !== "not-member") {
      return this.#ui.error(`cannot leave ${target}: ${describeError(reply.code, reply.message)}`);
    }
    const r = this.#rooms.get(key(target));
    this.#forget(key(target));
    if (reply.verb === "error" && !r) {
      return this.#ui.error(`cannot leave ${target}: ${describeError(reply.code, reply.message)}`);
    }
    const now = this.currentRoom;
    this.#ui.notice(`left ${r?.name ?? target}${now ? `; you are typing into ${now}` : "; join a room with /join ROOM"}`);
  }

  /** /switch ROOM: only to a joined room. */
  switchTo(room: string): void {
    const r = this.#rooms.get(key(room));
    if (!r) return this.#ui.error(`you are not in ${room}; /join ${room} first`);
    this.#setCurrent(key(room));
    this.#ui.notice(`you are typing into ${r.name}`);
  }

  #setCurrent(k: string | null): void {
    this.#current = k;
    this.#ui.currentRoom?.(this.currentRoom);
  }

  #forget(k: string): void {
    const r = this.#rooms.get(k);
    if (!r) return;
    this.#rooms.delete(k);
    if (r.pollTag) this.#conn.cancel(r.pollTag);
    if (this.#current === k) this.#setCurrent(this.#rooms.keys().next().value ?? null);
  }

  // --- Polling ---------------------------------------------------------------

  async #pollLoop(room: Room): Promise<void> {
    const alive = () => !this.#closed && this.#rooms.get(key(room.name)) === room;
    let failures = 0;
    while (alive()) {
      const reply = await this.#call((tag, token) => {
        room.pollTag = tag;
        return { verb: "request", tag, token, groupName: room.name, cursor: room.feed.cursor, waitMs: this.#waitMs, notices: true };
      });
      room.pollTag = null;
      if (reply === null) return; // cancelled: left the room, or closing
      if (!alive()) return;
      if (reply.verb === "poll") {
        failures = 0;
        for (const e of room.feed.accept(reply)) this.#ui.message(room.name, e);
        continue;
      }
      if (reply.verb === "error" && reply.code === "not-member" && /banned|kicked|invite-only/.test(reply.message)) {
        this.#ui.error(`${room.name}: ${reply.message}`);
        this.#forget(key(room.name));
        return;
      }
      if (reply.verb === "error" && reply.code === "not-member" && failures === 0) {
        // Membership lost (e.g. the session was replaced): join again once.
        failures++;
        if (await this.#enter(room.name, true)) continue;
      }
      failures++;
      if (reply.verb === "error" && !TRANSIENT.has(reply.code) && failures > 3) {
        this.#ui.error(`stopped reading ${room.name}: ${describeError(reply.code, reply.message)}`);
        this.#forget(key(room.name));
        return;
      }
      await this.#sleep(Math.min(500 * 2 ** failures, 10000));
    }
  }

  // --- Sending ---------------------------------------------------------------

  /** Queues a message to the current room; false (and says why) when it cannot. */
  say(text: string, shown = text): boolean {
    const room = this.currentRoom;
    if (room === null) {
      this.#ui.error("you are in no room: /join ROOM or /create ROOM first");
      return false;
    }
    return this.sayTo(room, text, shown);
  }

  /** Resolves true once every queued message is acknowledged, false after `ms`. */
  flush(ms: number): Promise<boolean> {
    return this.#outbox.flush(ms);
  }

  // --- Lists -------------------------------------------------------------------

  /** /rooms: every room. */
  async listRooms(): Promise<void> {
    const r = await pageNames((after) => this.#call((tag, token) => ({ verb: "rooms", tag, token, after })));
    if (r === null) return;
    if ("code" in r) return this.#ui.error(`cannot list rooms: ${describeError(r.code, r.message)}`);
    const mark = (n: string) => (this.#rooms.has(key(n)) ? `${n}*` : n);
    this.#ui.output(`rooms (${r.names.length}): ${r.names.map(mark).join(", ") || "none yet; /create ROOM"}`);
  }

  /** /who [ROOM]: members of a room. */
  async who(room: string | null): Promise<void> {
    const target = room ?? this.currentRoom;
    if (target === null) return this.#ui.error("you are in no room; /who ROOM");
    const r = await pageNames((after) => this.#call((tag, token) => ({ verb: "who", tag, token, groupName: target, after })));
    if (r === null) return;
    if ("code" in r) return this.#ui.error(`cannot list who is in ${target}: ${describeError(r.code, r.message)}`);
    this.#ui.output(`in ${r.shown ?? target} (${r.names.length}): ${r.names.join(", ") || "nobody"}`);
  }

  // --- Ending ------------------------------------------------------------------

  /** Logs out (waiting at most `ms` for the answer) and stops everything. */
  async logout(ms: number): Promise<void> {
    const token = this.#token;
    this.#closed = true;
    for (const k of [...this.#rooms.keys()]) {
      const r = this.#rooms.get(k);
      if (r?.pollTag) this.#conn.cancel(r.pollTag);
    }
    if (token === null) return;
    const call = this.#conn.request((tag) => ({ verb: "logout", tag, token }));
    const timer = setTimeout(() => this.#conn.cancel(call.tag), ms);
    await call.reply;
    clearTimeout(timer);
  }
}
