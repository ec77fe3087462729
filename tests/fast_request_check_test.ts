/**
 * lib/wire/_fast_request_check.ts against valibot (lib/wire/_schemas.ts
 * `checkRequest`), which it stands in for on the fast path's trees: every
 * valid `add` and `request` passes the fast check with exactly valibot's
 * value; on trees with values at and past the schema's limits (empty and
 * over-long texts, bad and DM room names, unsafe integers, cursors naming a
 * server twice) and on mutated datagrams, whatever the fast check accepts
 * valibot accepts with the same value, and decodeRequest answers as with
 * valibot alone.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { fastRequest } from "../lib/wire/_fast_requests.ts";
import { checkFastRequest } from "../lib/wire/_fast_request_check.ts";
import { checkRequest } from "../lib/wire/_schemas.ts";
import { decodeRequest, encodeRequest } from "../lib/wire/codec.ts";
import { MAX_MSG_BYTES } from "../lib/wire/messages.ts";
import { utf8Length } from "../lib/wire/utf8.ts";

/** Trees the fast path read, and of those, how many the fast check accepted. */
let judged = 0, accepted = 0;

/** Whenever the fast check accepts the fast path's tree of `text`, valibot accepts it too, with the same value. */
function sameCheck(text: string): boolean {
  const tree = fastRequest(text);
  if (tree === null) return false;
  judged++;
  const quick = checkFastRequest(tree);
  if (quick === null) return false;
  accepted++;
  const full = checkRequest(fastRequest(text));
  assert.ok(full.ok, `the fast check accepted what valibot refuses (${full.ok ? "" : full.message}): ${JSON.stringify(text)}`);
  assert.equal(quick.value, full.value, JSON.stringify(text));
  return true;
}

const tag = fc.stringMatching(/^[A-Za-z0-9]{1,16}$/);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{16,128}$/);
const room = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/), fc.stringMatching(/^@[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/));
const msg = fc.string({ unit: fc.constantFrom("a", "é", "😀", " ", "\\", "\n", "\r", "\u0001", "x"), minLength: 1, maxLength: 40 });
const origin = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}(~[0-9a-z]{1,12})?$/);
const cursor = fc.uniqueArray(fc.tuple(origin, fc.nat()), { maxLength: 4, selector: (p) => p[0] });
const addText = fc.tuple(tag, token, msg, room).map(([t, k, m, r]) => new TextDecoder().decode(encodeRequest({ verb: "add", tag: t, token: k, msg: m, groupName: r })));
const requestText = fc.tuple(tag, token, room, cursor, fc.nat(600_000), fc.boolean()).map(([t, k, r, c, w, n]) =>
  new TextDecoder().decode(encodeRequest({ verb: "request", tag: t, token: k, groupName: r, cursor: new Map(c), waitMs: w, ...(n ? { notices: true as const } : {}) }))
);

test("every valid add and request passes the fast check with exactly valibot's value", () => {
  judged = accepted = 0;
  fc.assert(fc.property(fc.oneof(addText, requestText), (text) => assert.ok(sameCheck(text), `missed the fast check: ${JSON.stringify(text)}`)), { numRuns: 3000 });
});

/** Lines at and past the schema's limits. */
const long = (c: string, k: number) => c.repeat(Math.max(1, Math.floor(MAX_MSG_BYTES / utf8Length(c)) + k));
const trickyLine = fc.oneof(
  fc.constantFrom(
    "", "0", "1", "9007199254740991", "9007199254740992", "9999999999999999", "a=1,a=2", "a=0", "a=0,b=3", "a=0,a=0", "b=9007199254740993",
    "r".repeat(64), "r".repeat(65), "@" + "x".repeat(32), "@" + "x".repeat(33), "-x", ".x", "@a", "@a@b", "@", "@-x", "é", "notices", "noticed",
  ),
  fc.constantFrom("a", "é", "€", "😀").chain((c) => fc.integer({ min: -2, max: 2 }).map((k) => long(c, k))),
);
const anyIndex = fc.nat(10);

test("edited and mutated datagrams: whatever the fast check accepts, valibot accepts with the same value, and decodeRequest agrees", () => {
  judged = accepted = 0;
  const edited = fc.tuple(fc.oneof(addText, requestText), fc.array(fc.tuple(anyIndex, trickyLine), { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
    const lines = text.split("\n");
    for (const [at, line] of edits) lines[1 + (at % (lines.length - 2))] = line;
    return lines.join("\n");
  });
  fc.assert(fc.property(edited, (text) => void sameCheck(text)), { numRuns: 4000 });
  const mutated = fc.tuple(fc.oneof(addText, requestText), fc.nat(200), fc.nat(3), fc.constantFrom("", "\n", "\\", "x", "-", "@", ",", "=", "0", "é"))
    .map(([text, at, len, ins]) => text.slice(0, at % text.length) + ins + text.slice(Math.min(text.length, (at % text.length) + len)));
  fc.assert(
    fc.property(mutated, (text) => {
      sameCheck(text);
      const full = checkRequest(fastRequest(text));
      const got = decodeRequest(new TextEncoder().encode(text));
      if (fastRequest(text) !== null) assert.is(got.ok, full.ok, JSON.stringify(text));
    }),
    { numRuns: 4000 },
  );
  // Most edits break a line's pattern (the grammar then decides); enough must reach the check, and some pass it.
  assert.ok(judged > 1500 && accepted > 300, `only ${judged} edited datagrams reached the fast check, ${accepted} passed it: the property tested little`);
});

test("what the fast check leaves to valibot is refused with valibot's code and words", () => {
  const k = "abcdefghijklmnop";
  const cases: [string, string, string][] = [
    [`add\nt1\n${k}\n${"a".repeat(MAX_MSG_BYTES + 1)}\nroom\n`, "bad-request", "msg: message text must be 1 to"],
    [`add\nt1\n${k}\n${"é".repeat(MAX_MSG_BYTES / 2 + 1)}\nroom\n`, "bad-request", "msg: message text must be 1 to"],
    [`add\nt1\n${k}\n\nroom\n`, "bad-request", "msg: message text must be 1 to"],
    [`add\nt1\n${k}\nhi\n-room\n`, "bad-name", "groupName: room name must match"],
    [`request\nt1\n${k}\nroom\na=1,a=2\n`, "bad-request", "cursor: vector names a server twice"],
    [`request\nt1\n${k}\nroom\n0\n9999999999999999\n`, "bad-request", "waitMs: integer too large"],
  ];
  for (const [text, code, words] of cases) {
    const tree = fastRequest(text);
    assert.ok(tree !== null && checkFastRequest(tree) === null, JSON.stringify(text));
    const r = decodeRequest(new TextEncoder().encode(text));
    assert.ok(!r.ok && r.error.code === code && r.error.tag === "t1" && r.error.message.startsWith(words), JSON.stringify([text, r]));
  }
  const dm = decodeRequest(new TextEncoder().encode(`add\nt1\n${k}\n${"é".repeat(MAX_MSG_BYTES / 2)}\n@bob\n`));
  assert.ok(dm.ok && dm.value.verb === "add" && dm.value.groupName === "@bob" && utf8Length(dm.value.msg) === MAX_MSG_BYTES);
});

test.run();
