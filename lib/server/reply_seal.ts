/**
 * Sealing of saved login replies. A login reply carries the session token,
 * and the database stores only token hashes (ARCHITECTURE.md), so the reply
 * kept for retransmissions is encrypted (AES-256-GCM) under a key kept in a
 * separate file beside the database.
 *
 * @example
 * ```ts
 * const key = readOrCreateKey("data/a.sqlite.key");
 * openReply(key, sealReply(key, "ok\n1\nlogin\n…")); // "ok\n1\nlogin\n…"
 * ```
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Reads a 32-byte hex key from `file`, creating it (mode 0600) when absent. */
export function readOrCreateKey(file: string): Uint8Array {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  const text = readFileSync(file, "utf8").trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`Cannot read key file ${file}: expected 64 hex digits`);
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** Encrypts `text`; the result is printable. */
export function sealReply(key: Uint8Array, text: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([c.update(text, "utf8"), c.final()]);
  return "s1:" + Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
}

/** Decrypts what `sealReply` made; null when it cannot (other key, damage). */
export function openReply(key: Uint8Array, sealed: string): string | null {
  if (!sealed.startsWith("s1:")) return null;
  try {
    const raw = Buffer.from(sealed.slice(3), "base64");
    const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
  } catch {
    return null;
  }
}
