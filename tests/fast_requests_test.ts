/**
 * lib/wire/_fast_requests.ts against the grammar it stands in for: whenever
 * the fast path reads an `add` or a `request`, protocol.peggy reads the same
 * tree; every valid `add` without a reply target and every valid `request`
 * takes the fast path; and near-misses (mutated datagrams, soups of the
 * characters that matter) never make the two disagree, so decodeRequest
 * answers exactly as with the grammar alone.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { parse } from "../lib/wire/_protocol_parser.js";
import { fastRequest as fastAdd } from "../lib/wire/_fast_requests.ts";
import { decodeRequest, encodeRequest } from "../lib/wire/codec.ts";

/** The grammar's tree of `text`, or null when it does not parse. */
function grammar(text: string): unknown {
  try {
    return parse(text, { startRule: "ClientRequest" });
  } catch {
    return null;
  }
}

/** The property: the fast path reads nothing the grammar reads otherwise. */
function agrees(text: string): void {
  const fast = fastAdd(text);
  if (fast !== null) assert.equal(fast, grammar(text), JSON.stringify(text));
}

const tag = fc.stringMatching(/^[A-Za-z0-9]{1,16}$/);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{16,128}$/);
const room = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const msg = fc.string({ unit: fc.constantFrom("a", "é", "😀", " ", "\\", "\n", "\r", "\u0001", "x"), maxLength: 40 });
const nl = fc.constantFrom("\n", "\r\n");

test("a valid add without a reply target takes the fast path and reads as the grammar does", () => {
  fc.assert(
    fc.property(tag, token, msg, room, (t, k, m, r) => {
      const text = new TextDecoder().decode(encodeRequest({ verb: "add", tag: t, token: k, msg: m, groupName: r }));
      const fast = fastAdd(text);
      assert.ok(fast !== null, JSON.stringify(text));
      assert.equal(fast, grammar(text));
      assert.equal(fast.msg, m);
    }),
    { numRuns: 2000 },
  );
});

test("with CRLF or LF at each line end, the fast path and the grammar agree", () => {
  fc.assert(
    fc.property(tag, token, msg, room, fc.array(nl, { minLength: 5, maxLength: 5 }), (t, k, m, r, ends) => {
      const esc = m.replace(/[\\\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : "\\r"));
      const text = ["add", t, k, esc, r].map((f, i) => f + ends[i]).join("");
      assert.ok(fastAdd(text) !== null);
      agrees(text);
    }),
    { numRuns: 1000 },
  );
});

test("near-misses: mutated adds and character soups never read differently", () => {
  const piece = fc.constantFrom("add", "\n", "\r", "\r\n", "\\", "\\n", "\\x", "t1", "abcdefghijklmnop", "a".repeat(17), "room", "@bob", "a.1", " ", "é", "-", "_", "");
  fc.assert(fc.property(fc.array(piece, { maxLength: 14 }), (parts) => agrees(parts.join(""))), { numRuns: 5000 });
  const base = "add\nt1\nabcdefghijklmnop\nhello \\\\ there\\n\nroom1\n";
  fc.assert(
    fc.property(fc.nat(base.length), fc.nat(base.length), fc.constantFrom("", "\n", "\r", "\\", "x", "-", "~", "\u0000"), (at, len, ins) => {
      agrees(base.slice(0, at) + ins + base.slice(Math.min(base.length, at + (len % 3))));
    }),
    { numRuns: 5000 },
  );
});

const origin = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}(~[0-9a-z]{1,12})?$/);
const cursor = fc.array(fc.tuple(origin, fc.nat()), { maxLength: 4 });

test("a valid request (poll) takes the fast path and reads as the grammar does, with or without wait and notices", () => {
  fc.assert(
    fc.property(tag, token, room, cursor, fc.option(fc.nat(600_000)), fc.boolean(), (t, k, r, c, wait, notices) => {
      const req = { verb: "request" as const, tag: t, token: k, groupName: r, cursor: new Map(c), waitMs: wait ?? 0, ...(notices ? { notices: true as const } : {}) };
      const text = new TextDecoder().decode(encodeRequest(req));
      const fast = fastAdd(text);
      assert.ok(fast !== null, JSON.stringify(text));
      assert.equal(fast, grammar(text));
      const spelled = ["request", t, k, r, c.length === 0 ? "0" : c.map(([o, n]) => `${o}=${n}`).join(",")].join("\n") + "\n" +
        (wait === null ? "" : `${wait}\n`) + (notices ? "notices\n" : "");
      assert.ok(fastAdd(spelled) !== null, JSON.stringify(spelled));
      assert.equal(fastAdd(spelled), grammar(spelled));
    }),
    { numRuns: 2000 },
  );
  const piece = fc.constantFrom("request", "\n", "\r\n", "t1", "abcdefghijklmnop", "room", "0", "0a=1", "a=1", ",", "b~x=2", "~", "=", "5", "notices", "a".repeat(17), "");
  fc.assert(fc.property(fc.array(piece, { maxLength: 16 }), (parts) => agrees(parts.join(""))), { numRuns: 5000 });
});

test("what the fast path leaves to the grammar: a reply target, other verbs, trailing text, bad escapes", () => {
  const k = "abcdefghijklmnop";
  for (
    const text of [
      `add\nt1\n${k}\nhi\nroom\na.1\n`,
      `add\nt1\n${k}\nhi\nroom\n\n`,
      `add\nt1\n${k}\nhi\\x\nroom\n`,
      `add\nt1\n${"k".repeat(15)}\nhi\nroom\n`,
      `add\n${"t".repeat(17)}\n${k}\nhi\nroom\n`,
      `add\nt1\n${k}\nhi\nroom`,
      `adds\nt1\n${k}\nhi\nroom\n`,
      `open\nt1\n${k}\nroom\n`,
    ]
  ) {
    assert.is(fastAdd(text), null, JSON.stringify(text));
  }
  const reply = decodeRequest(new TextEncoder().encode(`add\nt1\n${k}\nhi\nroom\na.1\n`));
  assert.ok(reply.ok && reply.value.verb === "add" && reply.value.re?.n === 1);
  const bad = decodeRequest(new TextEncoder().encode(`add\nt1\n${k}\nhi\\x\nroom\n`));
  assert.ok(!bad.ok && bad.error.code === "bad-request" && bad.error.tag === "t1");
  const badName = decodeRequest(new TextEncoder().encode(`add\nt1\n${k}\nhi\nno room\n`));
  assert.ok(!badName.ok && badName.error.code === "bad-name");
});

test.run();
