/**
 * The chat client as the terminal and the web page both run it: a Session
 * over a Connection, sealed rooms (lib/client/keyring.ts), accounts, direct
 * messages and moderation (lib/client/social.ts), and every slash command
 * (lib/client/commands.ts). Each face gives a `ChatUi`: how to show a
 * message, a notice, an error, and how to ask for a secret. The words are
 * the same in both (lib/client/wording.ts).
 *
 * Messages reach the UI in the order of each room's stream, with how to
 * show them (`view`: opened when sealed). A message that could not be
 * opened is kept (a few hundred per room) and shown again, opened, once a
 * passphrase that opens it is given (`reopened`).
 *
 * @example
 * ```ts
 * const chat = await ChatClient.open({ servers, transport: webTransport(), ui, userName: "bob", waitMs: 25000, known: keyMemory() });
 * await chat.login();
 * await chat.line("/join lobby");
 * await chat.say("hi"); // false (and an error shown) when it cannot be sent: keep the text
 * ```
 */
import { MAX_MSG_BYTES, type MsgId, type PollEntry } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { utf8Length } from "../wire/utf8.ts";
import type { ChatOptions, ChatUi, Shown } from "./chat_ui.ts";
import { type Command, HELP, parseLine } from "./commands.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { Keyring } from "./keyring.ts";
import { changeOf, MessageActions, type MessageChange, mentions } from "./message_acts.ts";
import { LoginError, Session, type SessionUi } from "./session.ts";
import { Social } from "./social.ts";
import { changeLine, helpLines, type MessageView } from "./wording.ts";

export type { ChatOptions, ChatUi, SecretAsk, Shown } from "./chat_ui.ts";

/** Earlier messages kept per room to open once a passphrase comes. */
const KEEP_LOCKED = 300;

/** How long /edit or /delete of "your last message" waits for messages still being sent to be acknowledged. */
const OWN_ACK_WAIT_MS = 10_000;

export class ChatClient {
  readonly conn: Connection;
  readonly session: Session;
  readonly social: Social;
  readonly keyring: Keyring;
  readonly userName: string;
  #ui: ChatUi;
  #o: ChatOptions;
  /** Messages are shown one after another, each once its view is ready. */
  #showing: Promise<void> = Promise.resolve();
  #locked = new Map<string, PollEntry[]>();
  /** Edits, deletions, reactions, replies, search, read markers, typing (lib/client/message_acts.ts). */
  readonly acts: MessageActions;

  constructor(conn: Connection, o: ChatOptions) {
    this.conn = conn;
    this.#o = o;
    this.#ui = o.ui;
    this.userName = o.userName;
    const ui = o.ui;
    this.keyring = new Keyring({ file: o.keyFile, keys: o.keys });
    this.social = new Social({ ui, userName: o.userName, known: o.known, iterations: o.iterations });
    const sessionUi: SessionUi = {
      ...ui,
      joined: (room, o) => {
        ui.joined?.(room, o);
        // A conversation is sealed when both are registered (its peer's key known by now); a room when it has a passphrase.
        ui.sealed?.(room, room.startsWith("@") ? this.social.seals(room) : this.keyring.has(room));
      },
      message: (room, e) => this.#queue(() => this.#shown(room, e)),
      pending: (id, room, shown, wire) => (this.acts.sending(id, room, shown), ui.pending?.(id, room, shown, wire)),
      settled: (id, msgId) => (this.acts.settled(id, msgId), ui.settled?.(id, msgId)),
      older: ui.showOlder
        ? (room, entries, more) =>
          this.#queue(async () => {
            const items: Shown[] = [];
            for (const entry of entries) items.push({ entry, view: await this.#view(room, entry) });
            ui.showOlder!(room, items, more);
          })
        : undefined,
    };
    this.session = new Session(conn, sessionUi, {
      userName: o.userName,
      waitMs: o.waitMs,
      historyLines: o.historyLines,
      password: o.password ?? null,
      onSalted: this.social.onSalted,
      beforeConversation: this.social.beforeConversation,
      afterJoin: this.social.afterJoin,
      dmsEveryMs: o.dmsEveryMs,
      onEnded: o.onEnded,
      sleep: o.sleep,
    });
    this.social.attach(this.session);
    this.acts = new MessageActions({
      call: (build) => this.session.call(build),
      ui: { ...ui, output: (t) => ui.output(t), error: (t) => ui.error(t), notice: (t) => ui.notice(t) },
      userName: o.userName,
      seal: (room, text) => Promise.resolve(room.startsWith("@") ? this.social.outgoing(room, text) : this.keyring.outgoing(room, o.userName, text)),
    });
  }

