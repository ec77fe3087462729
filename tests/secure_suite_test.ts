/**
 * lib/secure/suite.ts: the node:crypto primitives under Noise's
 * 25519_ChaChaPoly_SHA256 give what RFC 7748 and an independent
 * implementation (@noble/curves, @noble/ciphers, @noble/hashes) give, and
 * refuse what they must: low-order keys, any changed bit, truncation;
 * libsodium's ChaCha20-Poly1305 called directly (lib/secure/_aead.ts) gives
 * the same bytes wherever its scratch area ends, and opens in place.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { aeadDecrypt, aeadDecryptInPlace, aeadDirect, aeadEncrypt, aeadEncryptInto, dh, generateKeyPair, hmacSha256, keyPairFromPrivate, privateBytes, sha256 } from "../lib/secure/suite.ts";
import { hex, seeded } from "./_secure.ts";

const bytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

test("X25519: the RFC 7748 §6.1 example", () => {
  const alice = keyPairFromPrivate(bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const bob = keyPairFromPrivate(bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  assert.is(hex(alice.publicKey), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.is(hex(bob.publicKey), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.is(hex(dh(alice, bob.publicKey)!), shared);
  assert.is(hex(dh(bob, alice.publicKey)!), shared);
});

test("X25519: agrees with @noble/curves on 20 random key pairs; private bytes round-trip", () => {
  const { random } = seeded(7);
  for (let i = 0; i < 20; i++) {
    const a = random(32), b = random(32);
    const pa = keyPairFromPrivate(a);
    assert.is(hex(pa.publicKey), hex(x25519.getPublicKey(a)));
    assert.is(hex(dh(pa, x25519.getPublicKey(b))!), hex(x25519.getSharedSecret(a, x25519.getPublicKey(b))));
    assert.is(hex(keyPairFromPrivate(privateBytes(pa)).publicKey), hex(pa.publicKey));
  }
  const g = generateKeyPair();
  assert.is(hex(g.publicKey), hex(x25519.getPublicKey(privateBytes(g))));
});

test("X25519: low-order and malformed public keys give null, not an exception", () => {
  const me = generateKeyPair();
  const lowOrder = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  for (const k of lowOrder) assert.is(dh(me, bytes(k)), null, k);
  assert.is(dh(me, new Uint8Array(31)), null);
  assert.is(dh(me, new Uint8Array(33)), null);
  assert.throws(() => keyPairFromPrivate(new Uint8Array(31)), RangeError);
});

test("ChaCha20-Poly1305: agrees with @noble/ciphers (Noise nonce: 4 zero bytes, 64-bit little-endian counter)", () => {
  const { random } = seeded(8);
  // 77 after 2^53 − 2: suite.ts rewrites one nonce buffer per call, its high word too.
  for (const [n, len] of [[0, 0], [1, 1], [2 ** 32 + 5, 200], [2 ** 53 - 2, 1400], [77, 8192]]) {
    const key = random(32), ad = random(13), plain = random(len);
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(4, BigInt(n), true);
    const ours = aeadEncrypt(key, n, ad, plain);
    assert.is(hex(ours), hex(chacha20poly1305(key, nonce, ad).encrypt(plain)), `n=${n} len=${len}`);
    assert.is(hex(aeadDecrypt(key, n, ad, ours)!), hex(plain));
  }
});

test("ChaCha20-Poly1305: every flipped bit, a truncation, another nonce, key or ad: null", () => {
  const { random } = seeded(9);
  const key = random(32), ad = random(13), plain = random(40);
  const c = aeadEncrypt(key, 3, ad, plain);
  for (let bit = 0; bit < c.length * 8; bit++) {
    const m = c.slice();
    m[bit >> 3] ^= 1 << (bit & 7);
    assert.is(aeadDecrypt(key, 3, ad, m), null, `bit ${bit}`);
  }
  for (let len = 0; len < c.length; len++) assert.is(aeadDecrypt(key, 3, ad, c.subarray(0, len)), null, `length ${len}`);
  assert.is(aeadDecrypt(key, 4, ad, c), null);
  assert.is(aeadDecrypt(random(32), 3, ad, c), null);
  assert.is(aeadDecrypt(key, 3, random(13), c), null);
});

test("ChaCha20-Poly1305 at the edges of the direct calls: ad of 0–65 bytes, inputs up to and past a datagram, into a buffer, in place", () => {
  assert.ok(aeadDirect, "libsodium's module is called directly (lib/secure/_aead.ts)");
  const { random } = seeded(11);
  // 64 bytes of ad and 65,536 + 16 of input fit the scratch area; 65 and more go through libsodium-wrappers.
  for (const [adLen, len] of [[0, 10], [32, 0], [64, 300], [65, 300], [13, 65_536], [13, 65_537], [13, 70_000]]) {
    const key = random(32), ad = random(adLen), plain = random(len);
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(4, 9, true);
    const expected = hex(chacha20poly1305(key, nonce, ad).encrypt(plain));
    assert.is(hex(aeadEncrypt(key, 9, ad, plain)), expected, `ad ${adLen}, ${len} bytes`);
    const out = new Uint8Array(5 + len + 16);
    aeadEncryptInto(key, 9, ad, plain, out, 5);
    assert.is(hex(out.subarray(5)), expected);
    const sealed = out.subarray(5);
    const copy = aeadDecrypt(key, 9, ad, sealed);
    assert.is(hex(copy!), hex(plain));
    // In place: the plaintext is a view of the sealed bytes; a wrong tag leaves them as they were.
    const wrong = sealed.slice();
    wrong[wrong.length - 1] ^= 1;
    const before = hex(wrong);
    assert.is(aeadDecryptInPlace(key, 9, ad, wrong), null);
    assert.is(hex(wrong), before);
    const opened = aeadDecryptInPlace(key, 9, ad, sealed)!;
    assert.is(opened.buffer, out.buffer);
    assert.is(opened.byteOffset, 5);
    assert.is(hex(opened), hex(plain));
  }
  assert.is(aeadDecryptInPlace(random(32), 0, new Uint8Array(0), random(15)), null);
});

test("SHA-256 and HMAC-SHA256 agree with @noble/hashes", () => {
  const { random } = seeded(10);
  for (const len of [0, 1, 55, 64, 1000]) {
    const a = random(len), b = random(7), k = random(len % 70);
    assert.is(hex(sha256(a, b)), hex(nobleSha256(Uint8Array.of(...a, ...b))));
    assert.is(hex(hmacSha256(k, a, b)), hex(hmac(nobleSha256, k, Uint8Array.of(...a, ...b))));
  }
});

test.run();
