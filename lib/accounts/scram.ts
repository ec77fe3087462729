/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the
 * challenge-response a registered name logs in with (issue 13). The
 * password never crosses the network; the server keeps only a salted,
 * slow verifier (StoredKey, ServerKey), from which no one can log in.
 * Pure functions over node:crypto (both runtimes); the messages are the
 * RFC's attribute strings, so any SCRAM library can talk to them.
 *
 * @example
 * ```ts
 * const v = makeVerifier("pencil", salt, 4096);              // stored at registration
 * const c = clientFirst("user", cnonce);                     // "n,,n=user,r=…"
 * const s = serverFirst(c.bare, snonce, v);                  // "r=…,s=…,i=4096"
 * const f = clientFinal("pencil", c.bare, s.message);        // "c=biws,r=…,p=…"
 * const ok = verifyClientFinal(v, c.bare, s.message, f.message); // { ok: true, serverFinal: "v=…" }
 * ```
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import type { WireVerifier } from "../wire/messages.ts";
import { MAX_WORK_BITS, solveWork } from "./work.ts";

/** What the server stores for a registered name. */
export type Verifier = { salt: Uint8Array; iterations: number; storedKey: Uint8Array; serverKey: Uint8Array };

/** The PBKDF2 rounds a new verifier gets (OWASP's 2023 floor for PBKDF2-HMAC-SHA256 is 600,000). */
export const DEFAULT_ITERATIONS = 600_000;
/** Fewer are refused: a verifier must be slow to brute-force offline. */
export const MIN_ITERATIONS = 4096;

const hmac = (key: Uint8Array, text: string) => new Uint8Array(createHmac("sha256", key).update(text).digest());
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));
const xor = (a: Uint8Array, b: Uint8Array) => a.map((x, i) => x ^ b[i]);

/** SaltedPassword := Hi(Normalize(password), salt, i). Passwords are used as their UTF-8 bytes (no SASLprep). */
export function saltedPassword(password: string, salt: Uint8Array, iterations: number): Uint8Array {
  return new Uint8Array(pbkdf2Sync(password.normalize("NFC"), salt, iterations, 32, "sha256"));
}

/** The verifier of `password`: what registration stores. */
export function makeVerifier(password: string, salt: Uint8Array, iterations = DEFAULT_ITERATIONS): Verifier & { salted: Uint8Array } {
  if (iterations < MIN_ITERATIONS) throw new RangeError(`at least ${MIN_ITERATIONS} iterations`);
  const sp = saltedPassword(password, salt, iterations);
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
export function clientFinal(password: string, clientFirstBare: string, serverFirstMessage: string): ClientFinal | null {
  const s = parseServerFirst(clientFirstBare, serverFirstMessage);
  return s && clientFinalSalted(saltedPassword(password, s.salt, s.iterations), clientFirstBare, serverFirstMessage);
}

/** `clientFinal` from a SaltedPassword already derived for this server-first's salt and rounds (no PBKDF2). */
export function clientFinalSalted(sp: Uint8Array, clientFirstBare: string, serverFirstMessage: string): ClientFinal | null {
  const s = parseServerFirst(clientFirstBare, serverFirstMessage);
  if (!s) return null;
  const withoutProof = s.work > 0 ? solveWork(`c=biws,r=${s.nonce}`, s.work) : `c=biws,r=${s.nonce}`;
  const authMessage = `${clientFirstBare},${serverFirstMessage},${withoutProof}`;
  const clientKey = hmac(sp, "Client Key");
  const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
  return { message: `${withoutProof},p=${b64(proof)}`, serverSignature: `v=${b64(hmac(hmac(sp, "Server Key"), authMessage))}`, salted: sp };
}

/** The fields of a server-first a client accepts, or null. */
function parseServerFirst(clientFirstBare: string, serverFirstMessage: string): { nonce: string; salt: Uint8Array; iterations: number; work: number } | null {
  const s = attributes(serverFirstMessage);
  const nonce = s?.get("r"), salt = s?.get("s"), iterations = Number(s?.get("i")), work = Number(s?.get("w") ?? 0);
  const clientNonce = attributes(clientFirstBare)?.get("r");
  if (!nonce || !salt || !clientNonce || !nonce.startsWith(clientNonce) || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS) return null;
  if (!Number.isInteger(work) || work < 0 || work > MAX_WORK_BITS) return null;
  return { nonce, salt: unb64(salt), iterations, work };
}

/**
 * Checks the client's proof against the stored verifier; on success, the
 * server's final message ("v=…") that proves to the client the server knew
 * the verifier. Constant-time comparison.
 */
export function verifyClientFinal(v: Verifier, clientFirstBare: string, serverFirstMessage: string, clientFinalMessage: string): { ok: true; serverFinal: string } | { ok: false } {
  const f = attributes(clientFinalMessage);
  const nonce = attributes(serverFirstMessage)?.get("r");
  const proofText = f?.get("p");
  if (!f || f.get("c") !== "biws" || !nonce || f.get("r") !== nonce || !proofText) return { ok: false };
  const proof = unb64(proofText);
  if (proof.length !== 32) return { ok: false };
  const withoutProof = clientFinalMessage.slice(0, clientFinalMessage.lastIndexOf(",p="));
  const authMessage = `${clientFirstBare},${serverFirstMessage},${withoutProof}`;
  const clientKey = xor(proof, hmac(v.storedKey, authMessage));
  if (!timingSafeEqual(sha256(clientKey), v.storedKey)) return { ok: false };
  return { ok: true, serverFinal: `v=${b64(hmac(v.serverKey, authMessage))}` };
}
