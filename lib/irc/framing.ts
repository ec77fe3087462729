/**
 * Cuts an IRC byte stream into lines: LF ends a line and a CR right before
 * it is dropped (RFC 1459 §2.3 says CR LF; Modern IRC asks servers to take a
 * bare LF too). A CR anywhere else stays in the line, where the codec
 * (lib/irc/message.ts) refuses it. Pure and bounded: at most
 * `MAX_PENDING` bytes wait for their LF; past that the stream is broken
 * (`overflow`) and the caller drops the connection (a client may not send a
 * line longer than 8191 bytes of tags plus 512 bytes of message).
 *
 * @example
 * ```ts
 * const lines = new LineSplitter();
 * lines.push(bytes("NICK bob\r\nUSER b 0 * :Bob\r\nPI")); // { lines: [NICK…, USER…], overflow: false }
 * lines.push(bytes("NG x\n"));                           // { lines: [PING x], overflow: false }
 * ```
 */
import { MAX_LINE_BYTES, MAX_TAGS_BYTES } from "./message.ts";

/** Bytes a line may hold before its LF (tags, message, CR LF). */
export const MAX_PENDING = MAX_TAGS_BYTES + MAX_LINE_BYTES;

export class LineSplitter {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #broken = false;

  /** Takes the next bytes of the stream; returns the lines they complete, without CR LF. */
  push(chunk: Uint8Array): { lines: Uint8Array[]; overflow: boolean } {
    const lines: Uint8Array[] = [];
    if (this.#broken) return { lines, overflow: true };
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, i);
      if (this.#pendingBytes + part.length > MAX_PENDING) return this.#overflow(lines);
      lines.push(this.#take(part));
      start = i + 1;
    }
    const rest = chunk.subarray(start);
    if (this.#pendingBytes + rest.length > MAX_PENDING) return this.#overflow(lines);
    if (rest.length > 0) {
      this.#pending.push(rest.slice());
      this.#pendingBytes += rest.length;
    }
    return { lines, overflow: false };
  }

  /** Bytes waiting for their LF. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  #overflow(lines: Uint8Array[]): { lines: Uint8Array[]; overflow: boolean } {
    this.#broken = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    return { lines, overflow: true };
  }

  /** The pending bytes and `last` as one line, without a final CR. */
  #take(last: Uint8Array): Uint8Array {
    let line = last;
    if (this.#pending.length > 0) {
      line = new Uint8Array(this.#pendingBytes + last.length);
      let at = 0;
      for (const p of this.#pending) {
        line.set(p, at);
        at += p.length;
      }
      line.set(last, at);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
  }
}
