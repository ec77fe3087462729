/**
 * The files of the web client, as the web port (lib/web/listener.ts)
 * serves them: the page's own files from web/ at `/`, and the modules it
 * imports — the client core in lib/ (TypeScript, its types stripped when
 * served) and the packages it uses, from node_modules at `/vendor/…`. No
 * build step and no CDN: the browser runs the very code the terminal runs.
 *
 * Only the modules the page imports are served: the closure of the imports
 * of web/app.js, found when the first module is asked for. Bare package
 * names (`preact`, `@noble/hashes/sha2.js`) are rewritten to their
 * `/vendor/` paths, since a page has no import map (the Content-Security-
 * Policy allows no inline script). Types are stripped by node:module's
 * `stripTypeScriptTypes` (Node ≥ 22.13 and Deno have it): whitespace
 * stands where the types were, so lines and columns stay those of the source.
 *
 * @example
 * ```ts
 * const files = new WebFiles();
 * files.get("/");                    // { bytes: <index.html>, type: "text/html; charset=utf-8" }
 * files.get("/lib/client/chat.ts");  // JavaScript, types stripped
 * files.get("/lib/server/chat.ts");  // null: the page does not import it
 * for (const [k, v] of securityHeaders(pageCsp(["https://b.example.org"]), true)) res.setHeader(k, v);
 * ```
 *
 * Also the security headers every response carries — pages, datagram
 * replies, refusals and refused WebSocket upgrades alike (docs/PROTOCOL.md
 * "Web transport").
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as nodeModule from "node:module";
import { dirname, join, normalize, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository's root (web/, lib/ and node_modules/ are under it). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The page's modules start here. */
const ENTRY = "web/app.js";
/** The page's own files: web/ at the root of the site (a name, or one folder deep). */
const PAGE_FILE = /^\/((?:[a-z0-9_-]+\/)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.(?:html|css|js|svg|png))$/;
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  ts: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
};
/** Static imports and re-exports, minified or not: `import x from "m"`, `import"m"`, `export{a}from"m"`. */
const IMPORT = /\b(import|export)(\s*(?:[\w$*{}\s,]*?\bfrom\s*)?)(["'])([^"'\n]+)\3/g;

/** A file ready to send: its bytes, type and entity tag (the page revalidates: `304` when unchanged). */
export type WebFile = { bytes: Uint8Array; type: string; etag: string };

/** Where `specifier` (a bare package import) is in node_modules, as a path from the root; null when unknown. */
function resolvePackage(specifier: string): string | null {
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const sub = "." + specifier.slice(name.length);
  const dir = join("node_modules", name);
  let pkg: { exports?: unknown; module?: string; main?: string };
  try {
    pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"));
  } catch {
    return null;
  }
  const pick = (target: unknown): string | null => {
    if (typeof target === "string") return target;
    if (target === null || typeof target !== "object") return null;
    const t = target as Record<string, unknown>;
    for (const condition of ["import", "browser", "default"]) if (condition in t) return pick(t[condition]);
    return null;
  };
  const exports = pkg.exports;
  let target: string | null;
  if (typeof exports === "string") target = sub === "." ? exports : null;
  else if (exports && typeof exports === "object") {
    const map = exports as Record<string, unknown>;
    target = pick("." in map || sub in map ? map[sub] : sub === "." ? map : undefined);
  } else target = sub === "." ? (pkg.module ?? pkg.main ?? "index.js") : sub.slice(2);
  return target === null ? null : join(dir, target);
}

/** The site path of a file (a path from the root): web/ at `/`, lib/ at `/lib`, node_modules at `/vendor`. */
function urlOf(file: string): string {
  const f = file.split(sep).join("/");
  if (f.startsWith("web/")) return f.slice(3);
  if (f.startsWith("node_modules/")) return "/vendor/" + f.slice("node_modules/".length);
  return "/" + f;
}

let stripper: ((source: string) => string) | null = null;

/** TypeScript → JavaScript by erasing types (Node's own, once, without its "experimental" warning in the log). */
function stripTypes(source: string): string {
  if (stripper === null) {
    const strip = (nodeModule as { stripTypeScriptTypes?: (code: string) => string }).stripTypeScriptTypes;
    if (!strip) throw new Error("this runtime cannot strip TypeScript types (node:module stripTypeScriptTypes: Node ≥ 22.13 or Deno)");
    stripper = (code) => {
      const emit = process.emitWarning;
      process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
        if (!String(warning).includes("stripTypeScriptTypes")) (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
      }) as typeof process.emitWarning;
      try {
        return strip(code);
      } finally {
        process.emitWarning = emit;
      }
    };
  }
  return stripper(source);
}

/** The page's files and the modules it imports, by site path, each read (and stripped) once. */
export class WebFiles {
  /** Site path → file (a path from the root), for every module the page imports; built on first use. */
  #modules: Map<string, string> | null = null;
  #cache = new Map<string, WebFile>();

  /** The file at site path `path`, ready to send; null when there is none to serve. */
  get(path: string): WebFile | null {
    if (path === "/") path = "/index.html";
    const hit = this.#cache.get(path);
    if (hit) return hit;
    const page = PAGE_FILE.exec(path);
    const file = page && existsSync(join(ROOT, "web", page[1])) ? join("web", page[1]) : this.#graph().get(path);
    if (file === undefined || !existsSync(join(ROOT, file))) return null;
    const ext = file.slice(file.lastIndexOf(".") + 1);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(ROOT, file));
      if (ext === "ts" || ext === "js" || ext === "mjs") bytes = new TextEncoder().encode(this.#module(file, new TextDecoder().decode(bytes)));
    } catch {
      return null;
    }
    const served = { bytes, type: TYPES[ext] ?? "application/octet-stream", etag: `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"` };
    this.#cache.set(path, served);
    return served;
  }

  /** Every module the page imports, by site path. */
  modules(): string[] {
    return [...this.#graph().keys()];
  }

  /** A module's text as served: types stripped, package imports pointing at /vendor. */
  #module(file: string, source: string): string {
    const code = file.endsWith(".ts") ? stripTypes(source) : source;
    return code.replace(IMPORT, (all, word: string, middle: string, quote: string, spec: string) => {
      if (spec.startsWith(".") || spec.startsWith("/")) return all;
      const found = resolvePackage(spec);
      return found === null ? all : `${word}${middle}${quote}${urlOf(found)}${quote}`;
    });
  }

  /** The import closure of the page's entry, walked once. */
  #graph(): Map<string, string> {
    if (this.#modules) return this.#modules;
    const found = new Map<string, string>();
    const todo = [ENTRY];
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (found.has(urlOf(file))) continue;
      let source: string;
      try {
        source = readFileSync(join(ROOT, file), "utf8");
      } catch {
        continue;
      }
      found.set(urlOf(file), file);
      const code = file.endsWith(".ts") ? stripTypes(source) : source;
      for (const m of code.matchAll(IMPORT)) {
        const spec = m[4];
        const next = spec.startsWith(".") ? normalize(join(dirname(file), spec)) : spec.startsWith("/") ? null : resolvePackage(spec);
        // Never outside the root, never node: built-ins (a page cannot load them; its test shows it).
        if (next !== null && !relative(ROOT, join(ROOT, next)).startsWith("..")) todo.push(next);
      }
    }
    this.#modules = found;
    return found;
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
