/**
 * lib/net/websocket.ts: the server's WebSocket framing (RFC 6455) — the
 * accept key of the RFC's example, masked frames split anywhere, fragments
 * joined, control frames apart, and the errors that close a connection.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { acceptKey, encodeFrame, FrameReader, OPCODE } from "../lib/net/websocket.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client frame: masked with `mask`. */
function clientFrame(opcode: number, payload: Uint8Array, fin = true, mask = [1, 2, 3, 4]): Uint8Array {
  const n = payload.length;
  const head = n < 126 ? [n | 0x80] : n < 65536 ? [126 | 0x80, n >> 8, n & 0xff] : [127 | 0x80, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + head.length + 4 + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out.set(head, 1);
  out.set(mask, 1 + head.length);
  for (let i = 0; i < n; i++) out[1 + head.length + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

test("the accept key of RFC 6455's example", () => {
  assert.is(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

test("masked text frames, split at every byte, give their messages", () => {
  const bytes = new Uint8Array([...clientFrame(OPCODE.text, enc.encode("login\n1\nbob\n")), ...clientFrame(OPCODE.text, enc.encode("x".repeat(300)))]);
  const r = new FrameReader(8193);
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i++) for (const f of r.push(bytes.subarray(i, i + 1))) if (f.kind === "message") got.push(dec.decode(f.data));
  assert.equal(got, ["login\n1\nbob\n", "x".repeat(300)]);
});

test("fragments are joined; a ping between them comes apart", () => {
  const r = new FrameReader(8193);
  const frames = [
    ...r.push(clientFrame(OPCODE.text, enc.encode("hel"), false)),
    ...r.push(clientFrame(OPCODE.ping, enc.encode("p"))),
    ...r.push(clientFrame(OPCODE.continuation, enc.encode("lo"), true)),
  ];
  assert.equal(frames.map((f) => f.kind === "error" ? f.reason : `${f.kind} ${f.opcode} ${dec.decode(f.data)}`), ["control 9 p", "message 1 hello"]);
});

test("errors: unmasked, too big (also across fragments and by its length field), bad control frames; then nothing more", () => {
  const unmasked = encodeFrame(OPCODE.text, enc.encode("hi"));
  const cases: [string, Uint8Array[], number][] = [
    ["unmasked", [unmasked], 1002],
    ["too big", [clientFrame(OPCODE.text, new Uint8Array(8194))], 1009],
    ["too big in fragments", [clientFrame(OPCODE.text, new Uint8Array(5000), false), clientFrame(OPCODE.continuation, new Uint8Array(5000))], 1009],
    ["64-bit length", [clientFrame(OPCODE.text, new Uint8Array(70_000))], 1009],
    ["long ping", [clientFrame(OPCODE.ping, new Uint8Array(126))], 1002],
    ["continuation first", [clientFrame(OPCODE.continuation, enc.encode("x"))], 1002],
    ["unknown opcode", [clientFrame(3, enc.encode("x"))], 1002],
  ];
  for (const [name, chunks, code] of cases) {
    const r = new FrameReader(8193);
    const frames = chunks.flatMap((c) => r.push(c));
    const err = frames.find((f) => f.kind === "error");
    assert.is(err?.kind === "error" && err.code, code, name);
    assert.equal(r.push(clientFrame(OPCODE.text, enc.encode("after"))), [], `${name}: nothing after the error`);
  }
});

test("server frames: unmasked, lengths of 7, 16 and 64 bits", () => {
  for (const n of [0, 125, 126, 65535, 65536]) {
    const f = encodeFrame(OPCODE.text, new Uint8Array(n).fill(7));
    assert.is(f[0], 0x81);
    const len = (f[1] & 0x7f) < 126 ? f[1] : (f[1] & 0x7f) === 126 ? (f[2] << 8) | f[3] : Number(new DataView(f.buffer).getBigUint64(2));
    assert.is(len, n);
    assert.is(f[1] & 0x80, 0, "not masked");
  }
});

test.run();
