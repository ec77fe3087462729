/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the
 * challenge-response a registered name logs in with (issue 13). The
 * password never crosses the network; the server keeps only a salted,
 * slow verifier (StoredKey, ServerKey), from which no one can log in.
 * One implementation for the server, the terminal client and the web page:
 * no node: built-ins (HMAC and SHA-256 from @noble/hashes, synchronous; the
 * slow PBKDF2 from WebCrypto where it exists — Node, Deno, browsers on https
 * or localhost — else @noble/hashes). Only what the password goes through is
 * asynchronous (`saltedPassword`, `makeVerifier`, `clientFinal`); what a
 * server runs per login stays synchronous. A server-first may ask for a
 * proof of work (`w=BITS`, lib/accounts/work.ts: the name is being guessed
 * at); `clientFinal` solves it a slice at a time, `clientFinalSalted` at
 * once. The messages are the RFC's attribute strings, so any SCRAM library
 * can talk to them (but for `w=`, which a server asks only while a name is
 * under attack).
 *
 * @example
 * ```ts
 * const v = await makeVerifier("pencil", salt, 4096);        // stored at registration
 * const c = clientFirst("user", cnonce);                     // "n,,n=user,r=…"
 * const s = serverFirst(c.bare, snonce, v);                  // "r=…,s=…,i=4096"
 * const f = await clientFinal("pencil", c.bare, s.message);  // "c=biws,r=…,p=…"
 * const ok = verifyClientFinal(v, c.bare, s.message, f!.message); // { ok: true, serverFinal: "v=…" }
 * ```
 */
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { pbkdf2Async } from "@noble/hashes/pbkdf2.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { fromBase64, toBase64 } from "../wire/base64.ts";
import type { WireVerifier } from "../wire/messages.ts";
import { MAX_ITERATIONS, MIN_ITERATIONS } from "../wire/messages.ts";
import { MAX_WORK_BITS, solveWork, solveWorkAsync } from "./work.ts";

/** What the server stores for a registered name. */
export type Verifier = { salt: Uint8Array; iterations: number; storedKey: Uint8Array; serverKey: Uint8Array };

/** The PBKDF2 rounds a new verifier gets (OWASP's 2023 floor for PBKDF2-HMAC-SHA256 is 600,000). */
export const DEFAULT_ITERATIONS = 600_000;
export { MAX_ITERATIONS, MIN_ITERATIONS };

const utf8 = new TextEncoder();
const hmac = (key: Uint8Array, text: string) => nobleHmac(nobleSha256, key, utf8.encode(text));
const sha256 = (b: Uint8Array) => nobleSha256(b);
const b64 = toBase64;
const unb64 = (s: string) => fromBase64(s) ?? new Uint8Array(0);
const xor = (a: Uint8Array, b: Uint8Array) => a.map((x, i) => x ^ b[i]);

/** Compares two byte strings in time that depends on their length only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * SaltedPassword := Hi(Normalize(password), salt, i). Passwords are used as
 * their UTF-8 bytes in NFC (no SASLprep). WebCrypto's PBKDF2 when the
 * environment has it (about 0.1 s for 600,000 rounds), else @noble/hashes
 * (about 1 s: a browser page served over plain http has no crypto.subtle).
 */
export async function saltedPassword(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const secret = utf8.encode(password.normalize("NFC"));
  const subtle = globalThis.crypto?.subtle;
  if (subtle) {
    const key = await subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", salt: salt as Uint8Array<ArrayBuffer>, iterations, hash: "SHA-256" }, key, 256));
  }
  return await pbkdf2Async(nobleSha256, secret, salt, { c: iterations, dkLen: 32 });
}

/** The verifier of `password`: what registration stores. */
export async function makeVerifier(password: string, salt: Uint8Array, iterations = DEFAULT_ITERATIONS): Promise<Verifier & { salted: Uint8Array }> {
  if (iterations < MIN_ITERATIONS) throw new RangeError(`at least ${MIN_ITERATIONS} iterations`);
  const sp = await saltedPassword(password, salt, iterations);
  return { salt, iterations, storedKey: sha256(hmac(sp, "Client Key")), serverKey: hmac(sp, "Server Key"), salted: sp };
}

