/**
 * The chat client put together: a Session over a Connection, driven by the
 * lines of a Terminal. client.ts only reads flags and calls runClient.
 *
 * @example
 * ```ts
 * const code = await runClient({ userName: "bob", servers, room: "lobby", waitMs: 25000, bind, io });
 * ```
 */
import { nameKey } from "../wire/names.ts";
import type { KeyFile } from "./key_file.ts";
import type { RoomKeys } from "./seal.ts";
import type { ServerEntry } from "../config/servers_file.ts";
import type { OnDatagram, Transport } from "../wire/transport.ts";
import { HELP, parseLine } from "./commands.ts";
import type { Command } from "./commands.ts";
import { Connection } from "./connection.ts";
import type { Timing } from "./connection.ts";
import { Keyring } from "./keyring.ts";
import { LoginError, Session } from "./session.ts";
import type { SessionUi } from "./session.ts";
import { openTerminal } from "./terminal.ts";
import { KnownKeys } from "./known_keys.ts";
import { Social } from "./social.ts";
import type { TerminalOptions } from "./terminal.ts";

export type ClientOptions = {
  userName: string;
  servers: ServerEntry[];
  room: string | null;
  waitMs: number;
  /** Messages shown when joining a room (its newest). Default 20. */
  historyLines?: number;
  bind: (onDatagram: OnDatagram) => Promise<Transport>;
  io: TerminalOptions;
  /** Room passphrases from `--key-file`. */
  keyFile?: KeyFile | null;
  /** The room keys (tests inject a fast key derivation). */
  keys?: RoomKeys;
  timing?: Partial<Timing>;
  /** Registers `stop` for the signals that should end the client (log out, exit). */
  onStop?: (stop: () => void) => void;
  /** The password of a registered name (from --password-file); null: asked for when needed (in a terminal). */
  password?: string | null;
  /** Where other users' DM keys are remembered (trust on first use); null: for this run only. */
  knownKeysFile?: string | null;
  /** PBKDF2 rounds of a new verifier (default 600,000; tests use fewer). */
  scramIterations?: number;
  /** How often to ask for new direct conversations, ms (default 3000). */
  dmsEveryMs?: number;
};

/** On EOF or /quit, how long unacknowledged messages may take. */
const FLUSH_MS = 10_000;
/** How long to wait for the logout answer. */
const LOGOUT_MS = 3_000;