  /** A live entry of `room`: an act notice changes a message shown; a message is shown (quoting what it answers), read, and may mention us. */
  async #shown(room: string, e: PollEntry): Promise<void> {
    const c = changeOf(e);
    if (c !== null) {
      const opened = c.kind === "edited" ? (await this.#view(room, { ...e, msg: c.text })).text : undefined;
      const was = this.acts.quoteOf(room, c.target);
      return this.#changed(room, this.acts.change(room, e, opened)!, was);
    }
    const view = await this.#view(room, e);
    const quote = e.re ? this.acts.quoteOf(room, e.re) : null;
    this.acts.seen(room, e, view.text);
    this.#ui.show(room, e, quote ? { ...view, quote } : view);
    if (this.#ui.reads?.(room) ?? true) this.acts.markReadSoon(room, e.msgId);
    if (nameKey(e.userName) !== nameKey(this.userName) && mentions(view.text, this.userName)) this.#ui.mentioned?.(room, e, view);
  }

  #changed(room: string, c: MessageChange, was: { user: string; text: string } | null): void {
    if (this.#ui.changed) return this.#ui.changed(room, c);
    this.#ui.notice(changeLine(room, c, was));
  }

  /** Marks `room` read up to `id` now (the page, when a room comes into view). */
  markRead(room: string, id: MsgId): void {
    this.acts.markReadSoon(room, id);
  }

  /** Opens a Connection over `transport` to `servers` (learning the live list with `learnServers`) and a client on it. */
  static async open(o: ChatOptions & Pick<ConnectionOptions, "servers" | "transport" | "timing" | "learnServers">): Promise<ChatClient> {
    const conn = await Connection.open({
      servers: o.servers,
      transport: o.transport,
      timing: o.timing,
      learnServers: o.learnServers,
      notice: (t) => (o.ui.link ?? o.ui.notice)(t),
      status: (s) => o.ui.status?.(s),
    });
    return new ChatClient(conn, o);
  }

  #queue(step: () => Promise<void>): void {
    this.#showing = this.#showing.then(step).catch((e) => this.#ui.error(`cannot show a message: ${(e as Error).message}`));
  }

