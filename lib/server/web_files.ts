/**
 * What the web listener serves besides datagrams: the web client's files
 * (read once, kept), and the security headers every response carries —
 * pages, datagram replies, refusals and refused WebSocket upgrades alike
 * (docs/PROTOCOL.md "Web transport").
 *
 * @example
 * ```ts
 * const files = new WebFiles();
 * files.get("/app.js"); // [bytes, "text/javascript; charset=utf-8"] or null
 * for (const [k, v] of securityHeaders(pageCsp(["https://b.example.org"]), true)) res.setHeader(k, v);
 * ```
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The web client's files: URL path → file in web/ and its type. */
const FILES: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/protocol.js": ["protocol.js", "text/javascript; charset=utf-8"],
  "/seal.js": ["seal.js", "text/javascript; charset=utf-8"],
  "/accounts.js": ["accounts.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};
/** The audited scrypt of the sealed format (docs/SEALED_FORMAT.md), served from node_modules. */
const VENDOR = /^\/vendor\/noble-hashes\/([a-z0-9_]+\.js)$/;

/** The web client's folder. */
export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "web");
const NOBLE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules", "@noble", "hashes");

/** The web client's files by URL path, each read once. */
export class WebFiles {
  #files = new Map<string, Uint8Array>();

  /** The bytes and content type of `path`, or null when it is not one of the client's files. */
  get(path: string): [Uint8Array, string] | null {
    const known = FILES[path];
    const vendor = VENDOR.exec(path);
    const file = known ? join(WEB_DIR, known[0]) : vendor ? join(NOBLE_DIR, vendor[1]) : null;
    if (file === null) return null;
    let bytes = this.#files.get(file);
    if (!bytes) {
      try {
        bytes = readFileSync(file);
      } catch {
        return null;
      }
      this.#files.set(file, bytes);
    }
    return [bytes, known ? known[1] : "text/javascript; charset=utf-8"];
  }
}

/** The page's Content-Security-Policy: `connect-src` lists the servers' web origins, http and ws. */
export function pageCsp(origins: readonly string[]): string {
  const connect = ["'self'", ...origins.flatMap((origin) => [origin, origin.replace(/^http/, "ws")])].join(" ");
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; ` +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

/** The headers every response carries (docs/OPERATIONS.md "Web"); HSTS with TLS. */
export function securityHeaders(csp: string, tls: boolean): [string, string][] {
  const h: [string, string][] = [
    ["Content-Security-Policy", csp],
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "no-referrer"],
    ["X-Frame-Options", "DENY"],
    ["Cross-Origin-Opener-Policy", "same-origin"],
  ];
  if (tls) h.push(["Strict-Transport-Security", "max-age=31536000"]);
  return h;
}

/** A whole HTTP/1.1 response for a raw socket (a refused upgrade): `status` ("403 Forbidden"), `headers`, a text body, then close. */
export function rawResponse(status: string, headers: readonly [string, string][], body = ""): string {
  const bytes = new TextEncoder().encode(body).length;
  const lines = headers.map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `HTTP/1.1 ${status}\r\n${lines}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n${body}`;
}
