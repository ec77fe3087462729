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
import type { PollEntry } from "../messages.ts";
import type { DisplayOptions } from "./display.ts";
import { bold, formatMessage, formatNotice, sanitize } from "./display.ts";
import type { SessionUi } from "./session.ts";

export type TerminalOptions = DisplayOptions & {
  input: Readable;
  output: Writable & { columns?: number };
  errors: Writable;
};

export type Terminal = SessionUi & {
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
  let room: string | null = null;
  const promptText = () => {
    const r = room === null ? "(no room)" : sanitize(room);
    return o.color ? `${bold(r)}> ` : `${r}> `;
  };

  /** Writes whole lines above the prompt, then redraws prompt and input. */
  function above(text: string): void {
    if (!o.tty || closed) {
      o.output.write(text + "\n");
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

  return {
    message(r: string, e: PollEntry) {
      above(formatMessage(r, e, o));
    },
    notice: (text) => status(text, false),
    error: (text) => status(text, true),
    output(text) {
      above(formatNotice(text, o));
    },
    currentRoom(r) {
      room = r;
      if (!o.tty || closed) return;
      rl.setPrompt(promptText());
      rl.prompt(true);
    },
    onLine(handler, end) {
      rl.on("line", (line) => {
        if (handler(line) !== false && o.tty && !closed) rl.prompt();
      });
      rl.on("SIGINT", () => end("interrupt"));
      rl.on("close", () => {
        closed = true;
        end("eof");
      });
    },
    eraseEntered(line) {
      if (!o.tty || closed) return;
      const columns = o.output.columns ?? 80;
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