/** A verifier's fields in base64 (WireVerifier), as `register` and `password` carry them and accounts store them. */
export function verifierToBase64(v: Verifier): WireVerifier {
  return { salt: b64(v.salt), iterations: v.iterations, storedKey: b64(v.storedKey), serverKey: b64(v.serverKey) };
}

export function verifierFromBase64(v: WireVerifier): Verifier {
  return { salt: unb64(v.salt), iterations: v.iterations, storedKey: unb64(v.storedKey), serverKey: unb64(v.serverKey) };
}

/** "=" and "," in a name are escaped as "=3D" and "=2C" (RFC 5802 §5.1). */
const saslName = (name: string) => name.replaceAll("=", "=3D").replaceAll(",", "=2C");

/** Attributes of a SCRAM message ("k=v,k=v"); null when malformed. */
function attributes(message: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const m = /^([a-zA-Z])=(.*)$/s.exec(part);
    if (!m || out.has(m[1])) return null;
    out.set(m[1], m[2]);
  }
  return out;
}

/** The client's first message, and its bare part (without the GS2 header "n,,"). */
export function clientFirst(name: string, clientNonce: string): { message: string; bare: string } {
  const bare = `n=${saslName(name)},r=${clientNonce}`;
  return { message: `n,,${bare}`, bare };
}

/** The bare part of a client-first message, or null when it is not "n,,n=NAME,r=NONCE". */
export function parseClientFirst(message: string): { bare: string; name: string; nonce: string } | null {
  if (!message.startsWith("n,,")) return null;
  const bare = message.slice(3);
  const a = attributes(bare);
  const name = a?.get("n"), nonce = a?.get("r");
  if (!a || a.size !== 2 || !name || !nonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) return null;
  return { bare, name: name.replaceAll("=2C", ",").replaceAll("=3D", "="), nonce };
}

/**
 * The server's first message: the combined nonce, the salt and the iteration
 * count, and `w=BITS` when the server asks for a proof of work (lib/accounts/work.ts).
 */
export function serverFirst(clientFirstBare: string, serverNonce: string, v: Pick<Verifier, "salt" | "iterations">, workBits = 0): { message: string } {
  const nonce = attributes(clientFirstBare)?.get("r") ?? "";
  return { message: `r=${nonce}${serverNonce},s=${b64(v.salt)},i=${v.iterations}${workBits > 0 ? `,w=${workBits}` : ""}` };
}

/** What a client-final answers with: the message, the server signature to expect back, and the SaltedPassword. */
export type ClientFinal = { message: string; serverSignature: string; salted: Uint8Array };

/**
 * The client's final message (with its proof), the server signature it
 * expects back, and the SaltedPassword (the client derives its DM key from
 * it: lib/client/dm_seal.ts); null when the server-first is malformed, does
 * not extend the client's nonce, asks for too few rounds or too much work.
 */
export async function clientFinal(password: string, clientFirstBare: string, serverFirstMessage: string): Promise<ClientFinal | null> {
  const s = parseServerFirst(clientFirstBare, serverFirstMessage);
  if (!s) return null;
  // The work first (a page shows it is busy meanwhile), then PBKDF2.
  const withoutProof = s.work > 0 ? await solveWorkAsync(`c=biws,r=${s.nonce}`, s.work) : `c=biws,r=${s.nonce}`;
  return proven(await saltedPassword(password, s.salt, s.iterations), clientFirstBare, serverFirstMessage, withoutProof);
}

/** `clientFinal` from a SaltedPassword already derived for this server-first's salt and rounds (no PBKDF2; synchronous). */
export function clientFinalSalted(sp: Uint8Array, clientFirstBare: string, serverFirstMessage: string): ClientFinal | null {
  const s = parseServerFirst(clientFirstBare, serverFirstMessage);
  if (!s) return null;
  return proven(sp, clientFirstBare, serverFirstMessage, s.work > 0 ? solveWork(`c=biws,r=${s.nonce}`, s.work) : `c=biws,r=${s.nonce}`);
}

