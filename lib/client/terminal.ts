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

/** Opens the terminal face over `o`'s streams (a readline prompt in a terminal, plain lines otherwise). */
export function openTerminal(o: TerminalOptions): Terminal {
  return new TerminalFace(o);
}

/** Rows `text` takes on a terminal `columns` wide (colour codes take none). */
function rowsOf(text: string, columns: number): number {
  return text.split("\n").reduce((n, l) => n + Math.max(1, Math.ceil(l.replace(/\x1b\[[0-9;]*m/g, "").length / columns)), 0);
}

const idText = (m: MsgId) => `${m.origin}.${m.n}`;

class TerminalFace implements Terminal {
  #o: TerminalOptions;
  #rl: readline.Interface;
  #closed = false;
  // readline reads as soon as it exists: keep what arrives before onLine()
  // (a script's first lines, or its EOF) instead of losing it.
  #early: string[] = [];
  #endedEarly = false;
  #keepEarly = (line: string) => void this.#early.push(line);
  #closeEarly = () => {
    this.#closed = true;
    this.#endedEarly = true;
  };
  #room: string | null = null;
  #sealed = false;
  /** Lines to print once the passphrase prompt is done (null: print at once). */
  #held: string[] | null = null;
  /** Our messages on their way, shown between the output and the prompt; and how many rows that block takes now. */
  #pendingLines = new Map<number, { line: string; msgId: string | null }>();
  #blockRows = 0;
  /** Who is typing in the current room, in words ("": nobody), drawn under the pending block; when a key was last pressed. */
  #typingLine = "";
  #keyAt = 0;
  /** Ids of messages shown lately (an ack may arrive after its message). */
  #shown = new Set<string>();

  constructor(o: TerminalOptions) {
    this.#o = o;
    this.#rl = readline.createInterface({
      input: o.input,
      output: o.tty ? o.output : undefined,
      terminal: o.tty,
      historySize: o.tty ? 200 : 0,
    });
    this.#rl.on("line", this.#keepEarly);
    this.#rl.once("close", this.#closeEarly);
    if (o.tty) {
      o.input.on("keypress", () => void (this.#keyAt = Date.now()));
      this.#rl.setPrompt(this.#promptText());
      this.#rl.prompt();
    }
  }

  #promptText(): string {
    const r = this.#room === null ? "(no room)" : sanitize(this.#room);
    const lock = this.#sealed ? `${SEALED_MARK.tty} ` : "";
    return this.#o.color ? `${lock}${bold(r)}> ` : `${lock}${r}> `;
  }

  /** Writes whole lines (none: null) above the pending block and the prompt, then redraws both. */
  #above(text: string | null): void {
    const o = this.#o;
    if (!o.tty || this.#closed) {
      if (text !== null) o.output.write(text + "\n");
      return;
    }
    if (this.#held) {
      if (text !== null) this.#held.push(text);
      return;
    }
    const { rows } = this.#rl.getCursorPos();
    readline.moveCursor(o.output, 0, -(rows + this.#blockRows));
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
    if (text !== null) o.output.write(text + "\n");
    this.#blockRows = 0;
    for (const p of this.#pendingLines.values()) {
      o.output.write(p.line + "\n");
      this.#blockRows += rowsOf(p.line, o.output.columns || 80);
    }
    if (this.#typingLine !== "") {
      const line = o.color ? dim(sanitize(this.#typingLine)) : sanitize(this.#typingLine);
      o.output.write(line + "\n");
      this.#blockRows += rowsOf(line, o.output.columns || 80);
    }
    this.#redraw();
  }

  /**
   * Draws prompt and input again on the current (fresh) line. readline
   * remembers how many rows its input spanned and would first move up that
   * many, over what was just printed; the cursor is on its first row now.
   */
  #redraw(): void {
    const internal = this.#rl as unknown as { prevRows?: number };
    if (typeof internal.prevRows === "number") internal.prevRows = 0;
    this.#rl.prompt(true);
  }

  #status(text: string, isError: boolean): void {
    if (this.#o.tty) this.#above(formatNotice(text, this.#o, isError));
    else this.#o.errors.write(formatNotice(text, this.#o, isError) + "\n");
  }

  /** Clears the pending block and the prompt (the cursor on the prompt's first row). */
  #clearBlock(): void {
    readline.moveCursor(this.#o.output, 0, -this.#blockRows);
    readline.cursorTo(this.#o.output, 0);
    readline.clearScreenDown(this.#o.output);
    this.#blockRows = 0;
  }

  async readSecret(prompt: string): Promise<string> {
    const o = this.#o;
    if (!o.tty || this.#closed) throw new Error("passphrases are read only in a terminal");
    if (this.#held) throw new Error("already reading a passphrase");
    this.#held = [];
    // readline must not see the keystrokes: detach its keypress handlers meanwhile.
    const keypress = o.input.listeners("keypress") as ((...a: unknown[]) => void)[];
    o.input.removeAllListeners("keypress");
    this.#clearBlock();
    try {
      return await readHiddenLine(sanitize(prompt), { input: o.input as HiddenInput, output: o.output });
    } finally {
      for (const l of keypress) o.input.on("keypress", l);
      const lines = this.#held;
      this.#held = null;
      if (!this.#closed) {
        for (const l of lines) o.output.write(l + "\n");
        this.#rl.setPrompt(this.#promptText());
        o.input.resume(); // readHiddenLine paused it; rl.resume() would not, rl was never paused
        this.#above(null);
      }
    }
  }

  message(r: string, e: PollEntry, view?: MessageView): void {
    const id = idText(e.msgId);
    this.#shown.add(id);
    if (this.#shown.size > 1024) this.#shown.delete(this.#shown.values().next().value as string);
    for (const [k, p] of this.#pendingLines) if (p.msgId === id) this.#pendingLines.delete(k);
    this.#above(formatMessage(r, e, this.#o, view));
  }

  pending(id: number, r: string, userName: string, text: string): void {
    const o = this.#o;
    if (!o.tty) return;
    const entry = { msgId: { origin: "-", n: 0 }, userName, sentAt: Date.now(), msg: text };
    const line = `${formatMessage(r, entry, o)} ${o.color ? dim("(sending…)") : "(sending…)"}`;
    this.#pendingLines.set(id, { line, msgId: null });
    this.#above(null);
  }

  settled(id: number, msgId: MsgId | null): void {
    const p = this.#pendingLines.get(id);
    if (!p) return;
    if (msgId !== null && !this.#shown.has(idText(msgId))) {
      // It goes when the message comes back; should it not (the room was left), soon anyway.
      p.msgId = idText(msgId);
      const timer = setTimeout(() => this.#pendingLines.delete(id) && this.#above(null), 10_000);
      (timer as { unref?: () => void }).unref?.();
      return;
    }
    this.#pendingLines.delete(id);
    this.#above(null);
  }

  bell(): void {
    if (this.#o.tty && !this.#closed) this.#o.output.write("\x07");
  }

  notice(text: string): void {
    this.#status(text, false);
  }

  error(text: string): void {
    this.#status(text, true);
  }

  output(text: string): void {
    this.#above(formatNotice(text, this.#o));
  }

  typing(r: string, words: string): void {
    const o = this.#o;
    if (r !== this.#room || words === this.#typingLine) return;
    this.#typingLine = words;
    if (!o.tty) return void (words !== "" && !this.#closed && o.errors.write(formatNotice(`[${r}] ${words}`, o) + "\n"));
    this.#above(null);
  }

  typingNow(): boolean {
    return this.#o.tty && Date.now() - this.#keyAt < 3000 && this.#rl.line !== "";
  }

  currentRoom(r: string | null, isSealed?: boolean): void {
    if (r !== this.#room) this.#typingLine = "";
    this.#room = r;
    this.#sealed = r !== null && isSealed === true;
    if (this.#held || !this.#o.tty || this.#closed) return;
    this.#rl.setPrompt(this.#promptText());
    this.#rl.prompt(true);
  }

  onLine(handler: (line: string) => boolean | void, end: (reason: "eof" | "interrupt") => void): void {
    const rl = this.#rl;
    rl.off("line", this.#keepEarly);
    rl.off("close", this.#closeEarly);
    const take = (line: string) => {
      if (handler(line) !== false && this.#o.tty && !this.#closed) rl.prompt();
    };
    rl.on("line", take);
    rl.on("SIGINT", () => end("interrupt"));
    rl.on("close", () => {
      this.#closed = true;
      end("eof");
    });
    for (const line of this.#early.splice(0)) take(line);
    if (this.#endedEarly) end("eof");
  }

  eraseEntered(line: string): void {
    const o = this.#o;
    if (!o.tty || this.#closed) return;
    const columns = o.output.columns || 80; // 0 on a terminal of unknown size
    const rows = Math.max(1, Math.ceil((this.#promptText().replace(/\x1b\[[0-9;]*m/g, "").length + line.length) / columns));
    readline.moveCursor(o.output, 0, -rows);
    readline.cursorTo(o.output, 0);
    readline.clearScreenDown(o.output);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rl.close();
    // Leave no half-drawn prompt (nor pending block) behind for the shell.
    if (this.#o.tty) this.#clearBlock();
  }
}
