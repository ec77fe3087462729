/**
 * The server's side of WebSocket framing (RFC 6455), as much as the web
 * transport needs: the handshake's accept key, a reader that turns the bytes
 * of a connection into messages (masked client frames, fragments joined,
 * control frames apart, a size and a fragment limit checked before anything
 * is kept), and unmasked frames to send. Pure: the socket is
 * lib/web/socket_transport.ts's.
 *
 * @example
 * ```ts
 * const r = new FrameReader(8193);
 * for (const f of r.push(chunk)) if (f.kind === "message") handle(f.data);
 * socket.write(encodeFrame(OPCODE.text, bytes));
 * ```
 */
import { createHash } from "node:crypto";

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** The Sec-WebSocket-Accept of a handshake's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** One unmasked frame (server to client), FIN set. */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

/** What the reader found: a whole message, a control frame, or a protocol error (close with `code`). */
export type Frame =
  | { kind: "message"; opcode: number; data: Uint8Array }
  | { kind: "control"; opcode: number; data: Uint8Array }
  | { kind: "error"; code: number; reason: string };

/** Fragments one message may come in (empty ones count): RFC 6455 sets no limit, a browser sends one. */
export const MAX_FRAGMENTS = 64;

export class FrameReader {
  #buf = new Uint8Array(0);
  #parts: Uint8Array[] = [];
  #partsBytes = 0;
  /** Frames of the message being joined (0: none started). */
  #fragments = 0;
  #partsOpcode = 0;
  #max: number;
  #maxFragments: number;
  #failed = false;

  /**
   * `maxMessage`: the largest message accepted, bytes; `maxFragments`: the
   * most frames one message may take. Past either: error 1009.
   */
  constructor(maxMessage: number, maxFragments = MAX_FRAGMENTS) {
    this.#max = maxMessage;
    this.#maxFragments = maxFragments;
  }

  /** Takes the next bytes of the connection; returns the frames they complete. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failed) return [];
    let joined = chunk;
    if (this.#buf.length > 0) {
      joined = new Uint8Array(this.#buf.length + chunk.length);
      joined.set(this.#buf);
      joined.set(chunk, this.#buf.length);
    }
    const out: Frame[] = [];
    let at = 0;
    const fail = (code: number, reason: string): Frame[] => {
      this.#failed = true;
      out.push({ kind: "error", code, reason });
      return out;
    };
    for (;;) {
      if (joined.length - at < 2) break;
      const b0 = joined[at], b1 = joined[at + 1];
      const fin = (b0 & 0x80) !== 0, opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) return fail(1002, "reserved bits set");
      if ((b1 & 0x80) === 0) return fail(1002, "client frames must be masked");
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (joined.length - at < 4) break;
        len = (joined[at + 2] << 8) | joined[at + 3];
        head = 4;
      } else if (len === 127) {
        if (joined.length - at < 10) break;
        const big = new DataView(joined.buffer, joined.byteOffset + at + 2, 8).getBigUint64(0);
        if (big > BigInt(this.#max)) return fail(1009, "message too big");
        len = Number(big);
        head = 10;
      }
      const control = opcode >= 8;
      if (control && (len > 125 || !fin)) return fail(1002, "bad control frame");
      if (!control && opcode !== OPCODE.continuation && opcode !== OPCODE.text && opcode !== OPCODE.binary) return fail(1002, "unknown opcode");
      if (control && opcode !== OPCODE.close && opcode !== OPCODE.ping && opcode !== OPCODE.pong) return fail(1002, "unknown opcode"); // RFC 6455 §5.2: 0xB–0xF are reserved
      if (!control && this.#partsBytes + len > this.#max) return fail(1009, "message too big");
      if (!control && this.#fragments >= this.#maxFragments) return fail(1009, "too many fragments");
      if (joined.length - at < head + 4 + len) break;
      const mask = joined.subarray(at + head, at + head + 4);
      const data = joined.slice(at + head + 4, at + head + 4 + len);
      for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
      at += head + 4 + len;
      if (control) {
        out.push({ kind: "control", opcode, data });
        continue;
      }
      if (opcode === OPCODE.continuation) {
        if (this.#fragments === 0) return fail(1002, "continuation without a message");
      } else {
        if (this.#fragments > 0) return fail(1002, "new message inside a fragmented one");
        this.#partsOpcode = opcode;
      }
      this.#fragments++;
      if (data.length > 0) this.#parts.push(data);
      this.#partsBytes += data.length;
      if (fin) {
        const whole = this.#parts.length === 1 ? this.#parts[0] : new Uint8Array(this.#partsBytes);
        if (this.#parts.length > 1) {
          let k = 0;
          for (const p of this.#parts) (whole.set(p, k), k += p.length);
        }
        out.push({ kind: "message", opcode: this.#partsOpcode, data: whole });
        this.#parts = [];
        this.#partsBytes = 0;
        this.#fragments = 0;
      }
    }
    this.#buf = joined.slice(at);
    if (this.#buf.length > this.#max + 14) return fail(1009, "message too big");
    return out;
  }
}
