/**
 * A chat session over a Connection: login (and login again when a server
 * answers `bad-token`), the rooms it is in (lib/client/joined_rooms.ts), the
 * queue of messages to send (lib/client/outbox.ts), the paged lists
 * (lib/client/lists.ts), and its end. What it shows goes through a
 * `SessionUi` (lib/client/session_ui.ts). Runtime-neutral: the terminal
 * client and the web page run this same code.
 *
 * @example
 * ```ts
 * const s = new Session(conn, ui, { userName: "bob", waitMs: 25000 });
 * await s.login();
 * await s.join("lobby"); // created when there is none
 * s.say("hi");
 * ```
 */
import type { MsgId, Reply, Request } from "../wire/messages.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";
import { toBase64Url } from "../wire/base64.ts";
import { clientFinal, parseServerFirst } from "../accounts/scram.ts";
import type { Connection } from "./connection.ts";
import { type JoinOptions, JoinedRooms } from "./joined_rooms.ts";
import { pageNames } from "./lists.ts";
import { Outbox, type OutboxItem } from "./outbox.ts";
import { randomBytes } from "./random.ts";
import { LoginError, type SessionOptions, type SessionUi } from "./session_ui.ts";
import { describeError, membersLine, puzzleWords, roomsLine, surfaceWords } from "./wording.ts";

export { LoginError, type SessionOptions, type SessionUi };

type ErrorReply = Extract<Reply, { verb: "error" }>;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** The largest room name: a `rooms` page after it is empty (or nearly). */
const PROBE_AFTER = "z".repeat(64);

/** A password proof for `password`/`drop` (lib/accounts/scram.ts). */
export type Proof = { message: string; serverSignature: string; salted: Uint8Array };

export class Session {
  readonly userName: string;
  #conn: Connection;
  #ui: SessionUi;
  #waitMs: number;
  #sleep: (ms: number) => Promise<void>;
  #token: string | null = null;
  #loggingIn: Promise<void> | null = null;
  #rooms: JoinedRooms;
  #outbox: Outbox;
  #closed = false;
  /** Logging out: the polls stop (a room left must not be joined again), requests still go. */
  #ending = false;
  /** The registered name's password (null: an unregistered name). */
  password: string | null;
  #onSalted: (salted: Uint8Array) => void;
  #dmsEveryMs: number;
  #dmLoop = false;
  #ended: (why: string) => void;

