/**
 * The client's two faces. In a terminal: a readline prompt showing the
 * current room, incoming lines printed above it without garbling what is
 * being typed, a dim line above the prompt saying who is typing in the
 * current room, colors unless NO_COLOR. Otherwise (stdin a pipe or file):
 * one stdout line per message, status on stderr (who starts typing too),
 * no prompt, no colors.
 *
 * @example
 * ```ts
 * const term = openTerminal({ input: process.stdin, output: process.stdout, errors: process.stderr, tty: false, color: false });
 * term.onLine((line) => {});
 * term.message("lobby", entry);
 * ```
 */
import readline from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { MsgId, PollEntry } from "../wire/messages.ts";
import { readHiddenLine } from "./hidden_input.ts";
import type { HiddenInput } from "./hidden_input.ts";
import type { DisplayOptions, MessageView } from "./display.ts";
import { bold, dim, formatMessage, formatNotice, sanitize, SEALED_MARK } from "./display.ts";
import type { SessionUi } from "./session.ts";

export type TerminalOptions = DisplayOptions & {
  input: Readable;
  output: Writable & { columns?: number };
  errors: Writable;
};

export type Terminal = Omit<SessionUi, "pending"> & {
  /** A chat message; `view` says how a sealed room shows it (lib/client/keyring.ts). */
  message(room: string, entry: PollEntry, view?: MessageView): void;
  /** Rings the terminal's bell (a mention of this user); nothing outside terminal mode. */
  bell(): void;
  /** The room typed into changed; `sealed`: it has a passphrase (a lock in the prompt). */
  currentRoom(room: string | null, sealed?: boolean): void;
  /**
   * Reads one line without echo (a passphrase) in terminal mode; lines to
   * print meanwhile wait until it is entered. Rejects when cancelled
   * (Ctrl-C, Ctrl-D) and outside terminal mode.
   */
  readSecret(prompt: string): Promise<string>;
  /**
   * Calls `handler` with each input line (returning false: no new prompt);
   * `end` once input ends (EOF, Ctrl-D) or on Ctrl-C.
   */
  onLine(handler: (line: string) => boolean | void, end: (reason: "eof" | "interrupt") => void): void;
  /** Erases the echo of the line just entered (it shows as pending, then as a message once stored). */
  eraseEntered(line: string): void;
  /** A message of ours on its way: shown as a "(sending…)" line just above the prompt until it comes back. */
  pending(id: number, room: string, userName: string, text: string): void;
  /** Pending message `id` was stored as `msgId` (it goes once that message is shown) or given up (null: it goes now). */
  settled(id: number, msgId: MsgId | null): void;
  /**
   * Who is typing or away in `room`, in words ("" for nobody): shown for the
   * current room as a dim line above the prompt until it changes; outside
   * terminal mode a status line each time it changes to something.
   */
  typing(room: string, words: string): void;
  /** True when the user pressed a key in the last 3 s with something typed (terminal mode). */
  typingNow(): boolean;
  close(): void;
};

