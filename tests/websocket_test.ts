/**
 * lib/net/websocket.ts: the server's WebSocket framing (RFC 6455) — the
 * accept key of the RFC's example, masked frames split anywhere, fragments
 * joined, control frames apart, and the errors that close a connection —
 * among them a message in more than 64 fragments, empty ones included.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { acceptKey, encodeFrame, FrameReader, MAX_FRAGMENTS, OPCODE } from "../lib/net/websocket.ts";
import { clientFrame } from "../testing/raw_web.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

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
    ["unknown control opcode", [clientFrame(0xb, new Uint8Array(0))], 1002],
  ];
  for (const [name, chunks, code] of cases) {
    const r = new FrameReader(8193);
    const frames = chunks.flatMap((c) => r.push(c));
    const err = frames.find((f) => f.kind === "error");
    assert.is(err?.kind === "error" && err.code, code, name);
    assert.equal(r.push(clientFrame(OPCODE.text, enc.encode("after"))), [], `${name}: nothing after the error`);
  }
});

test("fragments are counted, empty ones too: 64 make a message, a 65th closes with 1009 before anything more is kept", () => {
  const r = new FrameReader(8193);
  const parts = [clientFrame(OPCODE.text, enc.encode("a"), false)];
  for (let i = 1; i < MAX_FRAGMENTS - 1; i++) parts.push(clientFrame(OPCODE.continuation, new Uint8Array(0), false));
  parts.push(clientFrame(OPCODE.continuation, enc.encode("b"), true));
  const ok = r.push(new Uint8Array(parts.flatMap((p) => [...p])));
  assert.equal(ok.map((f) => f.kind === "message" ? dec.decode(f.data) : f.kind), ["ab"]);
  const flood = new FrameReader(8193);
  const start = flood.push(clientFrame(OPCODE.text, new Uint8Array(0), false));
  const empty = clientFrame(OPCODE.continuation, new Uint8Array(0), false);
  const many = new Uint8Array(empty.length * 100_000);
  for (let i = 0; i < 100_000; i++) many.set(empty, i * empty.length);
  const frames = [...start, ...flood.push(many)];
  assert.equal(frames.map((f) => f.kind === "error" ? `${f.code} ${f.reason}` : f.kind), ["1009 too many fragments"]);
  assert.equal(flood.push(empty), [], "nothing after the error");
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