  /** How to show `entry` of `room`: opened when sealed; kept when it could not be opened for want of a passphrase. */
  async #view(room: string, entry: PollEntry): Promise<MessageView> {
    if (room.startsWith("@")) return this.social.view(room, entry);
    const view = await this.keyring.view(room, entry, { tty: this.#ui.hints === "command" });
    if (view.kind === "locked") {
      const list = this.#locked.get(nameKey(room)) ?? [];
      list.push(entry);
      if (list.length > KEEP_LOCKED) list.shift();
      this.#locked.set(nameKey(room), list);
    }
    return view;
  }

  /** The first login; a registered name without a password asks for it (ChatUi.askSecret). */
  async login(): Promise<void> {
    try {
      await this.session.login();
    } catch (e) {
      const registered = e instanceof LoginError && e.code === "name-taken" && /registered/.test(e.message);
      if (!registered || this.session.password !== null) throw e;
      const pw = await this.#ui.askSecret({ kind: "login-password", user: this.userName });
      if (pw === null) throw e;
      this.session.password = pw;
      await this.session.login();
    }
  }

  /** Runs one input line: a command, or a message to the current room. */
  line(text: string): Promise<void> {
    return this.run(parseLine(text));
  }

  /** Runs a parsed command (`quit` is the host's: it only flushes and logs out here). */
  async run(c: Command): Promise<void> {
    const s = this.session;
    switch (c.kind) {
      case "none":
        return;
      case "invalid":
        return this.#ui.error(c.message);
      case "say":
        return void (await this.say(c.text));
      case "key":
        return this.#key(c.room);
      case "unkey":
        return this.forgetPassphrase(c.room);
      case "create":
      case "join":
        return void (await s.join(c.room, c.kind === "create" ? { open: true } : c.key === undefined ? {} : { key: c.key }));
      case "leave":
        return s.leave(c.room);
      case "switch":
        return s.switchTo(c.room);
      case "rooms":
        return s.listRooms();
      case "who":
        return s.who(c.room);
      case "history":
        return s.history(c.count);
      case "help":
        for (const l of helpLines(HELP, this.#ui.surface)) this.#ui.output(l);
        return;
      case "msg":
        await s.conversation(`@${c.user}`, false);
        return void (await this.sayTo(`@${c.user}`, c.text));
      case "query":
        return s.conversation(`@${c.user}`, true);
      case "me":
        return void (await this.say(`\u0001me ${c.text}`));
      case "whois":
        return this.social.whois(c.user);
      case "register":
      case "password":
      case "unregister":
        return this.#account(c.kind);
      case "topic":
      case "mod":
      case "mode": {
        const room = s.currentRoom;
        if (room === null || room.startsWith("@")) return this.#ui.error("type into a room first (/join ROOM or /switch ROOM)");
        if (c.kind === "topic") return this.social.topic(room, c.text);
        if (c.kind === "mode") return this.social.mode(room, c.mode);
        return this.social.mod(room, c.action, c.user, c.text);
      }
      case "quit":
        return void (await this.quit(10_000));
      case "edit":
      case "delete":
      case "react":
      case "reply":
      case "search":
      case "mentions":
      case "unread":
      case "away":
      case "back":
        return this.#act(c);
    }
  }

  /** The commands of message acts (lib/client/message_acts.ts): edit, delete, react, reply, search, mentions, unread, away. */
  async #act(c: Extract<Command, { kind: "edit" | "delete" | "react" | "reply" | "search" | "mentions" | "unread" | "away" | "back" }>): Promise<void> {
    const s = this.session;
    switch (c.kind) {
      case "edit":
      case "delete":
      case "react":
      case "reply": {
        const room = s.currentRoom;
        if (room === null) return this.#ui.error("type into a room first (/join ROOM or /switch ROOM)");
        // "Your last message" includes one still being sent: wait (bounded) for its ack.
        if (c.id === null && (c.kind === "edit" || c.kind === "delete")) await this.session.flush(OWN_ACK_WAIT_MS);
        if (c.kind === "edit") return void (await this.acts.edit(room, c.id, c.text));
        if (c.kind === "delete") return void (await this.acts.del(room, c.id));
        if (c.kind === "react") return void (await this.acts.react(room, c.id, c.text));
        const re = this.acts.replyTarget(room, c.id);
        return void (re !== null && await this.sayTo(room, c.text, c.text, re));
      }
      case "search": {
        const room = c.everywhere ? "*" : s.currentRoom;
        if (room === null) return this.#ui.error("search a room (/switch ROOM), or every room: /search * WORDS");
        // Sealed text is searched where it was opened: here.
        if (room.startsWith("@") || this.keyring.has(room)) return void this.acts.searchShown(c.text, room);
        return void (await this.acts.search(c.text, room));
      }
      case "mentions":
        return void (await this.acts.mentionsList());
      case "unread":
        return void (await this.acts.unread());
      case "away":
      case "back": {
        const room = s.joinedRooms[0];
        if (room === undefined) return this.#ui.error("join a room first: away and back are told in your rooms");
        await this.acts.presence(room, c.kind, c.kind === "away" ? c.text : "");
        return this.#ui.notice(c.kind === "away" ? "you are marked away" : "you are back");
      }
    }
  }

  /** A line typed into the current room; false (and says why) when it cannot be sent: the UI keeps the text. */
  async say(text: string, typed = text): Promise<boolean> {
    const room = this.session.currentRoom;
    if (room === null) return this.session.say(text); // it says what to do
    return await this.sayTo(room, text, typed);
  }

  /**
   * A line to a room (sealed with its passphrase) or a direct conversation
   * (sealed when both are registered); false (and says why) when it cannot be sent.
   */
  async sayTo(room: string, text: string, typed = text, re?: MsgId): Promise<boolean> {
    const out = room.startsWith("@") ? this.social.outgoing(room, text) : await this.keyring.outgoing(room, this.userName, text);
    if (!out.ok) return (this.#ui.error(out.message), false);
    return this.session.sayTo(room, out.text, typed, re);
  }

  /**
   * The byte limit of what is typed into `room` now: 2000, 1445 in a room
   * with a passphrase, 1400 in a sealed conversation (the UI counts against it).
   */
  limitOf(room: string | null): number {
    if (room === null) return MAX_MSG_BYTES;
    if (room.startsWith("@")) return this.social.limitOf(room);
    return this.keyring.limitOf(room);
  }

  /** UTF-8 bytes of `text`, as the limit counts them. */
  static bytes(text: string): number {
    return utf8Length(text);
  }

  async #account(what: "register" | "password" | "unregister"): Promise<void> {
    if (this.#ui.accountForm) return this.#ui.accountForm(what);
    if (what === "register") {
      const pw = await this.#ui.askSecret({ kind: "new-password", purpose: "register" });
      if (pw !== null) await this.social.register(pw);
    } else if (what === "password") {
      const old = await this.#ui.askSecret({ kind: "current-password", purpose: "password" });
      const pw = old === null ? null : await this.#ui.askSecret({ kind: "new-password", purpose: "password" });
      if (old !== null && pw !== null) await this.social.changePassword(old, pw);
    } else {
      const pw = await this.#ui.askSecret({ kind: "current-password", purpose: "unregister" });
      if (pw !== null) await this.social.unregister(pw);
    }
  }

  /** /key [ROOM]: asks for the passphrase (typed twice: ChatUi.askSecret). */
  async #key(room: string | null): Promise<void> {
    const target = room ?? this.session.currentRoom;
    if (target === null) return this.#ui.error("you are in no room; /key ROOM");
    if (target.startsWith("@")) return this.#ui.error("a direct conversation is sealed by your accounts' keys, not a passphrase");
    const pass = await this.#ui.askSecret({ kind: "passphrase", room: target });
    if (pass !== null) await this.setPassphrase(target, pass);
  }

  /** Sets or changes `room`'s passphrase; then shows again, opened, what it opens of the messages that could not be. */
  async setPassphrase(room: string, passphrase: string): Promise<void> {
    if (passphrase === "") return this.#ui.notice(`empty passphrase; nothing changed for ${room}`);
    this.#ui.notice(`deriving the key of ${room}'s passphrase…`);
    const result = await this.keyring.set(room, passphrase);
    this.#ui.sealed?.(room, true);
    if (result === "unchanged") return this.#ui.notice(`passphrase for ${room} unchanged (the same as before)`);
    this.#ui.notice(
      result === "set"
        ? `passphrase set for ${room}: messages you send there are sealed`
        : `passphrase for ${room} changed: messages you send there are sealed with it; messages sealed with the old one show as wrong passphrase`,
    );
    await this.#reopen(room);
  }

  async #reopen(room: string): Promise<void> {
    const earlier = this.#locked.get(nameKey(room)) ?? [];
    this.#locked.delete(nameKey(room));
    const opened: Shown[] = [];
    for (const entry of earlier) {
      const view = await this.#view(room, entry);
      if (view.kind === "sealed") opened.push({ entry, view });
    }
    if (opened.length === 0) return;
    if (this.#ui.reopened) return this.#ui.reopened(room, opened);
    this.#ui.notice(`--- ${opened.length} earlier sealed message(s) of ${room}, opened ---`);
    for (const m of opened) this.#ui.show(room, m.entry, m.view);
    this.#ui.notice(`--- end of earlier sealed messages of ${room} ---`);
  }

  /** /unkey [ROOM]. */
  forgetPassphrase(room: string | null): void {
    const target = room ?? this.session.currentRoom;
    if (target === null) return this.#ui.error("you are in no room; /unkey ROOM");
    if (!this.keyring.forget(target)) return this.#ui.error(`no passphrase for ${target} to forget`);
    this.#ui.sealed?.(target, false);
    this.#ui.notice(`forgot the passphrase for ${target}: messages you send there are NOT sealed now`);
  }

  /**
   * Ends the session: waits at most `flushMs` for unacknowledged messages,
   * leaves the rooms (others see "* NAME left"), logs out, closes the
   * connection. True when every message was acknowledged.
   */
  async quit(flushMs: number): Promise<boolean> {
    const flushed = await this.session.flush(flushMs);
    if (!flushed) this.#ui.error(`${this.session.unsent} message(s) not acknowledged by any server; giving up`);
    await this.session.logout(3000);
    await this.#showing;
    await this.conn.close();
    return flushed;
  }
}
