import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  deriveRoomKey,
  isSealed,
  KDF_PARAMS,
  MAX_PLAIN_BYTES,
  type Opened,
  RoomKeys,
  SEAL_OVERHEAD,
  sealedLength,
} from "../lib/client/seal.ts";
import { escapeText } from "../lib/wire/codec.ts";
import { nativeRoomKdf } from "../lib/client/native_kdf.ts";
import { MAX_MSG_BYTES } from "../lib/wire/messages.ts";
import { utf8Length } from "../lib/wire/utf8.ts";

/** Bytes 0, 1, 2, … — deterministic "randomness" for known answers. */
function counting(): (n: number) => Uint8Array {
  let c = 0;
  return (n) => Uint8Array.from({ length: n }, () => c++ & 255);
}

/** A fast stand-in for scrypt, for tests that derive many keys. */
const fastKdf = (passphrase: string, salt: Uint8Array): Uint8Array =>
  new Uint8Array(createHash("sha256").update(passphrase.normalize("NFC")).update(salt).digest());

const PASS = "correct horse battery staple";

/** A room "lobby" keyed with `passphrase` (fast kdf unless `real`). */
async function keyed(passphrase = PASS, real = false): Promise<RoomKeys> {
  const keys = new RoomKeys(real ? {} : { kdf: fastKdf });
  await keys.setPassphrase("lobby", passphrase);
  return keys;
}

/** The sealed text with bit 0 of binary byte `i` flipped. */
function flip(sealed: string, i: number): string {
  const raw = Buffer.from(sealed.slice(4), "base64url");
  raw[i] ^= 1;
  return "dc1:" + raw.toString("base64url");
}

// --- Limits ------------------------------------------------------------------

test("plaintext limit: 1445 bytes seal to exactly MAX_MSG_BYTES", async () => {
  assert.is(SEAL_OVERHEAD, 52);
  assert.is(MAX_PLAIN_BYTES, 1445);
  assert.is(sealedLength(MAX_PLAIN_BYTES), MAX_MSG_BYTES);
  assert.ok(sealedLength(MAX_PLAIN_BYTES + 1) > MAX_MSG_BYTES);
  assert.equal(KDF_PARAMS, { N: 32768, r: 8, p: 1, keyBytes: 32 });
});

// --- Known answers (cross-checked with Python hashlib.scrypt + cryptography AESGCM) ---

test("known answer: key derivation, portable (@noble, the page's) and native (node:crypto, the terminal's)", async () => {
  const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
  for (const kdf of [deriveRoomKey, nativeRoomKdf]) {
    assert.is(Buffer.from(await kdf(PASS, salt)).toString("hex"), "7a8e34241db898d59175c696538c417467a975ffe569068425f16188d3159c58");
  }
  assert.equal(await nativeRoomKdf("caf\u00e9", salt), await deriveRoomKey("cafe\u0301", salt), "both normalise to NFC");
});

test("known answer: fixed salt and nonce give the exact sealed text", async () => {
  const keys = new RoomKeys({ randomBytes: counting() }); // salt 00..0f, nonce 10..1b
  await keys.setPassphrase("Lobby", PASS);
  const sealed = keys.seal("Lobby", "Alice", "héllo, wörld 🔒");
  assert.is(
    sealed,
    "dc1:AAECAwQFBgcICQoLDA0OD8HAuWsjRdIYEBESExQVFhcYGRob_SZYxqj3gq8Xth-dGGuyH1K3NkkeE6FeisQpdpILuBChiF0",
  );
  assert.equal(await (await keyed(PASS, true)).open("lobby", "alice", sealed), { kind: "sealed", text: "héllo, wörld 🔒" });
});

// --- Round trips ---------------------------------------------------------------

test("round trip: ASCII, empty, escapes, multi-byte at the limit", async () => {
  const keys = await keyed();
  const limit = "🔒".repeat(361) + "x"; // 361·4 + 1 = 1445 bytes
  assert.is(utf8Length(limit), MAX_PLAIN_BYTES);
  for (const text of ["hi", "", "a\\b\nc\r\nd", "é".repeat(722) + "x", limit]) {
    const sealed = keys.seal("lobby", "alice", text);
    assert.equal(await keys.open("lobby", "alice", sealed), { kind: "sealed", text });
    assert.ok(utf8Length(sealed) <= MAX_MSG_BYTES);
    assert.ok(/^dc1:[A-Za-z0-9_-]+$/.test(sealed), "one line of ASCII");
    assert.is(escapeText(sealed), sealed, "escapes to itself on the wire");
  }
  assert.is(keys.seal("lobby", "alice", limit).length, MAX_MSG_BYTES);
});