/** The client-final message with its proof over `withoutProof`, and the server signature to expect. */
function proven(sp: Uint8Array, clientFirstBare: string, serverFirstMessage: string, withoutProof: string): ClientFinal {
  const authMessage = `${clientFirstBare},${serverFirstMessage},${withoutProof}`;
  const clientKey = hmac(sp, "Client Key");
  const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
  return { message: `${withoutProof},p=${b64(proof)}`, serverSignature: `v=${b64(hmac(hmac(sp, "Server Key"), authMessage))}`, salted: sp };
}

/**
 * The fields of a server-first a client accepts (`work`: the bits of the
 * proof of work it asks for, 0 for none), or null: malformed, not extending
 * the client's nonce, too few or too many rounds, too much work.
 */
export function parseServerFirst(clientFirstBare: string, serverFirstMessage: string): { nonce: string; salt: Uint8Array; iterations: number; work: number } | null {
  const s = attributes(serverFirstMessage);
  const nonce = s?.get("r"), salt = fromBase64(s?.get("s") ?? ""), iterations = Number(s?.get("i")), work = Number(s?.get("w") ?? 0);
  const clientNonce = attributes(clientFirstBare)?.get("r");
  if (!nonce || !salt?.length || !clientNonce || !nonce.startsWith(clientNonce) || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS) return null;
  if (iterations > MAX_ITERATIONS) return null;
  if (!Number.isInteger(work) || work < 0 || work > MAX_WORK_BITS) return null;
  return { nonce, salt, iterations, work };
}

/**
 * The one shape of a client-final message a server takes (RFC 5802 §7's
 * order, docs/PROTOCOL.md "Accounts"): `c=biws,r=NONCE[,w=SOLUTION],p=PROOF`
 * — the channel binding first, the nonce second, the proof last, nothing
 * else; SOLUTION 1 to 32 characters of 0-9a-z, PROOF base64 of 32 bytes.
 * Anything the proof of work hashes (`withoutProof`) thus begins with the
 * challenge's own nonce: a solution cannot be made once and used for every
 * challenge (issue 20 re-run: `c=biws,w=SOL,p=PROOF,r=NONCE` hashed
 * `c=biws,w=SOL` alone).
 */
const CLIENT_FINAL = /^(c=biws,r=([\x21-\x2b\x2d-\x7e]{1,128})(?:,w=[0-9a-z]{1,32})?),p=([A-Za-z0-9+/]{43}=)$/;

/** A client-final message of the one shape servers take (CLIENT_FINAL): its nonce, its part without the proof, the proof's bytes; null for any other shape. */
export function parseClientFinal(message: string): { nonce: string; withoutProof: string; proof: Uint8Array } | null {
  const m = CLIENT_FINAL.exec(message);
  const proof = m ? fromBase64(m[3]) : null;
  return m && proof?.length === 32 ? { nonce: m[2], withoutProof: m[1], proof } : null;
}

/**
 * Checks the client's proof against the stored verifier; on success, the
 * server's final message ("v=…") that proves to the client the server knew
 * the verifier. Constant-time comparison. Only the shape of
 * `parseClientFinal` is checked at all.
 */
export function verifyClientFinal(v: Verifier, clientFirstBare: string, serverFirstMessage: string, clientFinalMessage: string): { ok: true; serverFinal: string } | { ok: false } {
  const f = parseClientFinal(clientFinalMessage);
  const nonce = attributes(serverFirstMessage)?.get("r");
  if (!f || !nonce || f.nonce !== nonce) return { ok: false };
  const { proof, withoutProof } = f;
  const authMessage = `${clientFirstBare},${serverFirstMessage},${withoutProof}`;
  const clientKey = xor(proof, hmac(v.storedKey, authMessage));
  if (!sameBytes(sha256(clientKey), v.storedKey)) return { ok: false };
  return { ok: true, serverFinal: `v=${b64(hmac(v.serverKey, authMessage))}` };
}
