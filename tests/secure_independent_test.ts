/**
 * A second, independent client of the encrypted transport, written from
 * docs/PROTOCOL.md "Encrypted transport" alone with @noble's primitives (no
 * code of lib/secure/ on its side), talks to lib/secure/server_transport.ts:
 * the handshake, mac1, the response's payload, sealing and opening data
 * datagrams, a path challenge echoed. If the document and the code ever
 * part ways, this fails.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { x25519 } from "@noble/curves/ed25519.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { ServerTransport } from "../lib/secure/server_transport.ts";
import { read, seeded, staticKey, staticPrivate, text } from "./_secure.ts";

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
const ascii = (s: string) => new TextEncoder().encode(s);
const le32 = (i: number) => Uint8Array.of(i & 255, (i >>> 8) & 255, (i >>> 16) & 255, i >>> 24);
const le64 = (n: number) => cat(le32(n >>> 0), le32(Math.floor(n / 2 ** 32)));
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const H = (...p: Uint8Array[]) => sha256(cat(...p));
const HMAC = (k: Uint8Array, ...p: Uint8Array[]) => hmac(sha256, k, cat(...p));
/** Noise §4.3 HKDF with two outputs. */
const HKDF2 = (ck: Uint8Array, ikm: Uint8Array) => {
  const t = HMAC(ck, ikm), o1 = HMAC(t, Uint8Array.of(1));
  return [o1, HMAC(t, o1, Uint8Array.of(2))];
};
/** ChaCha20-Poly1305 with Noise's nonce: 4 zero bytes, the counter as 64 bits little-endian. */
const nonce = (n: number) => cat(new Uint8Array(4), le64(n));
const seal = (k: Uint8Array, n: number, ad: Uint8Array, p: Uint8Array) => chacha20poly1305(k, nonce(n), ad).encrypt(p);
const open = (k: Uint8Array, n: number, ad: Uint8Array, c: Uint8Array) => chacha20poly1305(k, nonce(n), ad).decrypt(c);

/** The client side of the document's handshake: returns the initiation and how to finish. */
function initiate(S: Uint8Array, ePriv: Uint8Array, myIndex: number) {
  const E = x25519.getPublicKey(ePriv);
  let h: Uint8Array = ascii("Noise_NK_25519_ChaChaPoly_SHA256"); // exactly 32 bytes: h is the name itself
  let ck = h;
  h = H(h, ascii("DistChat/1 client"));
  h = H(h, S); // the pre-message: the server's static key
  h = H(h, E); // -> e
  let k: Uint8Array;
  [ck, k] = HKDF2(ck, x25519.getSharedSecret(ePriv, S)); // es
  const c1 = seal(k, 0, h, new Uint8Array(0)); // the empty payload
  h = H(h, c1);
  const body = cat(Uint8Array.of(0x01), le32(myIndex), E, c1);
  const mac1 = HMAC(H(ascii("mac1----"), S), body).slice(0, 16);
  const initiation = cat(body, mac1, new Uint8Array(16));
  const finish = (response: Uint8Array) => {
    assert.is(response.length, 73);
    assert.equal([response[0], u32(response, 1)], [0x02, myIndex]);
    const re = response.slice(5, 37);
    h = H(h, re); // <- e
    [ck, k] = HKDF2(ck, x25519.getSharedSecret(ePriv, re)); // ee
    const payload = open(k, 0, h, response.slice(37));
    const [toServer, toClient] = HKDF2(ck, new Uint8Array(0)); // Split()
    return { serverIndex: u32(payload, 0), resetToken: payload.slice(4), toServer, toClient };
  };
  return { initiation, finish };
}

/** A data datagram as the document lays it out. */
function data(key: Uint8Array, receiver: number, counter: number, plaintext: Uint8Array): Uint8Array {
  const header = cat(Uint8Array.of(0x04), le32(receiver), le64(counter));
  return cat(header, seal(key, counter, header, plaintext));
}

function unseal(key: Uint8Array, d: Uint8Array): { receiver: number; counter: number; plaintext: Uint8Array } {
  assert.is(d[0], 0x04);
  const counter = u32(d, 5) + u32(d, 9) * 2 ** 32;
  return { receiver: u32(d, 1), counter, plaintext: open(key, counter, d.subarray(0, 13), d.subarray(13)) };
}

test("an independent client, from the document alone, logs in through lib/secure/'s server", () => {
  const serverKey = staticKey("independent");
  const server = new ServerTransport({ staticKey: serverKey, ...seeded(1), now: 0 });
  const ePriv = seeded(2).random(32);
  const { initiation, finish } = initiate(serverKey.publicKey, ePriv, 77);
  const hs = server.receive(initiation, "192.0.2.1:5000", 0);
  assert.is(hs.kind === "handshake" && hs.what, "response");
  const keys = finish(hs.send!);
  const r = server.receive(data(keys.toServer, keys.serverIndex, 0, text("login\n1\nalice\n")), "192.0.2.1:5000", 0);
  assert.equal([r.kind, r.kind === "data" && read(r.plaintext), r.kind === "data" && r.proven], ["data", "login\n1\nalice\n", true]);
  const reply = unseal(keys.toClient, server.seal((r as { session: number }).session, text("ok\n1\n"), 0)!.bytes);
  assert.equal([reply.receiver, reply.counter, read(reply.plaintext)], [77, 0, "ok\n1\n"]);
  // It moves: the server challenges the new address; the echo proves it.
  const moved = server.receive(data(keys.toServer, keys.serverIndex, 1, text("who\n2\n")), "192.0.2.9:6000", 1);
  const challenge = unseal(keys.toClient, moved.send!);
  assert.equal([challenge.plaintext.length, challenge.plaintext[0]], [9, 0x01]);
  const echo = data(keys.toServer, keys.serverIndex, 2, cat(Uint8Array.of(0x02), challenge.plaintext.subarray(1)));
  const proven = server.receive(echo, "192.0.2.9:6000", 2);
  assert.equal([proven.kind, proven.kind === "control" && proven.proven], ["control", true]);
  // The reset token is what the document says: HMAC16(HMAC(private key, "DistChat/1 reset"), index).
  const restarted = new ServerTransport({ staticKey: serverKey, ...seeded(3), now: 0 });
  const reset = restarted.receive(data(keys.toServer, keys.serverIndex, 3, text("x\n")), "192.0.2.9:6000", 3).send!;
  assert.equal([reset.length, reset[0], u32(reset, 1)], [21, 0x06, keys.serverIndex]);
  assert.equal(reset.slice(5), keys.resetToken);
  const token = HMAC(HMAC(staticPrivate("independent"), ascii("DistChat/1 reset")), le32(keys.serverIndex)).slice(0, 16);
  assert.equal(keys.resetToken, token);
});

test.run();