export function openTerminal(o: TerminalOptions): Terminal {
  const rl = readline.createInterface({
    input: o.input,
    output: o.tty ? o.output : undefined,
    terminal: o.tty,
    historySize: o.tty ? 200 : 0,
  });
  let closed = false;
  // readline reads as soon as it exists: keep what arrives before onLine()
  // (a script's first lines, or its EOF) instead of losing it.
  const early: string[] = [];
  let endedEarly = false;
  const keepEarly = (line: string) => void early.push(line);
  const closeEarly = () => {
    closed = true;
    endedEarly = true;
  };
  rl.on("line", keepEarly);
  rl.once("close", closeEarly);
  let room: string | null = null;
  let sealed = false;
  /** Lines to print once the passphrase prompt is done (null: print at once). */
  let held: string[] | null = null;
  /** Our messages on their way, shown between the output and the prompt; and how many rows that block takes now. */
  const pendingLines = new Map<number, { line: string; msgId: string | null }>();
  let blockRows = 0;
  /** Who is typing in the current room, in words ("": nobody), drawn under the pending block; when a key was last pressed. */
  let typingLine = "";
  let keyAt = 0;
  if (o.tty) o.input.on("keypress", () => void (keyAt = Date.now()));
  /** Ids of messages shown lately (an ack may arrive after its message). */
  const shown = new Set<string>();
  const idText = (m: MsgId) => `${m.origin}.${m.n}`;
  const rowsOf = (text: string) => {
    const columns = o.output.columns || 80;
    return text.split("\n").reduce((n, l) => n + Math.max(1, Math.ceil(l.replace(/\x1b\[[0-9;]*m/g, "").length / columns)), 0);
  };
  const promptText = () => {
    const r = room === null ? "(no room)" : sanitize(room);
    const lock = sealed ? `${SEALED_MARK.tty} ` : "";
    return o.color ? `${lock}${bold(r)}> ` : `${lock}${r}> `;
  };

  /** Writes whole lines (none: null) above the pending block and the prompt, then redraws both. */
  function above(text: string | null): void {
    if (!o.tty || closed) {
      if (text !== null) o.output.write(text + "\n");
      return;
    }
    if (held) {
      if (text !== null) held.push(text);
      return;
    }
    const { rows } = rl.getCursorPos();
    readline.moveCursor(o.output, 0, -(rows + blockRows));
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
    if (text !== null) o.output.write(text + "\n");
    blockRows = 0;
    for (const p of pendingLines.values()) {
      o.output.write(p.line + "\n");
      blockRows += rowsOf(p.line);
    }
    if (typingLine !== "") {
      const line = o.color ? dim(sanitize(typingLine)) : sanitize(typingLine);
      o.output.write(line + "\n");
      blockRows += rowsOf(line);
    }
    redraw();
  }

  /**
   * Draws prompt and input again on the current (fresh) line. readline
   * remembers how many rows its input spanned and would first move up that
   * many, over what was just printed; the cursor is on its first row now.
   */
  function redraw(): void {
    const internal = rl as unknown as { prevRows?: number };
    if (typeof internal.prevRows === "number") internal.prevRows = 0;
    rl.prompt(true);
  }

  const status = (text: string, isError: boolean) => {
    if (o.tty) above(formatNotice(text, o, isError));
    else o.errors.write(formatNotice(text, o, isError) + "\n");
  };

  if (o.tty) {
    rl.setPrompt(promptText());
    rl.prompt();
  }

  async function readSecret(prompt: string): Promise<string> {
    if (!o.tty || closed) throw new Error("passphrases are read only in a terminal");
    if (held) throw new Error("already reading a passphrase");
    held = [];
    // readline must not see the keystrokes: detach its keypress handlers meanwhile.
    const keypress = o.input.listeners("keypress") as ((...a: unknown[]) => void)[];
    o.input.removeAllListeners("keypress");
    readline.moveCursor(o.output, 0, -blockRows);
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
    blockRows = 0;
    try {
      return await readHiddenLine(sanitize(prompt), { input: o.input as HiddenInput, output: o.output });
    } finally {
      for (const l of keypress) o.input.on("keypress", l);
      const lines = held;
      held = null;
      if (!closed) {
        for (const l of lines) o.output.write(l + "\n");
        rl.setPrompt(promptText());
        o.input.resume(); // readHiddenLine paused it; rl.resume() would not, rl was never paused
        above(null);
      }
    }
  }

  return {
    message(r: string, e: PollEntry, view?: MessageView) {
      const id = idText(e.msgId);
      shown.add(id);
      if (shown.size > 1024) shown.delete(shown.values().next().value as string);
      for (const [k, p] of pendingLines) if (p.msgId === id) pendingLines.delete(k);
      above(formatMessage(r, e, o, view));
    },
    pending(id, r, userName, text) {
      if (!o.tty) return;
      const entry = { msgId: { origin: "-", n: 0 }, userName, sentAt: Date.now(), msg: text };
      const line = `${formatMessage(r, entry, o)} ${o.color ? dim("(sending…)") : "(sending…)"}`;
      pendingLines.set(id, { line, msgId: null });
      above(null);
    },
    settled(id, msgId) {
      const p = pendingLines.get(id);
      if (!p) return;
      if (msgId !== null && !shown.has(idText(msgId))) {
        // It goes when the message comes back; should it not (the room was left), soon anyway.
        p.msgId = idText(msgId);
        const timer = setTimeout(() => pendingLines.delete(id) && above(null), 10_000);
        (timer as { unref?: () => void }).unref?.();
        return;
      }
      pendingLines.delete(id);
      above(null);
    },
    typing(r, words) {
      if (r !== room || words === typingLine) return;
      typingLine = words;
      if (!o.tty) return void (words !== "" && !closed && o.errors.write(formatNotice(`[${r}] ${words}`, o) + "\n"));
      above(null);
    },
    typingNow: () => o.tty && Date.now() - keyAt < 3000 && rl.line !== "",
    readSecret,
    bell() {
      if (o.tty && !closed) o.output.write("\x07");
    },
    notice: (text) => status(text, false),
    error: (text) => status(text, true),
    output(text) {
      above(formatNotice(text, o));
    },
    currentRoom(r: string | null, isSealed?: boolean) {
      if (r !== room) typingLine = "";
      room = r;
      sealed = r !== null && isSealed === true;
      if (held) return;
      if (!o.tty || closed) return;
      rl.setPrompt(promptText());
      rl.prompt(true);
    },
    onLine(handler, end) {
      rl.off("line", keepEarly);
      rl.off("close", closeEarly);
      const take = (line: string) => {
        if (handler(line) !== false && o.tty && !closed) rl.prompt();
      };
      rl.on("line", take);
      rl.on("SIGINT", () => end("interrupt"));
      rl.on("close", () => {
        closed = true;
        end("eof");
      });
      for (const line of early.splice(0)) take(line);
      if (endedEarly) end("eof");
    },
    eraseEntered(line) {
      if (!o.tty || closed) return;
      const columns = o.output.columns || 80; // 0 on a terminal of unknown size
      const rows = Math.max(1, Math.ceil((promptText().replace(/\x1b\[[0-9;]*m/g, "").length + line.length) / columns));
      readline.moveCursor(o.output, 0, -rows);
      readline.cursorTo(o.output, 0);
      readline.clearScreenDown(o.output);
    },
    close() {
      if (closed) return;
      closed = true;
      rl.close();
      if (!o.tty) return;
      // Leave no half-drawn prompt (nor pending block) behind for the shell.
      readline.moveCursor(o.output, 0, -blockRows);
      readline.cursorTo(o.output, 0);
      readline.clearScreenDown(o.output);
    },
  };
}
