import { test } from "uvu";
import * as assert from "uvu/assert";
import { PassThrough } from "node:stream";
import { applyKeys, type HiddenInput, readHiddenLine } from "../lib/client/hidden_input.ts";

test("applyKeys on a terminal: edit keys, escape sequences, end, cancel", () => {
  assert.equal(applyKeys("", "abc\x7fd\r", true), { line: "abd", end: "done", rest: "" });
  assert.equal(applyKeys("", "x\x15pa\x1b[Dss\x1bOA\rnext", true), { line: "pass", end: "done", rest: "next" });
  assert.equal(applyKeys("ab", "🔒\b\r\nrest", true), { line: "ab", end: "done", rest: "rest" });
  assert.equal(applyKeys("ab", "c", true), { line: "abc", end: "more", rest: "" });
  assert.equal(applyKeys("ab", "\x03", true).end, "cancel");
  assert.equal(applyKeys("", "\x04", true).end, "cancel");
  assert.equal(applyKeys("a", "\x04\r", true), { line: "a", end: "done", rest: "" });
});

test("applyKeys from a pipe: the line as is", () => {
  assert.equal(applyKeys("", "p a\\ss\r\n/join x\n", false), { line: "p a\\ss", end: "done", rest: "/join x\n" });
  assert.equal(applyKeys("p", "ar", false), { line: "par", end: "more", rest: "" });
});

/** A fake terminal: a stream that records raw-mode switches. */
function fakeTty(): PassThrough & HiddenInput & { modes: boolean[] } {
  const s = new PassThrough() as PassThrough & HiddenInput & { modes: boolean[] };
  s.isTTY = true;
  s.isRaw = false;
  s.modes = [];
  s.setRawMode = (raw: boolean) => (s.modes.push(raw), s.isRaw = raw);
  return s;
}

function sink(): { text: string; write(t: string): void } {
  return {
    text: "",
    write(t: string) {
      this.text += t;
    },
  };
}

test("readHiddenLine on a terminal: no echo, raw mode restored, the rest left for the next reader", async () => {
  const input = fakeTty();
  const output = sink();
  const got = readHiddenLine("Passphrase: ", { input, output });
  input.write("sec");
  input.write(Buffer.from("ré\x7ft\r/join lobby\n"));
  assert.is(await got, "secrt");
  assert.equal(input.modes, [true, false]);
  assert.is(output.text, "Passphrase: \n");
  assert.is(String(input.read()), "/join lobby\n");
});

test("readHiddenLine on a terminal: Ctrl-C rejects", async () => {
  const input = fakeTty();
  const got = readHiddenLine("P: ", { input, output: sink() });
  input.write("abc\x03");
  try {
    await got;
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /cancelled/);
  }
  assert.equal(input.modes, [true, false]);
});

test("readHiddenLine from a pipe: one line, then end of input", async () => {
  const input = new PassThrough();
  const got = readHiddenLine("P: ", { input, output: sink() });
  input.end("pass phrase\nnext line\n");
  assert.is(await got, "pass phrase");
  assert.is(String(input.read()), "next line\n");
  const last = new PassThrough();
  const noNewline = readHiddenLine("P: ", { input: last, output: sink() });
  last.end("tail");
  assert.is(await noNewline, "tail");
  const empty = new PassThrough();
  const none = readHiddenLine("P: ", { input: empty, output: sink() });
  empty.end();
  try {
    await none;
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /input ended/);
  }
});

test.run();