/** Runs the client until /quit, EOF or Ctrl-C; resolves with the exit code. */
export async function runClient(o: ClientOptions): Promise<number> {
  const term = openTerminal(o.io);
  const conn = await Connection.open({ servers: o.servers, bind: o.bind, notice: (t) => term.notice(t), timing: o.timing });
  const keyring = new Keyring({ file: o.keyFile, keys: o.keys });
  const announced = new Set<string>();
  const ui: SessionUi = {
    message: (room, e) => term.message(room, e, keyring.view(room, e, o.io)),
    notice: (t) => term.notice(t),
    error: (t) => term.error(t),
    output: (t) => term.output(t),
    pending: (id, room, text) => term.pending(id, room, o.userName, text),
    settled: (id, msgId) => term.settled(id, msgId),
    currentRoom(room) {
      const sealed = room !== null && keyring.has(room);
      term.currentRoom(room, sealed);
      if (sealed && !announced.has(nameKey(room))) {
        announced.add(nameKey(room));
        term.notice(`${room} has a passphrase: messages you send there are sealed`);
      }
    },
  };
  const social = new Social({
    ui: { notice: (t) => term.notice(t), error: (t) => term.error(t), output: (t) => term.output(t) },
    userName: o.userName,
    known: new KnownKeys(o.knownKeysFile ?? null),
    iterations: o.scramIterations,
  });
  ui.message = (room, e) => term.message(room, e, room.startsWith("@") ? social.view(room, e) : keyring.view(room, e, o.io));
  const session = new Session(conn, ui, {
    userName: o.userName,
    waitMs: o.waitMs,
    historyLines: o.historyLines,
    password: o.password ?? null,
    onSalted: social.onSalted,
    beforeConversation: social.beforeConversation,
    afterJoin: social.afterJoin,
    dmsEveryMs: o.dmsEveryMs,
    onEnded: (why) => {
      term.error(why);
      failed = true;
      void end(0);
    },
  });
  social.attach(session);
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let ending = false;
  /** The session ended for a reason the user must act on: exit 1. */
  let failed = false;

  async function end(flushMs: number): Promise<void> {
    if (ending) return;
    ending = true;
    let code = failed ? 1 : 0;
    if (!(await session.flush(flushMs))) {
      term.error(`${session.unsent} message(s) not acknowledged by any server; giving up`);
      code = 1;
    }
    await session.logout(LOGOUT_MS);
    term.close();
    await conn.close();
    finish(code);
  }

  async function run(c: Command): Promise<void> {
    switch (c.kind) {
      case "none":
        return;
      case "invalid":
        return term.error(c.message);
      case "say":
        return say(c.text);
      case "key":
        return setKey(c.room);
      case "unkey":
        return unsetKey(c.room);
      case "create":
        await session.join(c.room, { open: true });
        return;
      case "join":
        await session.join(c.room);
        return;
      case "leave":
        return session.leave(c.room);
      case "switch":
        return session.switchTo(c.room);
      case "rooms":
        return session.listRooms();
      case "who":
        return session.who(c.room);
      case "history":
        return session.history(c.count);
      case "help":
        for (const l of HELP) term.output(l);
        return;
      case "msg": {
        const address = `@${c.user}`;
        await session.conversation(address, false);
        return sayTo(address, c.text);
      }
      case "query":
        return session.conversation(`@${c.user}`, true);
      case "me":
        return say(`\u0001me ${c.text}`);
      case "whois":
        return social.whois(c.user);
      case "register": {
        const pw = await newPassword("register");
        if (pw !== null) await social.register(pw);
        return;
      }
      case "password": {
        const old = await askPassword(`Current password for ${o.userName} (not shown): `);
        if (old === null) return;
        const pw = await newPassword("password");
        if (pw !== null) await social.changePassword(old, pw);
        return;
      }
      case "unregister": {
        const pw = await askPassword(`Password for ${o.userName}, to drop the account (not shown): `);
        if (pw !== null) await social.unregister(pw);
        return;
      }
      case "topic":
      case "mod":
      case "mode": {
        const room = session.currentRoom;
        if (room === null || room.startsWith("@")) return term.error("type into a room first (/join ROOM or /switch ROOM)");
        if (c.kind === "topic") return social.topic(room, c.text);
        if (c.kind === "mode") return social.mode(room, c.mode);
        return social.mod(room, c.action, c.user, c.text);
      }
      case "quit":
        return end(FLUSH_MS);
    }
  }

  /** A line typed into the current room: sealed there when the room has a passphrase. */
  function say(text: string): void {
    const room = session.currentRoom;
    if (room === null) return void session.say(text); // it says what to do
    sayTo(room, text);
  }

  /** A line to a room (sealed with its passphrase) or a direct conversation (sealed when both are registered). */
  function sayTo(room: string, text: string): void {
    const out = room.startsWith("@") ? social.outgoing(room, text) : keyring.outgoing(room, o.userName, text);
    if (!out.ok) return term.error(out.message);
    session.sayTo(room, out.text, text);
  }

  /** A password: --password-file's, or typed hidden in a terminal; null (and says why) otherwise. */
  async function askPassword(prompt: string): Promise<string | null> {
    if (o.password) return o.password;
    if (!o.io.tty) {
      term.error("no password: stdin is not a terminal, so it cannot be typed hidden; start the client with --password-file FILE");
      return null;
    }
    try {
      const pw = await term.readSecret(prompt);
      return pw === "" ? null : pw;
    } catch (e) {
      term.notice(`no password given (${(e as Error).message})`);
      return null;
    }
  }

  /** A new password, typed twice (or --password-file's). */
  async function newPassword(what: string): Promise<string | null> {
    if (o.password && what === "register") return o.password;
    if (!o.io.tty) {
      term.error(
        what === "register"
          ? "no password: stdin is not a terminal; start the client with --password-file FILE"
          : "a new password must be typed twice, hidden: change it in a terminal",
      );
      return null;
    }
    const first = await askPasswordTty("New password (not shown): ");
    if (first === null) return null;
    if (first.length < 8) return (term.error("a password needs at least 8 characters"), null);
    const again = await askPasswordTty("The same password again: ");
    if (again !== first) return (term.error("the two passwords differ; nothing changed"), null);
    return first;
  }

  async function askPasswordTty(prompt: string): Promise<string | null> {
    try {
      return await term.readSecret(prompt);
    } catch {
      return null;
    }
  }

  /** /key [ROOM]: the passphrase typed twice, hidden; only in a terminal. */
  async function setKey(room: string | null): Promise<void> {
    if (!o.io.tty) {
      return term.error(
        "/key is refused: stdin is not a terminal, so the passphrase cannot be typed hidden; " +
          "start the client with --key-file FILE instead (docs/CLIENT.md)",
      );
    }
    const target = room ?? session.currentRoom;
    if (target === null) return term.error("you are in no room; /key ROOM");
    let first: string, again: string;
    try {
      first = await term.readSecret(`Passphrase for ${target} (not shown): `);
      if (first === "") return term.notice(`empty passphrase; nothing changed for ${target}`);
      again = await term.readSecret(`The same passphrase again: `);
    } catch (e) {
      return term.notice(`passphrase for ${target} not changed (${(e as Error).message})`);
    }
    if (first !== again) return term.error(`the two passphrases differ; passphrase for ${target} not changed`);
    const result = keyring.set(target, first);
    refreshPrompt();
    if (result === "unchanged") return term.notice(`passphrase for ${target} unchanged (the same as before)`);
    announced.add(nameKey(target));
    term.notice(
      result === "set"
        ? `passphrase set for ${target}: messages you send there are sealed`
        : `passphrase for ${target} changed: messages you send there are sealed with it; ` +
          "messages sealed with the old one show as wrong passphrase",
    );
  }

  /** /unkey [ROOM]. */
  function unsetKey(room: string | null): void {
    const target = room ?? session.currentRoom;
    if (target === null) return term.error("you are in no room; /unkey ROOM");
    if (!keyring.forget(target)) return term.error(`no passphrase for ${target} to forget`);
    announced.delete(nameKey(target));
    refreshPrompt();
    term.notice(`forgot the passphrase for ${target}: messages you send there are NOT sealed now`);
  }

  function refreshPrompt(): void {
    const room = session.currentRoom;
    term.currentRoom(room, room !== null && keyring.has(room));
  }

  // Lines run one after another, after login; messages only queue.
  /** The first login; a registered name without a password asks for it in a terminal. */
  async function firstLogin(): Promise<void> {
    try {
      await session.login();
    } catch (e) {
      const registered = e instanceof LoginError && e.code === "name-taken" && /registered/.test(e.message);
      if (!registered || !o.io.tty || session.password !== null) throw e;
      const pw = await askPassword(`${o.userName} is registered. Password (not shown): `);
      if (pw === null) throw e;
      session.password = pw;
      await session.login();
    }
  }

  let chain: Promise<void> = firstLogin().then(
    async () => {
      if (ending) return;
      term.notice(`logged in as ${o.userName} on server ${conn.server.id}`);
      if (o.room !== null) await session.join(o.room, { create: true });
      else term.notice("join a room with /join ROOM or /create ROOM; /help lists the commands");
    },
    async (e) => {
      ending = true;
      term.error(e instanceof LoginError ? e.message : `cannot log in: ${(e as Error).message}`);
      term.close();
      await conn.close();
      finish(1);
    },
  );
  const later = (f: () => Promise<void> | void) => {
    chain = chain.then(() => (ending ? undefined : f())).catch((e) => term.error(`internal error: ${(e as Error).stack ?? e}`));
  };

  term.onLine(
    (line) => {
      const c = parseLine(line);
      if (c.kind === "say" && session.currentRoom !== null) term.eraseEntered(line);
      later(() => run(c));
      return c.kind !== "quit";
    },
    (reason) => (reason === "eof" ? later(() => end(FLUSH_MS)) : interrupt()),
  );
  o.onStop?.(interrupt);
  return finished;

  /** Ctrl-C or a signal: do not wait for a command in progress; twice: leave at once. */
  function interrupt(): void {
    if (ending) return finish(130);
    void end(2000);
  }
}
