/**
 * The terminal chat client: the shared ChatClient (lib/client/chat.ts) over
 * UDP, driven by the lines of a Terminal (lib/client/terminal.ts), which
 * shows what it says. client.ts only reads flags and calls runClient.
 *
 * @example
 * ```ts
 * const code = await runClient({ userName: "bob", servers, room: "lobby", waitMs: 25000, bind, io });
 * ```
 */
import { nameKey } from "../wire/names.ts";
import type { KeyFile } from "./key_file.ts";
import type { ServerEntry } from "../config/servers_file.ts";
import type { OnDatagram, Transport } from "../wire/transport.ts";
import { ChatClient, type ChatUi } from "./chat.ts";
import { terminalSecrets } from "./terminal_secrets.ts";
import { parseLine } from "./commands.ts";
import type { Timing } from "./connection.ts";
import { LoginError } from "./session.ts";
import { openTerminal } from "./terminal.ts";
import type { Terminal, TerminalOptions } from "./terminal.ts";
import { knownKeysFile } from "./known_keys.ts";
import { udpTransport } from "./udp_transport.ts";
import { secureTransport } from "./secure_transport.ts";
import { RoomKeys } from "./seal.ts";
import { nativeRoomKdf } from "./native_kdf.ts";
import { presenceLoop } from "./presence_loop.ts";
import { presenceWords } from "./wording.ts";

export type ClientOptions = {
  userName: string;
  servers: ServerEntry[];
  room: string | null;
  waitMs: number;
  /** Messages shown when joining a room (its newest). Default 20. */
  historyLines?: number;
  bind: (onDatagram: OnDatagram) => Promise<Transport>;
  /** Speak plaintext to servers the servers file gives no key= (--allow-plaintext); default true (client.ts decides). Keyed servers are always encrypted. */
  allowPlaintext?: boolean;
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

/** The terminal's ChatUi: messages, notices and the prompt on `term`; a room's passphrase announced once. */
function terminalUi(term: Terminal, o: ClientOptions, chat: () => ChatClient): ChatUi {
  const announced = new Set<string>();
  const refreshPrompt = () => {
    const room = chat().session.currentRoom;
    term.currentRoom(room, room !== null && chat().keyring.has(room));
  };
  return {
    show: (room, e, view) => term.message(room, e, view),
    mentioned: () => term.bell(),
    notice: (t) => term.notice(t),
    error: (t) => term.error(t),
    output: (t) => term.output(t),
    pending: (id, room, text) => term.pending(id, room, o.userName, text),
    settled: (id, msgId) => term.settled(id, msgId),
    currentRoom(room) {
      const sealed = room !== null && chat().keyring.has(room);
      term.currentRoom(room, sealed);
      if (sealed && !announced.has(nameKey(room))) {
        announced.add(nameKey(room));
        term.notice(`${room} has a passphrase: messages you send there are sealed`);
      }
    },
    sealed(room, on) {
      if (on) announced.add(nameKey(room));
      else announced.delete(nameKey(room));
      refreshPrompt();
    },
    askSecret: terminalSecrets({ term, tty: o.io.tty, userName: o.userName, password: o.password ?? null }),
    hints: o.io.tty ? "command" : "file",
    presence: (room, states) => term.typing(room, presenceWords(states)),
  };
}

/** The chat client of the terminal: over UDP, encrypted to every server the servers file gives a key. */
function openChat(o: ClientOptions, ui: ChatUi, onEnded: (why: string) => void): Promise<ChatClient> {
  return ChatClient.open({
    servers: o.servers,
    transport: secureTransport(udpTransport(o.bind), {
      keys: new Map(o.servers.flatMap((s) => s.publicKey ? [[s.id, s.publicKey] as const] : [])),
      allowPlaintext: o.allowPlaintext ?? true,
    }),
    timing: o.timing,
    ui,
    userName: o.userName,
    waitMs: o.waitMs,
    historyLines: o.historyLines,
    password: o.password ?? null,
    keyFile: o.keyFile,
    keys: o.keys ?? new RoomKeys({ kdf: nativeRoomKdf }),
    known: knownKeysFile(o.knownKeysFile ?? null),
    iterations: o.scramIterations,
    dmsEveryMs: o.dmsEveryMs,
    onEnded,
  });
}

/** Runs the client until /quit, EOF or Ctrl-C; resolves with the exit code. */
export async function runClient(o: ClientOptions): Promise<number> {
  const term = openTerminal(o.io);
  let chat!: ChatClient;
  const ui = terminalUi(term, o, () => chat);
  chat = await openChat(o, ui, (why) => {
    term.error(why);
    failed = true;
    void end(0);
  });
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let ending = false;
  /** The session ended for a reason the user must act on: exit 1. */
  let failed = false;

  // Who is typing in the room typed into, every 3 s (and whether we are).
  const presence = presenceLoop({
    everyMs: 3000,
    room: () => (ending ? null : chat.session.currentRoom),
    typing: () => term.typingNow(),
    say: (room, state) => chat.acts.presence(room, state),
  });

  async function end(flushMs: number): Promise<void> {
    if (ending) return;
    ending = true;
    presence.stop();
    const flushed = await chat.quit(flushMs);
    term.close();
    finish(failed ? 1 : flushed ? 0 : 1);
  }

  // Lines run one after another, after login; messages only queue.
  let chain: Promise<void> = chat.login().then(
    async () => {
      if (ending) return;
      term.notice(`logged in as ${o.userName} on server ${chat.conn.server.id}`);
      if (o.room !== null) await chat.session.join(o.room);
      else term.notice("join a room with /join ROOM (made when there is none); /help lists the commands");
    },
    async (e) => {
      ending = true;
      term.error(e instanceof LoginError ? e.message : `cannot log in: ${(e as Error).message}`);
      term.close();
      await chat.conn.close();
      finish(1);
    },
  );
  const later = (f: () => Promise<void> | void) => {
    chain = chain.then(() => (ending ? undefined : f())).catch((e) => term.error(`internal error: ${(e as Error).stack ?? e}`));
  };

  term.onLine(
    (line) => {
      const c = parseLine(line);
      if (c.kind === "say" && chat.session.currentRoom !== null) term.eraseEntered(line);
      if (c.kind === "say" || c.kind === "me") presence.sent();
      later(() => (c.kind === "quit" ? end(FLUSH_MS) : chat.run(c)));
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
