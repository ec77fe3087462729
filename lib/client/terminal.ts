/**
 * The client's two faces. In a terminal: a readline prompt showing the
 * current room, incoming lines printed above it without garbling what is
 * being typed, colors unless NO_COLOR. Otherwise (stdin a pipe or file):
 * one stdout line per message, status on stderr, no prompt, no colors.
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
import type { PollEntry } from "../wire/messages.ts";
import { readHiddenLine } from "./hidden_input.ts";
import type { HiddenInput } from "./hidden_input.ts";
import type { DisplayOptions, MessageView } from "./display.ts";
import { bold, formatMessage, formatNotice, sanitize, SEALED_MARK } from "./display.ts";
import type { SessionUi } from "./session.ts";

export type TerminalOptions = DisplayOptions & {
  input: Readable;
  output: Writable & { columns?: number };
  errors: Writable;
};

export type Terminal = SessionUi & {
  /** A chat message; `view` says how a sealed room shows it (lib/client/keyring.ts). */
  message(room: string, entry: PollEntry, view?: MessageView): void;
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
  /** Erases the echo of the line just entered (a message shows once it is stored). */
  eraseEntered(line: string): void;
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
  const promptText = () => {
    const r = room === null ? "(no room)" : sanitize(room);
    const lock = sealed ? `${SEALED_MARK.tty} ` : "";
    return o.color ? `${lock}${bold(r)}> ` : `${lock}${r}> `;
  };

  /** Writes whole lines above the prompt, then redraws prompt and input. */
  function above(text: string): void {
    if (!o.tty || closed) {
      o.output.write(text + "\n");
      return;
    }
    if (held) {
      held.push(text);
      return;
    }
    const { rows } = rl.getCursorPos();
    readline.moveCursor(o.output, 0, -rows);
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
    o.output.write(text + "\n");
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
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
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
        redraw();
      }
    }
  }

  return {
    message(r: string, e: PollEntry, view?: MessageView) {
      above(formatMessage(r, e, o, view));
    },
    readSecret,
    notice: (text) => status(text, false),
    error: (text) => status(text, true),
    output(text) {
      above(formatNotice(text, o));
    },
    currentRoom(r: string | null, isSealed?: boolean) {
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
      // Leave no half-drawn prompt behind for the shell.
      readline.cursorTo(o.output, 0);
      readline.clearScreenDown(o.output);
    },
  };
}