test("round trip property: any text within the limit", async () => {
  const keys = await keyed();
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "binary", maxLength: 400 }), async (text) => {
      const sealed = keys.seal("lobby", "alice", text);
      const opened = await keys.open("lobby", "alice", sealed);
      // Lone surrogates become U+FFFD in UTF-8, as on the wire.
      return opened.kind === "sealed" && opened.text === Buffer.from(text, "utf8").toString("utf8");
    }),
    { numRuns: 500 },
  );
});

test("rooms and senders compare case-insensitively; passphrases NFC-normalised", async () => {
  const a = await keyed("caf\u00e9");
  const b = await keyed("cafe\u0301");
  assert.equal(await b.open("LOBBY", "ALICE", a.seal("Lobby", "alice", "x")), { kind: "sealed", text: "x" });
});

test("every seal uses a fresh nonce", async () => {
  const keys = await keyed();
  const one = keys.seal("lobby", "alice", "same");
  const two = keys.seal("lobby", "alice", "same");
  assert.is.not(one, two);
  const nonce = (s: string) => Buffer.from(s.slice(4), "base64url").subarray(24, 36).toString("hex");
  assert.is.not(nonce(one), nonce(two));
});

// --- Cannot open ------------------------------------------------------------------

test("wrong passphrase is locked, not tampered", async () => {
  const sealed = (await keyed(PASS, true)).seal("lobby", "alice", "secret");
  assert.equal(await (await keyed("Tr0ub4dor&3", true)).open("lobby", "alice", sealed), { kind: "locked", reason: "wrong-key" });
});

test("no passphrase is locked; so is a forgotten one", async () => {
  const keys = await keyed();
  const sealed = keys.seal("lobby", "alice", "secret");
  assert.equal(await new RoomKeys().open("lobby", "alice", sealed), { kind: "locked", reason: "no-key" });
  assert.equal(await keys.open("other", "alice", sealed), { kind: "locked", reason: "no-key" });
  keys.forget("LOBBY");
  assert.not.ok(keys.hasPassphrase("lobby"));
  assert.equal(await keys.open("lobby", "alice", sealed), { kind: "locked", reason: "no-key" });
});

test("an unknown version is locked as unsupported", async () => {
  assert.equal(await (await keyed()).open("lobby", "alice", "dc2:AAAA"), { kind: "locked", reason: "unsupported-version" });
});

// --- Tampering -----------------------------------------------------------------------

test("a flipped bit in nonce, ciphertext or tag is tampered (real scrypt)", async () => {
  const keys = await keyed(PASS, true);
  const sealed = keys.seal("lobby", "alice", "pay bob 10");
  const n = Buffer.from(sealed.slice(4), "base64url").length;
  for (const i of [24, 30, 35, 36, 40, 45, n - 16, n - 1]) {
    assert.equal(await keys.open("lobby", "alice", flip(sealed, i)), { kind: "tampered", reason: "auth" }, `byte ${i}`);
  }
});

test("a flipped bit anywhere is never shown as text", async () => {
  const keys = await keyed();
  const sealed = keys.seal("lobby", "alice", "pay bob 10 coins");
  const n = Buffer.from(sealed.slice(4), "base64url").length;
  for (let i = 0; i < n; i++) {
    const got = await keys.open("lobby", "alice", flip(sealed, i));
    // salt (0..15) and key check (16..23) altered look like another passphrase's message
    const want: Opened = i < 24 ? { kind: "locked", reason: "wrong-key" } : { kind: "tampered", reason: "auth" };
    assert.equal(got, want, `byte ${i}`);
  }
});

test("moving a ciphertext to another room or another sender is tampered", async () => {
  const keys = new RoomKeys({ kdf: fastKdf });
  await keys.setPassphrase("lobby", PASS);
  await keys.setPassphrase("annex", PASS);
  const sealed = keys.seal("lobby", "alice", "meet at 5");
  assert.equal(await keys.open("lobby", "mallory", sealed), { kind: "tampered", reason: "auth" });
  // Same passphrase in "annex": the key matches, the associated data does not.
  assert.equal(await keys.open("annex", "alice", sealed), { kind: "tampered", reason: "auth" });
  assert.equal(await keys.open("Lobby", "Alice", sealed), { kind: "sealed", text: "meet at 5" });
});

test("text that is not sealed is plain", async () => {
  const keys = await keyed();
  for (const text of ["hello", "dc1: hi there", "DC1:AAAA", "xdc1:AAAA", "dc1:AAAA\n", "dc1:AA AA", "dc1:AA=="]) {
    assert.equal(await keys.open("lobby", "alice", text), { kind: "plain", text }, text);
    assert.not.ok(isSealed(text));
  }
});

