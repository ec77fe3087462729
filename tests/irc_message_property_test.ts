/**
 * lib/irc/message.ts under fast-check: every message the formatter accepts
 * survives format → parse; no input — random bytes, soups of IRC fragments,
 * mutated valid lines — makes the parser throw or return anything but a
 * message or a typed error; and the splitter never loses or invents a byte.
 *
 * A failing property prints its seed and path; replay with
 * `fc.assert(prop, { seed, path })`.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { formatLine, type IrcMessage, parseLine } from "../lib/irc/message.ts";
import { LineSplitter } from "../lib/irc/framing.ts";

const enc = new TextEncoder();
const ERROR_CODES = new Set(["too-long", "bad-utf8", "nul", "bare-cr", "malformed", "empty"]);

/** Text without NUL, CR, LF (any other Unicode). */
const lineText = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/[\0\r\n]/g, ""));
const middle = fc.stringMatching(/^[^\0\r\n :][^\0\r\n ]{0,15}$/);
const tagKey = fc.stringMatching(/^\+?([a-z0-9-]{1,8}(\.[a-z]{1,4})?\/)?[A-Za-z0-9-]{1,10}$/);
const tagValue = fc.string({ maxLength: 20 }).map((s) => s.replace(/\0/g, ""));

const message: fc.Arbitrary<IrcMessage> = fc.record({
  tags: fc.dictionary(tagKey, tagValue, { maxKeys: 4, noNullPrototype: true }),
  source: fc.option(fc.stringMatching(/^[^\0\r\n :][^\0\r\n ]{0,20}$/), { nil: null }),
  command: fc.oneof(fc.stringMatching(/^[A-Z]{1,10}$/), fc.stringMatching(/^[0-9]{3}$/)),
  params: fc.tuple(fc.array(middle, { maxLength: 6 }), fc.option(lineText, { nil: null }))
    .map(([mid, last]) => (last === null ? mid : [...mid, last])),
}, { noNullPrototype: true });

/** Tags whose value is "" format as bare keys, and parse back as "" too. */
test("format → parse is the identity", () => {
  fc.assert(
    fc.property(message, (m) => {
      const r = parseLine(formatLine(m));
      assert.ok(r.ok, formatLine(m));
      if (r.ok) assert.equal(r.value, m);
    }),
    { numRuns: 3000 },
  );
});

const checkResult = (input: Uint8Array | string) => {
  const r = parseLine(input);
  if (r.ok) {
    assert.type(r.value.command, "string");
    assert.ok(Array.isArray(r.value.params));
  } else assert.ok(ERROR_CODES.has(r.error.code), r.error.code);
};

test("random bytes never make the parser throw", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), (b) => checkResult(b)), { numRuns: 20000 });
});

const FRAGMENTS = ["@", ";", "=", "\\", "\\s", ":", " ", "  ", "+", "/", "PRIVMSG", "001", "#a", "\0", "\r", "\xff", "é", "😃", "a", "CAP", "LS"];

test("soups of IRC fragments never make the parser throw", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => checkResult(parts.join(""))),
    { numRuns: 20000 },
  );
});

test("mutated valid lines never make the parser throw", () => {
  fc.assert(
    fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (m, edits) => {
      const bytes = enc.encode(formatLine(m));
      for (const [at, b] of edits) if (bytes.length > 0) bytes[at % bytes.length] = b;
      checkResult(bytes);
    }),
    { numRuns: 10000 },
  );
});

test("the splitter returns the stream's lines whatever the chunking", () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[^\n]{0,30}$/), { maxLength: 8 }), fc.array(fc.nat(20), { maxLength: 20 }), (lines, cuts) => {
      const stream = enc.encode(lines.map((l) => l + "\n").join(""));
      const s = new LineSplitter();
      const got: string[] = [];
      let at = 0;
      for (const c of [...cuts, stream.length]) {
        const end = Math.min(stream.length, at + c);
        got.push(...s.push(stream.subarray(at, end)).lines.map((l) => new TextDecoder().decode(l)));
        at = end;
      }
      assert.equal(got, lines.map((l) => l.replace(/\r$/, "")));
    }),
    { numRuns: 2000 },
  );
});

test.run();
