/**
 * Reading a passphrase without echoing it.
 *
 * On a terminal, stdin is put in raw mode for one line: nothing typed is
 * shown; Backspace deletes, Ctrl-U clears, Enter ends, Ctrl-C (or Ctrl-D on
 * an empty line) cancels; arrow keys and other escape sequences are ignored.
 * When stdin is not a terminal (a pipe, a file) one line is read as is. In
 * both cases whatever followed the line stays in the stream for the next
 * reader (e.g. the client's command loop).
 *
 * @example
 * ```ts
 * const passphrase = await readHiddenLine("Passphrase for lobby: ");
 * ```
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** What readHiddenLine reads: a readable stream, maybe a terminal. */
export type HiddenInput = Readable & {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (raw: boolean) => unknown;
};

export type HiddenOutput = { write(text: string): unknown };

/** The state after some keystrokes: the line so far, and whether it ended. */
export type Keys = { line: string; end: "more" | "done" | "cancel"; rest: string };

/**
 * Applies typed `text` to `line` (pure). In terminal mode (`tty`) control keys
 * edit the line; otherwise only a line feed ends it (a CR before it is dropped).
 */
export function applyKeys(line: string, text: string, tty: boolean): Keys {
  if (!tty) {
    const nl = text.indexOf("\n");
    if (nl < 0) return { line: line + text, end: "more", rest: "" };
    return { line: (line + text.slice(0, nl)).replace(/\r$/, ""), end: "done", rest: text.slice(nl + 1) };
  }
  let i = 0;
  while (i < text.length) {
    const c = text[i++];
    if (c === "\r" || c === "\n") {
      if (c === "\r" && text[i] === "\n") i++;
      return { line, end: "done", rest: text.slice(i) };
    }
    if (c === "\x03" || (c === "\x04" && line === "")) return { line: "", end: "cancel", rest: text.slice(i) };
    if (c === "\x7f" || c === "\b") line = Array.from(line).slice(0, -1).join("");
    else if (c === "\x15") line = "";
    else if (c === "\x1b") {
      // CSI / SS3 sequence (arrows, function keys): skip to its final byte.
      if (text[i] === "[" || text[i] === "O") {
        i++;
        while (i < text.length && !/[@-~]/.test(text[i])) i++;
        i++;
      }
    } else if (c >= " ") line += c;
  }
  return { line, end: "more", rest: "" };
}

/**
 * Writes `prompt` to `output` (default stderr) and reads one line from
 * `input` (default stdin) without echo when it is a terminal. Rejects when
 * the user cancels or the input ends before a line.
 */
export function readHiddenLine(
  prompt: string,
  io: { input?: HiddenInput; output?: HiddenOutput } = {},
): Promise<string> {
  const input = io.input ?? (process.stdin as unknown as HiddenInput);
  const output = io.output ?? process.stderr;
  const tty = input.isTTY === true && typeof input.setRawMode === "function";
  const wasRaw = input.isRaw === true;
  const decoder = new StringDecoder("utf8");
  output.write(prompt);
  if (tty) input.setRawMode!(true);

  return new Promise((resolve, reject) => {
    let line = "";
    const finish = (err: Error | null, rest = "") => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.pause();
      if (tty) {
        input.setRawMode!(wasRaw);
        output.write("\n");
      }
      if (rest !== "") input.unshift(Buffer.from(rest, "utf8"));
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: Uint8Array | string) => {
      const text = typeof chunk === "string" ? chunk : decoder.write(Buffer.from(chunk));
      const keys = applyKeys(line, text, tty);
      line = keys.line;
      if (keys.end === "done") finish(null, keys.rest);
      else if (keys.end === "cancel") finish(new Error("Passphrase entry cancelled"), keys.rest);
    };
    const onEnd = () => {
      line = applyKeys(line, decoder.end(), tty).line.replace(/\r$/, "");
      if (line !== "") finish(null);
      else finish(new Error("No passphrase: input ended"));
    };
    const onError = (e: Error) => finish(e);
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.resume();
  });
}
