/**
 * lib/secure/group.ts: a server's multicast datagrams, sealed once under
 * its group key with one tag per receiver. Granted keys open them once;
 * replays, truncations, bit flips, unknown keys and a peer forging another
 * peer's datagram with the group key it was granted are dropped; keys
 * rotate with a grace period and receivers keep the two newest.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeEnvelope, encodeDataHeader, type Group, KIND } from "../lib/secure/envelope.ts";
import { aeadEncrypt, concatBytes, hmacSha256 } from "../lib/secure/suite.ts";
import { decodeGrant, encodeGrant, GRANT_LEN, GROUP_KEY_GRACE_MS, GROUP_KEY_MS, GroupReceiver, GroupSender } from "../lib/secure/group.ts";
import { read, seeded, text } from "./_secure.ts";

const group = (b: Uint8Array) => decodeEnvelope(b) as Group;

/** a multicasts to b and c; each receiver learned a's grants. */
function setup(seed = 1) {
  const a = new GroupSender({ peers: ["b", "c"], ...seeded(seed), now: 0 });
  const b = new GroupReceiver({ windowBits: 128 });
  const c = new GroupReceiver({ windowBits: 128 });
  for (const g of a.grants("b")) assert.ok(b.learn("a", g, 0));
  for (const g of a.grants("c")) assert.ok(c.learn("a", g, 0));
  return { a, b, c };
}

test("a group datagram opens at every receiver granted the key, once, and says who sent it", () => {
  const { a, b, c } = setup();
  const bytes = a.seal(text("add\na\n..."), 0)!;
  assert.is(bytes[0], KIND.group);
  assert.is(bytes.length, 13 + 9 + 16 + 2 * 16, "header, ciphertext, AEAD tag, a tag per receiver");
  for (const r of [b, c]) {
    const o = r.open(group(bytes));
    assert.ok(o.ok && o.peer === "a" && read(o.plaintext) === "add\na\n...");
    assert.equal(r.open(group(bytes)), { ok: false, reason: "replay" });
  }
  assert.equal(new GroupReceiver({ windowBits: 128 }).open(group(bytes)), { ok: false, reason: "unknown-group-key" });
});

test("truncated or bit-flipped datagrams are dropped and change nothing: the original still opens", () => {
  const { a, b } = setup(2);
  const bytes = a.seal(text("got\na\n"), 0)!;
  // b checks the header, the ciphertext and its own tag (slot 0); c's tag (the last 16 bytes) is c's to check.
  for (let i = 1; i < bytes.length - 16; i++) {
    const flipped = bytes.slice();
    flipped[i] ^= 0x01;
    const e = decodeEnvelope(flipped);
    if (e.kind === "group") assert.not.ok(b.open(e).ok, `byte ${i} flipped`);
  }
  for (const n of [13, 20, bytes.length - 1]) {
    const e = decodeEnvelope(bytes.subarray(0, n));
    if (e.kind === "group") assert.not.ok(b.open(e).ok, `cut to ${n}`);
  }
  assert.ok(b.open(group(bytes)).ok);
});

test("reordered datagrams within the window open; a peer cannot forge another's datagram with the group key it holds", () => {
  const { a, b, c } = setup(3);
  const sent = [0, 1, 2, 3].map((i) => a.seal(text(`n${i}`), 0)!);
  for (const i of [3, 1, 0, 2]) assert.ok(b.open(group(sent[i])).ok, `datagram ${i}`);
  // c holds a's group key and its own tag key, not b's: it can seal "from a" but cannot make b's tag.
  const g = decodeGrant(a.grants("c")[0])!;
  assert.ok(g.slot === 1 && g.slots === 2);
  const header = encodeDataHeader(g.keyId, 100, 13, KIND.group);
  const sealed = concatBytes(header, aeadEncrypt(g.key, 100, header, text("add\na\nforged")));
  const forged = concatBytes(sealed, new Uint8Array(16), hmacSha256(g.tagKey, sealed).subarray(0, 16));
  assert.equal(b.open(group(forged)), { ok: false, reason: "bad-tag" });
  assert.ok(b.open(group(a.seal(text("n4"), 0)!)).ok, "b still takes a's next");
});

test("grants: encoded and decoded; malformed ones and another peer's key id are refused", () => {
  const g = { keyId: 0x01020304, slot: 1, slots: 3, key: new Uint8Array(32).fill(7), tagKey: new Uint8Array(32).fill(9) };
  const bytes = encodeGrant(g);
  assert.is(bytes.length, GRANT_LEN);
  assert.equal(decodeGrant(bytes), g);
  assert.is(decodeGrant(bytes.subarray(1)), null);
  assert.is(decodeGrant(encodeGrant({ ...g, slot: 3 })), null, "slot past the slots");
  const r = new GroupReceiver({ windowBits: 64 });
  assert.ok(r.learn("a", bytes, 0));
  assert.not.ok(r.learn("c", bytes, 0), "c cannot take over a's key id");
  assert.not.ok(r.learn("a", bytes.subarray(0, 10), 0));
});

test("rotation: a new key is granted, used after the grace period; receivers keep the two newest", () => {
  const { a, b } = setup(4);
  const first = a.keyId;
  assert.not.ok(a.rotate(GROUP_KEY_MS - 1));
  assert.ok(a.rotate(GROUP_KEY_MS));
  assert.is(a.grants("b").length, 2);
  for (const g of a.grants("b")) b.learn("a", g, GROUP_KEY_MS);
  const old = a.seal(text("still old"), GROUP_KEY_MS)!;
  assert.is(group(old).keyId, first, "not before the grace period");
  const fresh = a.seal(text("new"), GROUP_KEY_MS + GROUP_KEY_GRACE_MS)!;
  assert.is.not(group(fresh).keyId, first);
  assert.ok(b.open(group(fresh)).ok && b.open(group(old)).ok, "both keys open");
  // A third key: the first is forgotten.
  assert.ok(a.rotate(2 * GROUP_KEY_MS + GROUP_KEY_GRACE_MS));
  for (const g of a.grants("b")) b.learn("a", g, 2 * GROUP_KEY_MS + GROUP_KEY_GRACE_MS);
  assert.equal(b.open(group(a.seal(text("x"), 0)!)).ok, true, "the second key, still in use");
  const firstAgain = old.slice();
  firstAgain[12] = 0x7f; // a later counter under the first key
  assert.equal(b.open(group(firstAgain)), { ok: false, reason: "unknown-group-key" });
});

test.run();