  constructor(conn: Connection, ui: SessionUi, o: SessionOptions) {
    this.#conn = conn;
    this.#ui = ui;
    this.userName = o.userName;
    this.password = o.password ?? null;
    this.#onSalted = o.onSalted ?? (() => {});
    this.#dmsEveryMs = o.dmsEveryMs ?? 3000;
    this.#ended = o.onEnded ?? ((why) => ui.error(why));
    this.#waitMs = o.waitMs;
    this.#sleep = o.sleep ?? realSleep;
    this.#rooms = new JoinedRooms({
      ui,
      call: (build) => this.#call(build),
      callNow: (build) => {
        const token = this.#token;
        return token === null ? Promise.resolve(null) : this.#conn.request((tag) => build(tag, token)).reply;
      },
      cancel: (tag) => this.#conn.cancel(tag),
      sleep: (ms) => this.#sleep(ms),
      closed: () => this.#closed || this.#ending,
      waitMs: () => this.#waitMs,
      historyLines: o.historyLines ?? 20,
      beforeConversation: o.beforeConversation,
      afterJoin: o.afterJoin,
    });
    this.#outbox = new Outbox({
      send: async (room, text, tag, first, re) => {
        const add = (t: string, token: string): Request => ({ verb: "add", tag: t, token, msg: text, groupName: room, ...(re ? { re } : {}) });
        if (first !== undefined && first !== this.#token) {
          // A line of an earlier run: under its own token first (stored once); that session gone, under ours.
          const r = await this.#conn.request((t) => add(t, first), { tag }).reply;
          if (r?.verb !== "error" || r.code !== "bad-token") return r;
        }
        return this.#call(add, tag);
      },
      newTag: () => this.#conn.newTag(),
      ui: {
        notice: (t) => ui.notice(t),
        error: (t) => ui.error(t),
        pending: (id, room, shown, wire) => ui.pending?.(id, room, shown, wire),
        settled: (id, msgId) => ui.settled?.(id, msgId),
      },
      sleep: (ms) => this.#sleep(ms),
      closed: () => this.#closed,
    });
  }

  /** The room plain lines go to, as the server names it. */
  get currentRoom(): string | null {
    return this.#rooms.current;
  }

  /** Names of the joined rooms and conversations. */
  get joinedRooms(): string[] {
    return this.#rooms.names;
  }

  /** Messages accepted by say() and not yet acknowledged. */
  get unsent(): number {
    return this.#outbox.size;
  }

  /** Those messages, as they can be kept (a page keeps them across a reload) and given to `restore`. */
  get unsentItems(): OutboxItem[] {
    return this.#outbox.items;
  }

  /** The session's token (null before login or after the end): a page keeps it across a reload. */
  get token(): string | null {
    return this.#token;
  }

  // --- Login -------------------------------------------------------------------

  /** First login; throws LoginError when the name is refused. */
  async login(): Promise<void> {
    this.#loggingIn ??= this.#login(false).finally(() => (this.#loggingIn = null));
    await this.#loggingIn;
  }

  /**
   * Carries on with the token of an earlier run (a reloaded page): no login
   * now; should the session have ended meanwhile, the first request logs in
   * again as any expired session does.
   */
  resume(token: string): void {
    this.#loggedIn(token, 0);
  }

  /** Logs in again after `bad-token` (once for all requests that got it). */
  #relogin(stale: string | null): Promise<void> {
    if (this.#token !== stale) return Promise.resolve(); // someone already did
    this.#loggingIn ??= this.#login(true).finally(() => (this.#loggingIn = null));
    return this.#loggingIn;
  }

  #loggedIn(token: string, ttl: number): void {
    this.#token = token;
    // The probe: a `rooms` page past the last possible name — tiny, and it refreshes the session.
    this.#conn.setProbe((tag) => ({ verb: "rooms", tag, token, after: PROBE_AFTER }));
    // Keep the session alive: a poll refreshes it well within its ttl.
    if (ttl > 0) this.#waitMs = Math.min(this.#waitMs, Math.max(1000, (ttl * 1000) / 3));
    if (!this.#dmLoop && this.#dmsEveryMs > 0) void this.#dmsLoop();
  }

  async #login(again: boolean): Promise<void> {
    this.#token = null;
    for (let attempt = 0; !this.#closed; attempt++) {
      let reply = this.password === null ? await this.#plainLogin() : await this.#passwordLogin(this.password);
      if (this.password !== null && reply?.verb === "error" && reply.code === "bad-password") {
        // A password for a name not registered (yet): an ordinary login; the password waits for /register.
        const plain = await this.#plainLogin();
        if (plain?.verb === "ok") reply = plain;
        else if (plain?.verb === "error" && plain.code === "name-taken" && /registered/.test(plain.message)) reply = { ...plain, code: "bad-password" };
      }
      if (reply === null) return;
      if (reply.verb === "ok" && reply.kind === "login") {
        this.#loggedIn(reply.token, reply.ttl);
        break;
      }
      const e = reply as ErrorReply;
      if (!again && (e.code === "name-taken" || e.code === "bad-name" || e.code === "bad-request" || e.code === "bad-password")) {
        const why = e.code === "bad-password" ? "wrong password" : describeError(e.code, e.message);
        throw new LoginError(`cannot log in as ${this.userName}: ${why}`, e.code);
      }
      if (again && ((e.code === "name-taken" && /registered/.test(e.message)) || e.code === "bad-password")) {
        // The name was registered by its owner (or the password changed): this session cannot go on.
        this.#closed = true;
        this.#rooms.stopPolls();
        this.#ended(`logged out: ${this.userName} ${e.code === "bad-password" ? "no longer takes this password" : "was registered by its owner"}; start again with another name`);
        return;
      }
      if (attempt === 0 || attempt % 10 === 0) {
        this.#ui.notice(`cannot log in as ${this.userName} on server ${this.#conn.server.id}: ${describeError(e.code, e.message)}; retrying`);
      }
      await this.#sleep(Math.min(500 * 2 ** attempt, 5000));
    }
    if (!again || this.#token === null) return;
    const rejoined: string[] = [];
    for (const room of this.#rooms.names) {
      if (room.startsWith("@")) continue; // a direct conversation has no membership
      if (await this.#rooms.enter(room)) rejoined.push(room);
    }
    const rooms = rejoined.length ? `; rejoined ${rejoined.join(", ")}` : "";
    this.#ui.notice(`session unknown to server ${this.#conn.server.id}; logged in again as ${this.userName}${rooms}`);
  }

  /**
   * SCRAM (docs/PROTOCOL.md "Accounts"): `auth`, then the proof; returns the
   * last reply (an `ok login` when the password was right). The server's
   * signature is checked: a server that does not know the verifier is refused.
   */
  async #passwordLogin(password: string, again = true): Promise<Reply | null> {
    const proof = await this.prove(this.userName, password);
    if (proof === null || "verb" in proof) return proof;
    const reply = await this.send((tag) => ({ verb: "login", tag, userName: this.userName, proof: proof.message }));
    // The name came under attack between auth and proof: a new challenge asks for the work (docs/PROTOCOL.md "Proof of work").
    if (again && reply?.verb === "error" && reply.code === "rate-limited" && !/,w=/.test(proof.message)) return this.#passwordLogin(password, false);
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
  async prove(userName: string, password: string): Promise<Proof | Reply | null> {
    const nonce = toBase64Url(randomBytes(18));
    const first = await this.send((tag) => ({ verb: "auth", tag, userName, nonce }));
    if (first === null || first.verb !== "ok" || first.kind !== "auth") return first;
    // A proof of work (w=): the name is being guessed at and this address never logged in to it here.
    const bare = `n=${userName},r=${nonce}`;
    const puzzle = (parseServerFirst(bare, first.serverFirst)?.work ?? 0) > 0 ? puzzleWords(userName) : null;
    if (puzzle !== null) this.#ui.working ? this.#ui.working(puzzle) : this.#ui.notice(puzzle);
    const final = await clientFinal(password, bare, first.serverFirst).finally(() => puzzle && this.#ui.working?.(null));
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

  /**
   * Sends a request built with the session's token; on `bad-token` logs in
   * again and sends it anew (under `tag` when given). Null when closing.
   */
  async #call(build: (tag: string, token: string) => Request, tag?: string): Promise<Reply | null> {
    let reply: Reply | null = null;
    for (let attempt = 0; attempt < 5 && !this.#closed; attempt++) {
      if (this.#loggingIn) await this.#loggingIn;
      const token = this.#token;
      if (token === null) return null; // closing, or the first login failed
      reply = await this.#conn.request((t) => build(t, token), { tag }).reply;
      if (reply?.verb !== "error" || reply.code !== "bad-token") return reply;
      await this.#relogin(token);
    }
    return reply;
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
          if (e.last !== null && !this.#rooms.has(e.groupName)) {
            if (this.#ui.dmArrived) this.#ui.dmArrived(e.groupName);
            else this.#ui.notice(surfaceWords[this.#ui.surface ?? "terminal"].dmFrom(e.groupName.slice(1)));
            await this.#rooms.conversation(e.groupName, false);
          }
        }
      }
      await this.#sleep(this.#dmsEveryMs);
    }
    this.#dmLoop = false;
  }

  // --- Rooms -------------------------------------------------------------------

  /** /join (creating a missing room), or /create with `open` (lib/client/joined_rooms.ts). */
  join(room: string, o: JoinOptions = {}): Promise<boolean> {
    return this.#rooms.join(room, o);
  }

  /** Opens the direct conversation "@name" (its history, then its long poll); `focus`: type into it. */
  conversation(address: string, focus: boolean): Promise<void> {
    return this.#rooms.conversation(address, focus);
  }

  /** /history [N]: the N messages of the current room (or `room`) before the oldest shown. */
  history(n: number, room: string | null = null): Promise<void> {
    return this.#rooms.older(n, room);
  }

  /** /leave [ROOM]. */
  leave(room: string | null): Promise<void> {
    return this.#rooms.leave(room);
  }

  /** /switch ROOM: only to a joined room. */
  switchTo(room: string): void {
    this.#rooms.switchTo(room);
  }

  // --- Sending ---------------------------------------------------------------

  /** Queues `text` (shown as `shown`) to a room or conversation; false (and says why) when it cannot be sent. */
  sayTo(room: string, text: string, shown = text, re?: MsgId): boolean {
    const bytes = utf8Length(text);
    if (bytes > MAX_MSG_BYTES) {
      this.#ui.error(`message not sent: it is ${bytes} bytes; a message holds at most ${MAX_MSG_BYTES} bytes (UTF-8): shorten it or send it in parts`);
      return false;
    }
    this.#outbox.push(room, text, shown, undefined, undefined, re);
    return true;
  }

  /** Queues a message to the current room; false (and says why) when it cannot. */
  say(text: string, shown = text): boolean {
    const room = this.currentRoom;
    if (room === null) {
      this.#ui.error("you are in no room: /join ROOM or /create ROOM first");
      return false;
    }
    return this.sayTo(room, text, shown);
  }

  /** Queues again the unacknowledged messages of an earlier run, under their own tags (stored once, however often sent). */
  restore(items: readonly OutboxItem[]): void {
    for (const m of items) this.#outbox.push(m.room, m.text, m.shown, m.tag, m.token, m.re);
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
    if (this.#ui.roomList) return this.#ui.roomList(r.names);
    this.#ui.output(roomsLine(r.names, (n) => this.#rooms.has(n)));
  }

  /** /who [ROOM]: members of a room. */
  async who(room: string | null): Promise<void> {
    const target = room ?? this.currentRoom;
    if (target === null) return this.#ui.error("you are in no room; /who ROOM");
    if (target.startsWith("@")) return this.#ui.error("a direct conversation has two members: you and " + target.slice(1));
    const r = await pageNames((after) => this.#call((tag, token) => ({ verb: "who", tag, token, groupName: target, after })));
    if (r === null) return;
    if ("code" in r) return this.#ui.error(`cannot list who is in ${target}: ${describeError(r.code, r.message)}`);
    if (this.#ui.members) return this.#ui.members(r.shown ?? target, r.names);
    this.#ui.output(membersLine(r.shown ?? target, r.names));
  }

  // --- Ending ------------------------------------------------------------------

  /**
   * Ends the session: leaves its rooms (others see "* NAME left"), logs out
   * (the server frees the name and ends every membership) and stops. Waits
   * at most `ms` for each of the two steps.
   */
  async logout(ms: number): Promise<void> {
    const token = this.#token;
    this.#ending = true;
    this.#rooms.stopPolls();
    if (token !== null && !this.#closed) await this.#rooms.leaveAll(ms);
    this.#closed = true;
    this.#conn.setProbe(null);
    if (token === null) return;
    this.#token = null;
    const call = this.#conn.request((tag) => ({ verb: "logout", tag, token }));
    const timer = setTimeout(() => this.#conn.cancel(call.tag), ms);
    await call.reply;
    clearTimeout(timer);
  }
}