test("malformed dc1 text is tampered (malformed)", async () => {
  const keys = await keyed();
  const sealed = keys.seal("lobby", "alice", "hell"); // 56 bytes: the last character has 2 spare bits
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const nonCanonical = sealed.slice(0, -1) + alphabet[alphabet.indexOf(sealed.at(-1)!) | 1]; // same bytes
  assert.equal(Buffer.from(nonCanonical.slice(4), "base64url"), Buffer.from(sealed.slice(4), "base64url"));
  for (const text of ["dc1:", "dc1:A", "dc1:AAAA", sealed.slice(0, 60), "dc1:" + "A".repeat(69), nonCanonical]) {
    assert.equal(await keys.open("lobby", "alice", text), { kind: "tampered", reason: "malformed" }, text);
    assert.ok(isSealed(text));
  }
});

test("open never throws on random or mutated text", async () => {
  const keys = await keyed();
  const sealed = keys.seal("lobby", "alice", "the quick brown fox");
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 200 }), fc.nat(sealed.length), fc.string({ maxLength: 3 }), async (junk, at, ins) => {
      for (const text of [junk, "dc1:" + junk, sealed.slice(0, at) + ins + sealed.slice(at + 1)]) {
        const got = await keys.open("lobby", "alice", text);
        if (got.kind === "sealed" && got.text !== "the quick brown fox") return false;
      }
      return true;
    }),
    { numRuns: 3000 },
  );
});

// --- Errors ------------------------------------------------------------------------------

test("over-limit plaintext is a RangeError naming the limit", async () => {
  const keys = await keyed();
  assert.throws(
    () => keys.seal("lobby", "alice", "x".repeat(1446)),
    (e: Error) => e instanceof RangeError && e.message.includes("1446 bytes") && e.message.includes("1445"),
  );
  assert.throws(() => keys.seal("lobby", "alice", "é".repeat(723)), RangeError); // 1446 bytes, 723 chars
});

test("sealing without a passphrase, with bad names or passphrases, throws clearly", async () => {
  const keys = await keyed();
  assert.throws(() => keys.seal("annex", "alice", "x"), /no passphrase for room annex/);
  assert.throws(() => keys.seal("lobby", "", "x"), TypeError);
  assert.throws(() => keys.seal("lob\nby", "alice", "x"), TypeError);
  let refused: unknown = null;
  await keys.setPassphrase("lobby", "").catch((e) => (refused = e));
  assert.instance(refused, TypeError);
});

// --- Key cache ------------------------------------------------------------------------------

test("one derivation per salt, not per message", async () => {
  let calls = 0;
  const counted = (p: string, s: Uint8Array) => (calls++, fastKdf(p, s));
  const alice = await keyed();
  const carol = await keyed();
  const bob = new RoomKeys({ kdf: counted });
  await bob.setPassphrase("lobby", PASS);
  assert.is(calls, 1, "own key derived when the passphrase is set");
  for (let i = 0; i < 100; i++) {
    const opened = await bob.open("lobby", "alice", alice.seal("lobby", "alice", `m${i}`));
    assert.is(opened.kind, "sealed");
    await bob.open("lobby", "carol", carol.seal("lobby", "carol", `m${i}`));
    bob.seal("lobby", "bob", `r${i}`);
  }
  assert.is(calls, 3);
  assert.is(bob.derivations, 3);
  await bob.setPassphrase("LOBBY", PASS); // same passphrase: nothing changes
  assert.is(calls, 3);
  await bob.setPassphrase("lobby", "another one"); // new passphrase: new salt, new key
  assert.is(calls, 4);
});

test("the key cache is bounded and keeps the sender's own key", async () => {
  const bob = new RoomKeys({ kdf: fastKdf, maxSaltsPerRoom: 2 });
  await bob.setPassphrase("lobby", PASS);
  const senders = [await keyed(), await keyed(), await keyed()].map((k, i) => k.seal("lobby", `u${i}`, "x"));
  for (const [i, s] of senders.entries()) await bob.open("lobby", `u${i}`, s);
  assert.is(bob.derivations, 4);
  bob.seal("lobby", "bob", "own key still cached");
  await bob.open("lobby", "u2", senders[2]); // most recent, still cached
  assert.is(bob.derivations, 4);
  await bob.open("lobby", "u0", senders[0]); // evicted, derived again
  assert.is(bob.derivations, 5);
});

test.run();
